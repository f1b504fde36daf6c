"""The bodies a process rendered for the poll hot path: reused per snapshot, bounded in bytes."""

from jobs.polling import RenderedBodies


def test_a_body_is_rendered_once_per_snapshot_and_the_bodies_kept_stay_within_their_bytes():
    bodies = RenderedBodies()
    bodies.memo.max_bytes = 250
    rendered = []

    def render(number: int):
        def body() -> bytes:
            rendered.append(number)
            return b"%03d" % number + b"x" * 97

        return body

    snapshots = [object() for _ in range(5)]
    first = [bodies.get(("job", n), snapshots[n], render(n)) for n in range(5)]
    again = bodies.get(("job", 4), snapshots[4], render(4))
    changed = bodies.get(("job", 4), object(), render(40))

    assert rendered == [0, 1, 2, 3, 4, 40]
    assert again == first[4]
    assert changed[0].startswith(b"040")
    assert bodies.memo.bytes <= 250
