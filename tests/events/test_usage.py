"""Usage: a monoid over the documented counters; wire form with optional counters and extras."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given

from rxagents.testing.strategies import usages
from rxagents.usage import Usage

COUNTERS = ("reasoning_tokens", "cached_input_tokens", "cache_creation_input_tokens")


def test_mastras_two_step_trace_sums_to_its_finish_total() -> None:
    total = Usage(input_tokens=15, output_tokens=5) + Usage(input_tokens=30, output_tokens=8)
    assert (total.input_tokens, total.output_tokens, total.total_tokens) == (45, 13, 58)


def test_total_is_computed_when_absent_and_kept_when_given() -> None:
    assert Usage(input_tokens=2, output_tokens=3).total_tokens == 5
    assert Usage(input_tokens=2, output_tokens=3, total_tokens=9).total_tokens == 9
    assert Usage.model_validate({"inputTokens": 2, "outputTokens": 3}).total_tokens == 5


def test_wire_form_is_camel_case() -> None:
    usage = Usage(input_tokens=1, output_tokens=2, reasoning_tokens=3, cached_input_tokens=4)
    assert usage.model_dump(by_alias=True) == {
        "inputTokens": 1,
        "outputTokens": 2,
        "totalTokens": 3,
        "reasoningTokens": 3,
        "cachedInputTokens": 4,
    }


def test_optional_counters_absent_stay_absent() -> None:
    wire = {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3}
    usage = Usage.model_validate(wire)
    assert usage.model_dump(by_alias=True) == wire
    assert (usage + usage).model_dump(by_alias=True) == {
        "inputTokens": 2,
        "outputTokens": 4,
        "totalTokens": 6,
    }


def test_an_optional_counter_present_on_one_side_is_kept() -> None:
    left = Usage(input_tokens=1, reasoning_tokens=7)
    right = Usage(input_tokens=2)
    assert (left + right).reasoning_tokens == 7
    assert (right + left).reasoning_tokens == 7
    assert (left + left).reasoning_tokens == 14


def test_zero_reasoning_tokens_stay_present() -> None:
    wire = {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3, "reasoningTokens": 0}
    usage = Usage.model_validate(wire)
    assert usage.model_dump(by_alias=True) == wire
    assert (usage + Usage.zero).model_dump(by_alias=True) == wire


def test_raw_is_kept_on_the_wire_but_never_summed() -> None:
    wire = {"inputTokens": 15, "outputTokens": 5, "totalTokens": 20, "raw": {"prompt_tokens": 15}}
    usage = Usage.model_validate(wire)
    assert usage.model_dump(by_alias=True) == wire
    total = usage + usage
    assert total.model_dump(by_alias=True) == {
        "inputTokens": 30,
        "outputTokens": 10,
        "totalTokens": 40,
    }
    assert not total.model_extra


def test_zero_has_zero_counters_and_no_optional_ones() -> None:
    assert Usage.zero.counters() == (0,) * len(Usage.zero.counters())
    assert Usage.zero.model_dump(by_alias=True) == {
        "inputTokens": 0,
        "outputTokens": 0,
        "totalTokens": 0,
    }


def test_adding_something_else_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Usage.zero + 1  # type: ignore[operator]


def test_usage_is_frozen() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Usage.zero.input_tokens = 3  # type: ignore[misc]


def test_counters_treat_absent_optional_counters_as_zero() -> None:
    present = Usage(input_tokens=1, output_tokens=1, reasoning_tokens=0)
    absent = Usage(input_tokens=1, output_tokens=1)
    assert present.counters() == absent.counters()
    assert present != absent


# --- the monoid laws --------------------------------------------------------------------------


@given(usages(raw=True), usages(raw=True), usages(raw=True))
def test_addition_is_associative(a: Usage, b: Usage, c: Usage) -> None:
    assert (a + b) + c == a + (b + c)


@given(usages(raw=True), usages(raw=True))
def test_addition_is_commutative(a: Usage, b: Usage) -> None:
    assert a + b == b + a


@given(usages())
def test_zero_is_the_identity(usage: Usage) -> None:
    assert usage + Usage.zero == usage
    assert Usage.zero + usage == usage


@given(usages(raw=True))
def test_zero_is_the_identity_on_the_counters_when_raw_is_present(usage: Usage) -> None:
    assert (usage + Usage.zero).counters() == usage.counters()
    assert (Usage.zero + usage).counters() == usage.counters()


@given(usages(raw=True), usages(raw=True))
def test_addition_sums_each_documented_counter(a: Usage, b: Usage) -> None:
    total = a + b
    assert total.counters() == tuple(x + y for x, y in zip(a.counters(), b.counters(), strict=True))
    assert not total.model_extra


@given(usages(), usages())
def test_an_optional_counter_is_absent_only_when_absent_on_both_sides(a: Usage, b: Usage) -> None:
    dumped = (a + b).model_dump(by_alias=True)
    for name in COUNTERS:
        wire_name = Usage.model_fields[name].alias
        expected = wire_name in a.model_dump(by_alias=True) or wire_name in b.model_dump(
            by_alias=True
        )
        assert (wire_name in dumped) == expected


@given(usages(raw=True))
def test_wire_round_trip(usage: Usage) -> None:
    assert Usage.model_validate(usage.model_dump(by_alias=True)) == usage
    assert Usage.model_validate_json(usage.model_dump_json(by_alias=True)) == usage


@given(usages(), usages(), usages())
def test_sum_is_a_fold_from_zero(a: Usage, b: Usage, c: Usage) -> None:
    assert functools.reduce(Usage.__add__, [a, b, c], Usage.zero) == a + b + c
    assert sum([a, b, c], Usage.zero) == a + b + c
