"""Random and counted ids read as version 4 UUIDs."""

from __future__ import annotations

import uuid

from rxagents._core.ids import counted_id, random_id


def test_random_ids_are_version_4_uuids_in_their_usual_text() -> None:
    ids = {random_id() for _ in range(200)}
    assert len(ids) == 200
    for value in ids:
        parsed = uuid.UUID(value)
        assert str(parsed) == value
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_counted_ids_are_distinct_version_4_uuids() -> None:
    ids = [counted_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:100]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
