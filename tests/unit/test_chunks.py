"""IN-list chunks: every item once, in order, none larger than asked."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from qgov.chunks import chunked


@given(st.lists(st.integers()), st.integers(1, 7))
def test_chunks_cover_the_items_in_order_and_stay_bounded(items: list[int], size: int) -> None:
    parts = list(chunked(items, size))
    assert [x for part in parts for x in part] == items
    assert all(1 <= len(part) <= size for part in parts)
    assert all(len(part) == size for part in parts[:-1])
