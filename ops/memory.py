"""How many of glibc's malloc arenas a process's threads share.

glibc gives threads that allocate at once arenas of their own, up to eight per core. A
gunicorn worker's threads take turns under the interpreter lock, so arenas of their own save
them little waiting, while each arena keeps the pages its freed blocks leave behind: a worker
with four threads grew by 2 to 3 MiB more than with two arenas in `make bench`.
"""

from __future__ import annotations

import ctypes
import os
import platform

# glibc's malloc.h: the option of mallopt() that bounds the number of arenas.
M_ARENA_MAX = -8


def limit_malloc_arenas(count: int) -> bool:
    """Let this process's threads share at most `count` malloc arenas; return True if set.

    Nothing changes when `count` is 0, the C library is not glibc, or MALLOC_ARENA_MAX is in
    the environment (glibc read it at start: the operator's choice stands).
    """
    if count <= 0 or "MALLOC_ARENA_MAX" in os.environ or platform.libc_ver()[0] != "glibc":
        return False
    return ctypes.CDLL(None).mallopt(M_ARENA_MAX, count) == 1
