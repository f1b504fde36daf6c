"""Read the documentation's Markdown: fenced blocks, relative links, headings' anchors, commands.

The conventions (which blocks are run, placeholders) are described in
docs/development/testing.md, section "The documentation's commands".
"""

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^(```+|~~~+)\s*([\w-]*)")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"`+[^`]*`+")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
RUN_INFO_STRINGS = {"bash", "console"}


@dataclass(frozen=True)
class Block:
    """A fenced code block: its info string, its lines, and the line it starts on."""

    info: str
    lines: list[str]
    line: int


def split_blocks(text: str) -> tuple[list[str], list[Block]]:
    """Return the text's lines outside fenced blocks (others blanked) and its fenced blocks."""
    prose, blocks, fence, block = [], [], None, None
    for number, line in enumerate(text.splitlines(), 1):
        opening = FENCE.match(line)
        if fence is None and opening:
            fence, block = opening.group(1), Block(opening.group(2), [], number)
            prose.append("")
        elif fence is not None and line.strip().startswith(fence):
            blocks.append(block)
            fence = None
            prose.append("")
        elif fence is not None:
            block.lines.append(line)
            prose.append("")
        else:
            prose.append(line)
    return prose, blocks


def relative_links(text: str) -> list[str]:
    """Return the targets of the text's links that point inside the repository."""
    prose, _ = split_blocks(text)
    targets = []
    for line in prose:
        for target in LINK.findall(INLINE_CODE.sub("", line)):
            if not SCHEME.match(target):
                targets.append(target)
    return targets


def anchor(heading: str) -> str:
    """Return GitHub's anchor for a heading: lower case, punctuation dropped, spaces to `-`."""
    text = LINK.sub(lambda link: link.group(0).split("]")[0][1:], heading)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Return every anchor the text's headings make, numbering repeats as GitHub does."""
    prose, _ = split_blocks(text)
    seen: dict[str, int] = {}
    for line in prose:
        heading = HEADING.match(line)
        if heading:
            slug = anchor(heading.group(1))
            seen[slug] = seen.get(slug, -1) + 1
            if seen[slug]:
                seen[f"{slug}-{seen[slug]}"] = 0
    return set(seen)


def logical_lines(block: Block) -> list[str]:
    """Return the block's command lines, continuations joined (transcripts: `$ ` lines only)."""
    commands, current = [], None
    for line in block.lines:
        if current is not None:
            current += " " + line.strip()
        elif block.info == "console" and line.startswith("$ "):
            current = line[2:].strip()
        elif block.info != "console":
            current = line.strip()
        if current is not None and current.endswith("\\"):
            current = current[:-1].rstrip()
            continue
        if current:
            commands.append(current)
        current = None
    return commands


def curl_commands(text: str) -> list[list[str]]:
    """Return the `curl` commands of the text's `bash` and `console` blocks, in order."""
    commands = []
    for block in split_blocks(text)[1]:
        if block.info not in RUN_INFO_STRINGS:
            continue
        for line in logical_lines(block):
            words = shlex.split(line, comments=True)
            commands.extend(part for part in split_on_and(words) if part[:1] == ["curl"])
    return commands


def split_on_and(words: list[str]) -> list[list[str]]:
    """Split a command line's words at `&&` into the commands it chains."""
    parts: list[list[str]] = [[]]
    for word in words:
        if word == "&&":
            parts.append([])
        else:
            parts[-1].append(word)
    return [part for part in parts if part]


def markdown_files(root: Path) -> list[Path]:
    """Return README.md and every Markdown page under docs/."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def shell_commands(text: str) -> list[str]:
    """Return the command lines of the text's `bash` blocks other than `curl`, in order."""
    commands = []
    for block in split_blocks(text)[1]:
        if block.info == "bash":
            for line in logical_lines(block):
                words = shlex.split(line, comments=True)
                if words and words[0] != "curl":
                    commands.append(line)
    return commands
