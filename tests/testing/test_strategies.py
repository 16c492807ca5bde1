"""The hypothesis strategies: valid streams pass, breakages are caught, chunks round trip."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from pydantic import MISSING

from rxagents.errors import InvalidInputError
from rxagents.events import (
    AgentExecutionStart,
    ChunkBase,
    DataChunk,
    Finish,
    Start,
    StepFinish,
    StepStart,
    ToolCall,
    ToolOutput,
    ToolResult,
    WorkflowStepOutput,
    WrappedChunk,
    parse_chunk,
)
from rxagents.models import parse_part
from rxagents.testing import (
    Rule,
    WellFormednessError,
    assert_well_formed,
    check_well_formed,
)
from rxagents.testing.strategies import (
    BREAKABLE_RULES,
    Breakage,
    Script,
    agent_chunk_streams,
    agent_scripts,
    broken_agent_streams,
    chunks,
    json_values,
    network_chunk_streams,
    usages,
    violations,
    workflow_chunk_streams,
)
from rxagents.usage import Usage

# --- valid streams pass ------------------------------------------------------------------------


@given(agent_chunk_streams(include_errors=True, include_aborts=True))
def test_generated_agent_streams_are_well_formed(stream: list[Any]) -> None:
    assert_well_formed(stream, "agent")


@given(workflow_chunk_streams())
def test_generated_workflow_streams_are_well_formed(stream: list[Any]) -> None:
    assert_well_formed(stream, "workflow")


@given(network_chunk_streams())
def test_generated_network_streams_are_well_formed(stream: list[Any]) -> None:
    assert_well_formed(stream, "network")


@given(agent_chunk_streams(run_id="r-7", min_steps=2, max_steps=2))
def test_agent_streams_honour_run_id_and_step_count(stream: list[Any]) -> None:
    assert {chunk.run_id for chunk in stream} == {"r-7"}
    assert sum(isinstance(chunk, StepStart) for chunk in stream) == 2
    finish = stream[-1]
    assert isinstance(finish, Finish)
    steps = [c.payload.output.usage for c in stream if isinstance(c, StepFinish)]
    assert finish.payload.output.usage.counters() == sum(steps, Usage.zero).counters()


@given(agent_chunk_streams(tools={"add": st.fixed_dictionaries({"a": st.integers()})}))
def test_agent_streams_call_tools_with_arguments_from_the_given_strategy(
    stream: list[Any],
) -> None:
    calls = [c for c in stream if isinstance(c, ToolCall)]
    assert all(c.payload.tool_name == "add" and set(c.payload.args) == {"a"} for c in calls)
    answered = {c.payload.tool_call_id for c in stream if isinstance(c, ToolResult)}
    assert answered <= {c.payload.tool_call_id for c in calls}


@given(network_chunk_streams(primitives=("agent",), include_validation=False))
def test_network_streams_wrap_whole_inner_streams_with_their_own_run_id(
    stream: list[Any],
) -> None:
    starts = {c.payload.run_id for c in stream if isinstance(c, AgentExecutionStart)}
    inner = [c.payload for c in stream if isinstance(c, WrappedChunk)]
    assert inner
    assert {c.run_id for c in inner} == starts
    assert {c.run_id for c in stream if isinstance(c, WrappedChunk)} == {stream[0].run_id}


@given(workflow_chunk_streams(include_failures=False, include_suspends=False))
def test_workflow_streams_without_failures_succeed(stream: list[Any]) -> None:
    assert stream[-1].payload.workflow_status == "success"


# --- tools that write, nested runs, supervisors ------------------------------------------------

WRITING = agent_chunk_streams(
    include_tool_output=True,
    sub_agents=("research",),
    max_depth=2,
    include_errors=True,
    include_aborts=True,
    include_pauses=True,
)


def carried(stream: list[Any], call_id: str | None = None) -> list[Any]:
    """The chunks carried in the stream's tool-output, for one call or all."""
    return [
        c.payload.output
        for c in stream
        if isinstance(c, ToolOutput)
        and isinstance(c.payload.output, ChunkBase)
        and call_id in (None, c.payload.tool_call_id)
    ]


def depth(stream: list[Any]) -> int:
    inner = carried(stream)
    return 1 + depth(inner) if inner else 0


@given(WRITING)
def test_generated_streams_with_tool_output_are_well_formed(stream: list[Any]) -> None:
    assert_well_formed(stream, "agent")


@given(WRITING)
def test_streams_with_tool_output_nest_at_most_max_depth(stream: list[Any]) -> None:
    assert depth(stream) <= 2
    nested_ids = {c.run_id for c in carried(stream) if not isinstance(c, DataChunk)}
    assert all(run_id.startswith(stream[0].run_id + "/") for run_id in nested_ids)


# find() describes the streams it tries; a big one makes hypothesis warn about its repr's size
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
def test_streams_with_tool_output_reach_every_shape() -> None:
    quick = settings(max_examples=500, database=None, phases=[Phase.generate])  # no shrinking
    find(WRITING, lambda s: depth(s) == 2, settings=quick)
    find(WRITING, lambda s: any(isinstance(c, DataChunk) for c in s), settings=quick)
    find(
        WRITING,
        lambda s: any(isinstance(c, ToolOutput) and isinstance(c.payload.output, str) for c in s),
        settings=quick,
    )
    find(
        WRITING,
        lambda s: any(isinstance(c, ToolResult) and c.payload.usage is not MISSING for c in s),
        settings=quick,
    )


@given(agent_chunk_streams(sub_agents=("research",), tools=()))
def test_supervisor_streams_carry_whole_sub_agent_runs(stream: list[Any]) -> None:
    calls = [c for c in stream if isinstance(c, ToolCall)]
    assert all(c.payload.tool_name == "agent-research" for c in calls)
    for answer in stream:
        if not isinstance(answer, ToolResult):
            continue
        sub_run = carried(stream, answer.payload.tool_call_id)
        assert isinstance(sub_run[0], Start)
        assert isinstance(sub_run[-1], Finish)
        result = answer.payload.result
        assert set(result) == {
            "text",
            "subAgentThreadId",
            "subAgentResourceId",
            "subAgentToolResults",
        }
        assert result["text"] == sub_run[-1].payload.output.text
        assert result["subAgentToolResults"] == [
            {
                "toolName": c.payload.tool_name,
                "toolCallId": c.payload.tool_call_id,
                "result": c.payload.result,
                "args": c.payload.args,
            }
            for c in sub_run
            if isinstance(c, ToolResult)
        ]


@given(WRITING)
def test_streams_with_tool_output_round_trip_on_the_wire(stream: list[Any]) -> None:
    dumps = [chunk.model_dump(mode="json", by_alias=True) for chunk in stream]
    assert [parse_chunk(d).model_dump(mode="json", by_alias=True) for d in dumps] == dumps
    assert_well_formed(dumps)


# --- scripted model responses -----------------------------------------------------------------


@given(agent_scripts())
def test_scripts_are_provider_parts_ending_with_finish(script: Script) -> None:
    for index, step in enumerate(script):
        is_last = index == len(script) - 1
        for part in step:
            parse_part(part)  # valid ScriptedModel input
        assert step[-1]["type"] == "finish"
        assert [p["type"] for p in step].count("finish") == 1
        assert step[-1]["finishReason"] == ("stop" if is_last else "tool-calls")
        calls = [p for p in step if p["type"] == "tool-call"]
        assert bool(calls) == (not is_last)


@given(agent_scripts())
def test_scripts_stream_tool_input_that_adds_up_to_the_call_input(script: Script) -> None:
    for step in script:
        streamed: dict[str, str] = {}
        for part in step:
            if part["type"] == "tool-input-start":
                streamed[part["id"]] = ""
            elif part["type"] == "tool-input-delta":
                streamed[part["id"]] += part["delta"]
            elif part["type"] == "tool-call":
                assert isinstance(json.loads(part["input"]), dict)
                if part["toolCallId"] in streamed:
                    assert streamed[part["toolCallId"]] == part["input"]


@given(agent_scripts())
def test_script_blocks_open_before_deltas_and_close_after(script: Script) -> None:
    for step in script:
        open_blocks: set[str] = set()
        for part in step:
            kind = part["type"]
            if kind.endswith("-start"):
                open_blocks.add(part["id"])
            elif kind.endswith("-delta"):
                assert part["id"] in open_blocks
            elif kind.endswith("-end"):
                open_blocks.remove(part["id"])
        assert not open_blocks


@given(agent_scripts(tools=(), max_steps=3))
def test_scripts_without_tools_have_one_step(script: Script) -> None:
    assert len(script) == 1


@given(agent_scripts(tools=("lookup",), min_steps=3, max_steps=3))
def test_scripts_honour_tool_names_and_step_count(script: Script) -> None:
    assert len(script) == 3
    names = {p["toolName"] for step in script for p in step if p["type"] == "tool-call"}
    assert names == {"lookup"}


@pytest.mark.parametrize(
    "make",
    [
        lambda: agent_scripts(min_steps=0),
        lambda: agent_scripts(min_steps=3, max_steps=2),
        lambda: agent_scripts(tools="get_weather"),
        lambda: agent_chunk_streams(max_steps=0),
        lambda: agent_chunk_streams(max_depth=-1),
        lambda: agent_chunk_streams(sub_agents=("a",), max_depth=0),
        lambda: agent_chunk_streams(sub_agents="research"),
        lambda: workflow_chunk_streams(max_steps=0),
        lambda: network_chunk_streams(primitives=()),
        lambda: violations(rules=[Rule.EMPTY_STREAM]),
        lambda: broken_agent_streams(rules=[Rule.SPAN_UNCLOSED]),
        lambda: violations(rules=["no-such-rule"]),
        lambda: chunks(types=["no-such-type"]),
        lambda: chunks(types=[], wrapped=False),
    ],
)
def test_bad_parameters_are_refused_eagerly(make: Any) -> None:
    with pytest.raises(InvalidInputError):
        make()


# --- usage --------------------------------------------------------------------------------


@given(usages())
def test_usages_total_is_input_plus_output(usage: Usage) -> None:
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


@given(usages(optional_counters=False))
def test_usages_without_optional_counters_dump_three_keys(usage: Usage) -> None:
    assert set(usage.model_dump(by_alias=True)) == {"inputTokens", "outputTokens", "totalTokens"}


@given(json_values())
def test_json_values_survive_json(value: Any) -> None:
    assert json.loads(json.dumps(value)) == value


# --- breakages are caught -------------------------------------------------------------------


def test_every_rule_but_the_input_ones_can_be_broken() -> None:
    from rxagents.testing import RULES

    assert set(RULES) - BREAKABLE_RULES == {
        Rule.INVALID_CHUNK,
        Rule.EMPTY_STREAM,
        Rule.FOREIGN_CHUNK,
    }


# A quarter of the profile's examples per rule (35 rules): every rule evenly, in bounded time.
PER_RULE = settings(max_examples=max(10, settings().max_examples // 4))


@pytest.mark.parametrize("rule", sorted(BREAKABLE_RULES))
@PER_RULE
@given(data=st.data())
def test_each_generated_breakage_is_rejected_with_its_rule(rule: Rule, data: st.DataObject) -> None:
    stream, expected = data.draw(violations(rules=[rule]))
    assert expected == rule
    found = check_well_formed(stream)
    assert found, "the broken stream passed"
    assert found[0].rule == rule, found[:3]
    with pytest.raises(WellFormednessError) as info:
        assert_well_formed(stream)
    assert info.value.rule == rule


@PER_RULE
@given(violations(rules=["missing-finish", "span-unclosed"]))
def test_rules_can_be_chosen_by_name(breakage: Breakage) -> None:
    stream, rule = breakage
    assert rule in (Rule.MISSING_FINISH, Rule.SPAN_UNCLOSED)
    assert check_well_formed(stream)[0].rule == rule


@given(violations())
def test_any_generated_breakage_is_rejected_with_its_rule(breakage: Breakage) -> None:
    stream, rule = breakage
    assert [v.rule for v in check_well_formed(stream)][:1] == [rule]


@given(broken_agent_streams())
def test_broken_agent_streams_break_agent_rules(breakage: Breakage) -> None:
    stream, rule = breakage
    with pytest.raises(WellFormednessError) as info:
        assert_well_formed(stream, "agent")
    assert info.value.rule == rule


# --- every chunk round trips ----------------------------------------------------------------


def assert_round_trips(chunk: Any) -> None:
    assert parse_chunk(chunk.model_dump(by_alias=True)) == chunk
    assert parse_chunk(chunk.model_dump_json(by_alias=True)) == chunk


@given(chunks())
def test_any_chunk_round_trips_through_dict_and_json(chunk: Any) -> None:
    assert_round_trips(chunk)


@given(chunks(types=["workflow-step-output"]))
def test_step_outputs_round_trip(chunk: Any) -> None:
    assert isinstance(chunk, WorkflowStepOutput | WrappedChunk)
    assert_round_trips(chunk)


@given(chunks(types=[]))
def test_wrapped_chunks_round_trip(chunk: Any) -> None:
    assert isinstance(chunk, WrappedChunk)
    assert chunk.type == chunk.prefix + chunk.payload.type
    assert_round_trips(chunk)


@given(
    st.one_of(
        agent_chunk_streams(include_errors=True, include_aborts=True),
        workflow_chunk_streams(),
        network_chunk_streams(),
    )
)
def test_every_chunk_of_generated_streams_round_trips(stream: list[Any]) -> None:
    for chunk in stream:
        assert_round_trips(chunk)


# --- hypothesis stays optional ---------------------------------------------------------------

_WITHOUT_HYPOTHESIS = textwrap.dedent(
    """
    import sys

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name == "hypothesis" or name.startswith("hypothesis."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Block())
    """
)


def run_without_hypothesis(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_HYPOTHESIS + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_testing_package_imports_without_hypothesis() -> None:
    done = run_without_hypothesis(
        """
        import rxagents.testing
        assert "hypothesis" not in sys.modules
        print(sorted(rxagents.testing.__all__)[0])
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ChunkLike"


def test_strategies_without_hypothesis_raise_an_import_error_with_the_install_hint() -> None:
    done = run_without_hypothesis(
        """
        try:
            import rxagents.testing.strategies
        except ImportError as err:
            print(err)
        """
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'rxagents[dev]'" in done.stdout
