"""``in_chunks``: long id lists in ``IN (…)`` clauses, a slice at a time."""

from __future__ import annotations

from leadflow.adapters.db.chunks import in_chunks


def test_every_value_comes_once_in_order_in_slices_of_at_most_the_size() -> None:
    values = list(range(1201))
    chunks = list(in_chunks(values, 500))
    assert [len(c) for c in chunks] == [500, 500, 201]
    assert [v for c in chunks for v in c] == values


def test_no_values_make_no_chunks() -> None:
    assert list(in_chunks([])) == []
