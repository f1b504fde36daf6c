"""What a process read lately (`tenancy.recent`): which values are due a check with others."""

from __future__ import annotations

import time

import time_machine

from tenancy.recent import RecentReads


def test_values_stored_longer_ago_than_the_age_are_due():
    recent = RecentReads(seconds=60, max_entries=100)
    now = time.time()
    recent.note("old", stored_at=now - 10)
    recent.note("new", stored_at=now - 1)

    assert recent.older_than(5, limit=10) == ["old"]


def test_the_value_being_checked_is_left_out():
    recent = RecentReads(seconds=60, max_entries=100)
    recent.note("a", stored_at=time.time() - 10)
    recent.note("b", stored_at=time.time() - 10)

    assert recent.older_than(5, limit=10, besides="a") == ["b"]


def test_values_not_read_within_the_window_are_forgotten():
    recent = RecentReads(seconds=60, max_entries=100)
    with time_machine.travel(time.time(), tick=False) as traveller:
        recent.note("idle", stored_at=time.time())
        traveller.shift(30)
        recent.note("watched", stored_at=time.time() - 30)
        traveller.shift(31)

        assert recent.older_than(5, limit=10) == ["watched"]
        assert list(recent.entries) == ["watched"]


def test_at_most_the_limit_is_due_picked_at_random():
    recent = RecentReads(seconds=60, max_entries=100)
    for n in range(50):
        recent.note(n, stored_at=time.time() - 10)

    picks = [recent.older_than(5, limit=10) for _ in range(20)]

    assert all(len(pick) == len(set(pick)) == 10 for pick in picks)
    assert len({tuple(sorted(pick)) for pick in picks}) > 1


def test_a_value_stored_again_is_no_longer_due():
    recent = RecentReads(seconds=60, max_entries=100)
    recent.note("a", stored_at=time.time() - 10)
    recent.stored("a", time.time())
    recent.stored("never read", time.time())

    assert recent.older_than(5, limit=10) == []
    assert list(recent.entries) == ["a"]


def test_a_forgotten_value_is_not_due():
    recent = RecentReads(seconds=60, max_entries=100)
    recent.note("a", stored_at=time.time() - 10)
    recent.forget("a")
    recent.forget("never read")

    assert recent.older_than(5, limit=10) == []


def test_reaching_the_most_entries_forgets_them_all():
    recent = RecentReads(seconds=60, max_entries=3)
    for key in "abc":
        recent.note(key, stored_at=time.time() - 10)
    recent.note("d", stored_at=time.time() - 10)

    assert recent.older_than(5, limit=10) == ["d"]
