"""Secrets jobdesk must read back (access key secrets), encrypted at rest with Fernet.

`JOBDESK_CREDENTIALS_KEYS` is a list of Fernet keys: the first encrypts, any of them decrypts
(`cryptography`'s MultiFernet). To rotate, put a new key first, run `manage.py
rotate_credentials_keys` (every stored secret is then encrypted with it), then drop the old
key. Nothing here logs a secret or puts one in an exception message.

`cryptography` is imported on first use, not with this module: its bindings take about 8 MiB,
and a web worker that only answers token-authenticated polls never reads a secret.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any of JOBDESK_CREDENTIALS_KEYS."""


@functools.lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    from cryptography.fernet import Fernet, MultiFernet

    return MultiFernet([Fernet(key) for key in keys])


def cipher() -> MultiFernet:
    """Return the cipher of the configured keys (the first one encrypts)."""
    return _cipher(tuple(settings.JOBDESK_CREDENTIALS_KEYS))


def encrypt(secret: str) -> str:
    """Return `secret` encrypted with the first configured key, as text for the database."""
    return cipher().encrypt(secret.encode("utf-8")).decode("ascii")


def decrypt(stored: str) -> str:
    """Return the secret `stored` holds, decrypted with whichever configured key made it."""
    from cryptography.fernet import InvalidToken

    try:
        return cipher().decrypt(stored.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise SecretUnreadable(
            "A stored secret cannot be decrypted with the configured keys."
        ) from None


def reencrypt(stored: str) -> str:
    """Return `stored` encrypted again with the first configured key (for key rotation)."""
    from cryptography.fernet import InvalidToken

    try:
        return cipher().rotate(stored.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise SecretUnreadable(
            "A stored secret cannot be decrypted with the configured keys."
        ) from None
