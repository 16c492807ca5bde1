"""Trusted builders: instances indistinguishable from validated ones."""

from __future__ import annotations

import copy
import pickle

import pytest

from rxagents._core.wire import trusted_builder, with_extra
from rxagents.events import StepMetadata, TextDelta, TextDeltaPayload
from rxagents.usage import Usage

_build = trusted_builder(TextDelta, "run_id", "payload")


def delta() -> TextDelta:
    return _build("run-1", TextDeltaPayload(id="t1", text="Hi"))


def test_a_built_chunk_equals_and_dumps_like_a_validated_one() -> None:
    validated = TextDelta(run_id="run-1", payload=TextDeltaPayload(id="t1", text="Hi"))
    built = delta()
    assert built == validated
    assert validated == built
    assert built.model_dump(by_alias=True) == validated.model_dump(by_alias=True)
    assert built.model_dump_json(by_alias=True) == validated.model_dump_json(by_alias=True)
    assert built.model_extra == {}
    assert built.model_fields_set == validated.model_fields_set


def test_the_shared_empty_extra_is_read_only_and_copies_are_plain_dicts() -> None:
    built = delta()
    extra = built.model_extra
    assert extra is not None
    with pytest.raises(TypeError):
        extra["key"] = "value"
    assert type(copy.copy(extra)) is dict
    assert type(copy.deepcopy(extra)) is dict
    copied = built.model_copy(update={"extraKey": 1})
    assert copied.model_extra == {"extraKey": 1}
    assert built.model_extra == {}
    restored = pickle.loads(pickle.dumps(built))
    assert restored == built
    assert type(restored.model_extra) is dict


def test_extra_keys_are_kept_in_order_like_a_validated_models() -> None:
    build = trusted_builder(
        StepMetadata, "id", "model_id", "model_metadata", extras=("modelVersion", "request")
    )
    built = build("r1", "m1", {"modelId": "m1"}, "v2", {})
    validated = StepMetadata(
        id="r1", model_id="m1", modelVersion="v2", model_metadata={"modelId": "m1"}, request={}
    )
    assert built == validated
    assert built.model_extra == {"modelVersion": "v2", "request": {}}
    assert built.model_dump_json(by_alias=True) == validated.model_dump_json(by_alias=True)
    assert built.model_fields_set == validated.model_fields_set


def test_extra_keys_must_not_be_fields() -> None:
    with pytest.raises(ValueError, match="no extra keys"):
        trusted_builder(StepMetadata, "id", extras=("model_id",))


def test_with_extra_copies_like_model_copy() -> None:
    usage = Usage.model_validate({"inputTokens": 1, "outputTokens": 2, "raw": {"a": 1}})
    for key in ("raw", "other"):
        copied = with_extra(usage, key, {"b": 2})
        expected = usage.model_copy(update={key: {"b": 2}})
        assert copied == expected
        assert copied.model_extra == expected.model_extra
        assert list(copied.model_extra or {}) == list(expected.model_extra or {})
        assert copied.model_fields_set == expected.model_fields_set
        assert copied.model_dump_json(by_alias=True) == expected.model_dump_json(by_alias=True)
    assert usage.model_extra == {"raw": {"a": 1}}
    assert with_extra(usage, "input_tokens", 5).input_tokens == 5
