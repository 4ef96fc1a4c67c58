"""Public ids: random, and (for chats and sessions) in the order they were made."""

from __future__ import annotations

import time

from chatserver.security import new_id, new_ordered_id


def test_ordered_ids_sort_by_creation_and_stay_unguessable() -> None:
    """Ids made later sort after earlier ones (byte order, as SQLite and PostgreSQL compare
    ASCII), and each still carries its 72 random bits: no two alike, even in one millisecond."""
    made = []
    for _ in range(3):
        made += [new_ordered_id("c_") for _ in range(1000)]
        ms = time.time_ns() // 1_000_000
        while time.time_ns() // 1_000_000 == ms:  # the next id is a millisecond later
            pass
    assert len(set(made)) == len(made)
    stamps = [i[2:14] for i in made]
    assert stamps == sorted(stamps)
    assert made[0] < made[1000] < made[2000]
    assert abs(int(made[-1][2:14], 16) - time.time() * 1000) < 60_000
    assert all(len(i) == 2 + 12 + 12 for i in made)
    assert len({new_id("c_") for _ in range(1000)}) == 1000
