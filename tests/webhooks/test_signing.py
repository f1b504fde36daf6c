"""Signatures as receivers check them, with the very function docs/api/webhooks.md shows."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from tests.markdown import split_blocks
from webhooks import signing

PAGE = Path(__file__).resolve().parents[2] / "docs" / "api" / "webhooks.md"
SECRET = "whsec_test-secret"
BODY = b'{"id": 7, "workflow_state": "completed"}'
NOW = 1_767_196_800


def documented_verify():
    """Return `verify` as the page defines it (its Python block that defines it, run)."""
    (block,) = [
        block
        for block in split_blocks(PAGE.read_text())[1]
        if block.info == "python" and any(line.startswith("def verify(") for line in block.lines)
    ]
    namespace: dict = {}
    exec("\n".join(block.lines), namespace)  # noqa: S102 - the documentation's own snippet
    return "\n".join(block.lines), namespace["verify"]


def test_the_page_shows_the_verify_function_jobdesk_tests_verbatim():
    source, _ = documented_verify()

    assert inspect.getsource(signing.verify) in source + "\n"


@pytest.fixture(params=["jobdesk", "documented"])
def verify(request):
    return signing.verify if request.param == "jobdesk" else documented_verify()[1]


def test_a_fresh_signature_of_the_body_with_the_secret_is_valid(verify):
    header = signing.signature(SECRET, BODY, NOW)

    assert header.startswith(f"t={NOW},v1=")
    assert verify(SECRET, BODY, header, now=NOW + 299)


def test_the_wrong_secret_is_refused(verify):
    assert not verify("whsec_other", BODY, signing.signature(SECRET, BODY, NOW), now=NOW)


def test_a_tampered_body_is_refused(verify):
    header = signing.signature(SECRET, BODY, NOW)

    assert not verify(SECRET, BODY.replace(b"completed", b"failed"), header, now=NOW)


@pytest.mark.parametrize("offset", [301, -301, 86_400])
def test_a_signature_too_old_or_from_the_future_is_refused(verify, offset):
    header = signing.signature(SECRET, BODY, NOW)

    assert not verify(SECRET, BODY, header, now=NOW + offset)


def test_a_replay_with_a_new_time_is_refused(verify):
    digest = signing.signature(SECRET, BODY, NOW).split("v1=")[1]

    assert not verify(SECRET, BODY, f"t={NOW + 600},v1={digest}", now=NOW + 600)


@pytest.mark.parametrize(
    "header", ["", "t=,v1=", "v1=abc", f"t={NOW}", f"t=x{NOW},v1=00", f"t={NOW},t={NOW},v1=00"]
)
def test_a_malformed_header_is_refused(verify, header):
    assert not verify(SECRET, BODY, header, now=NOW)


def test_the_secret_is_new_each_time():
    assert signing.new_secret() != signing.new_secret()
    assert signing.new_secret().startswith("whsec_")
