"""glibc's malloc arenas, bounded in each gunicorn worker (ops/memory.py, config/gunicorn.py)."""

from __future__ import annotations

import platform
import runpy
from pathlib import Path

import pytest
from django.conf import settings

from ops import memory


class FakeLibc:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def mallopt(self, option: int, value: int) -> int:
        self.calls.append((option, value))
        return 1


@pytest.fixture
def libc(monkeypatch) -> FakeLibc:
    fake = FakeLibc()
    monkeypatch.setattr(memory.ctypes, "CDLL", lambda name: fake)
    monkeypatch.setattr(memory.platform, "libc_ver", lambda: ("glibc", "2.36"))
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    return fake


def test_the_arenas_are_bounded_with_mallopt(libc):
    assert memory.limit_malloc_arenas(2) is True
    assert libc.calls == [(memory.M_ARENA_MAX, 2)]


@pytest.mark.parametrize("why", ["zero", "environment", "not glibc"])
def test_the_arenas_are_left_alone_when_asked_or_not_glibc(libc, monkeypatch, why):
    count = 0 if why == "zero" else 2
    if why == "environment":
        monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    if why == "not glibc":
        monkeypatch.setattr(memory.platform, "libc_ver", lambda: ("", ""))

    assert memory.limit_malloc_arenas(count) is False
    assert libc.calls == []


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_this_glibc_accepts_the_bound(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert memory.limit_malloc_arenas(8) is True  # glibc's own default bound on 1 core


def test_each_gunicorn_worker_bounds_its_arenas_before_its_threads_start(libc, monkeypatch):
    monkeypatch.setenv("GUNICORN_MALLOC_ARENAS", "3")
    config = runpy.run_path(str(Path(settings.BASE_DIR) / "config" / "gunicorn.py"))

    config["post_fork"](server=None, worker=None)

    assert libc.calls == [(memory.M_ARENA_MAX, 3)]
