"""Per-run state helpers: step call ids."""

from __future__ import annotations

import uuid

from rxagents.workflow._state import new_call_id


def test_call_ids_are_distinct_version_4_uuids() -> None:
    ids = [new_call_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:100]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
