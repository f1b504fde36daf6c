"""The benchmark scripts start: each imports what it shares with the others and reads its
options (`--help`), without the `bench` extra. A benchmark is not a test, but a script broken
by a change elsewhere should fail here rather than on the next person who measures."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Every script run as a program (the others are the benchmark server's settings and views).
SCRIPTS = sorted(
    path.name
    for path in (ROOT / "bench").glob("*.py")
    if 'if __name__ == "__main__":' in path.read_text()
)


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_benchmark_script_starts_and_reads_its_options(script):
    finished = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(ROOT / "bench" / script), "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith("usage:")
