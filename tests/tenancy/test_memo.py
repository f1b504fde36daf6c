"""The per-process memo of the poll hot path: bounded by entries and by bytes."""

import threading
import time
from random import Random

import pytest

from tenancy.memo import BoundedMemo


def sized(max_entries: int = 100, max_bytes: int = 1_000) -> BoundedMemo[bytes]:
    return BoundedMemo(max_entries, max_bytes, size_of=len)


def test_a_key_keeps_its_last_entry_and_the_bytes_are_counted_exactly():
    memo = sized()
    memo.put("a", b"x" * 100)
    memo.put("b", b"y" * 50)
    memo.put("a", b"z" * 10)
    memo.discard("b")
    memo.discard("missing")

    assert memo.entries == {"a": b"z" * 10}
    assert memo.bytes == 10


@pytest.mark.parametrize(
    ("max_entries", "max_bytes", "sizes"),
    [(3, 1_000, [10, 10, 10, 10]), (100, 250, [100, 100, 100])],
    ids=["entries", "bytes"],
)
def test_reaching_a_bound_empties_the_memo_before_the_new_entry(max_entries, max_bytes, sizes):
    memo = sized(max_entries, max_bytes)
    for number, size in enumerate(sizes):
        memo.put(number, b"x" * size)

    assert memo.entries == {len(sizes) - 1: b"x" * sizes[-1]}
    assert memo.bytes == sizes[-1]


def test_an_entry_larger_than_the_memo_is_not_kept_and_drops_the_keys_last():
    memo = sized(max_bytes=100)
    memo.put("a", b"x" * 10)
    memo.put("a", b"x" * 101)

    assert memo.get("a") is None
    assert memo.bytes == 0


def test_threads_writing_at_once_leave_the_byte_count_exact():
    def size_of(entry: bytes) -> int:
        time.sleep(0)  # let another thread run in the middle of every write
        return len(entry)

    memo = BoundedMemo(50, 5_000, size_of=size_of)
    start = threading.Barrier(4)

    def write(seed: int) -> None:
        rng = Random(seed)
        start.wait()
        for _ in range(2_000):
            key = rng.randrange(60)
            if rng.random() < 0.1:
                memo.discard(key)
            else:
                memo.put(key, b"x" * rng.randrange(1, 200))

    threads = [threading.Thread(target=write, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert memo.bytes == sum(len(entry) for entry in memo.entries.values())
    assert memo.bytes <= 5_000
    assert len(memo.entries) <= 50
