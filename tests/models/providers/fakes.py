"""Fake OpenAI and Anthropic servers on 127.0.0.1, speaking the real wire protocols.

A :class:`FakeProviderServer` answers each request with the next scripted :class:`Reply`:
a JSON error body, or an event stream written frame by frame (chunked, as the real APIs do)
that then ends, drops the connection, or stalls until the client leaves. The builders below
produce the byte-exact frames of each provider (compact JSON, ``data: [DONE]`` for OpenAI,
``event:`` lines and ``ping`` for Anthropic) with realistic headers, so the official SDKs parse
them too. Loaded by ``conftest.py`` (tests use ``--import-mode=importlib``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from aiohttp.test_utils import TestServer

JSON = dict[str, Any]
_ids = itertools.count(1)


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- the server ---------------------------------------------------------------------------------


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    frames: list[bytes] = field(default_factory=list)
    """Written one ``write`` each (one HTTP chunk each)."""
    body: bytes | None = None
    """A plain (non-streaming) body, e.g. a JSON error."""
    then: Literal["end", "drop", "stall"] = "end"
    """After the frames: end the body, close the socket mid-body, or wait for the client to go."""


@dataclass
class Recorded:
    """What the server received."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any


class FakeProviderServer:
    """A local server answering every POST with the next scripted reply."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Recorded] = []
        self.disconnects = 0
        self.disconnected = asyncio.Event()
        """Set when a client left while its stream was still open."""
        self.stalled = asyncio.Event()
        """Set when a stalling reply has written its frames."""
        self._server: TestServer | None = None

    async def start(self) -> FakeProviderServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # aiohttp only cancels a handler when its client leaves with handler_cancellation.
        self._server = TestServer(app, host="127.0.0.1", handler_cancellation=True)
        await self._server.start_server()
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    def script(self, *replies: Reply) -> FakeProviderServer:
        self.replies.extend(replies)
        return self

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                dict(request.headers),
                json.loads(raw) if raw else None,
            )
        )
        if not self.replies:
            return web.json_response(
                {"error": {"message": "fake server: no reply scripted", "type": "test_error"}},
                status=418,
            )
        reply = self.replies.popleft()
        if reply.body is not None:
            return web.Response(status=reply.status, body=reply.body, headers=reply.headers)
        response = web.StreamResponse(status=reply.status, headers=reply.headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        dropping = False
        try:
            for frame in reply.frames:
                await response.write(frame)
            if reply.then == "drop":
                dropping = True
                assert request.transport is not None
                request.transport.close()  # flushes what was written, then closes mid-body
                await asyncio.Future()
            if reply.then == "stall":
                self.stalled.set()
                await asyncio.Future()
            await response.write_eof()
        except (asyncio.CancelledError, ConnectionResetError):
            if not dropping:
                self.disconnects += 1
                self.disconnected.set()
            raise
        return response


# --- OpenAI chat completions --------------------------------------------------------------------

OPENAI_MODEL = "gpt-4o-mini-2024-07-18"
OPENAI_CREATED = 1_727_000_000


def openai_headers(**extra: str) -> dict[str, str]:
    return {
        "Content-Type": "text/event-stream; charset=utf-8",
        "x-request-id": f"req_{next(_ids):032x}",
        "openai-organization": "user-fake",
        "openai-processing-ms": "112",
        "openai-version": "2020-10-01",
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-reset-requests": "6ms",
        "x-ratelimit-limit-tokens": "200000",
        "x-ratelimit-remaining-tokens": "199950",
        "x-ratelimit-reset-tokens": "15ms",
        **extra,
    }


def openai_frame(chunk: JSON | str) -> bytes:
    data = chunk if isinstance(chunk, str) else compact(chunk)
    return f"data: {data}\n\n".encode()


def openai_chunk(
    choices: list[JSON], *, response_id: str, usage: JSON | None = None, model: str = OPENAI_MODEL
) -> JSON:
    return {
        "id": response_id,
        "object": "chat.completion.chunk",
        "created": OPENAI_CREATED,
        "model": model,
        "service_tier": "default",
        "system_fingerprint": "fp_0ba0d124f1",
        "choices": choices,
        "usage": usage,
    }


def openai_usage(prompt: int, completion: int, *, reasoning: int = 0, cached: int = 0) -> JSON:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def openai_frames(
    deltas: list[JSON],
    finish_reason: str = "stop",
    usage: JSON | None = None,
    *,
    model: str = OPENAI_MODEL,
) -> list[bytes]:
    """Frames of one completion: a role chunk, one chunk per delta, the finish chunk, usage."""
    response_id = f"chatcmpl-fake{next(_ids):08d}"

    def choice(delta: JSON, reason: str | None = None) -> JSON:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}

    first: JSON = {"role": "assistant", "content": "", "refusal": None}
    if deltas and "tool_calls" in deltas[0]:
        first = {"role": "assistant", "content": None, **deltas[0], "refusal": None}
        deltas = deltas[1:]
    chunks = [openai_chunk([choice(first)], response_id=response_id, model=model)]
    chunks += [openai_chunk([choice(d)], response_id=response_id, model=model) for d in deltas]
    chunks.append(openai_chunk([choice({}, finish_reason)], response_id=response_id, model=model))
    chunks.append(
        openai_chunk([], response_id=response_id, model=model, usage=usage or openai_usage(10, 5))
    )
    return [openai_frame(c) for c in chunks] + [openai_frame("[DONE]")]


def openai_text(pieces: list[str], usage: JSON | None = None, **headers: str) -> Reply:
    frames = openai_frames([{"content": p} for p in pieces], "stop", usage)
    return Reply(headers=openai_headers(**headers), frames=frames)


def openai_tool_calls(
    calls: list[tuple[str, str, list[str]]], usage: JSON | None = None, *, text: str = ""
) -> Reply:
    """Parallel tool calls, each ``(id, name, argument fragments)``, one call after another."""
    deltas: list[JSON] = [{"content": text}] if text else []
    for index, (call_id, name, fragments) in enumerate(calls):
        deltas.append(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": ""},
                    }
                ]
            }
        )
        deltas += [
            {"tool_calls": [{"index": index, "function": {"arguments": f}}]} for f in fragments
        ]
    frames = openai_frames(deltas, "tool_calls", usage)
    return Reply(headers=openai_headers(), frames=frames)


def openai_reasoning(
    reasoning: list[str],
    text: list[str],
    usage: JSON | None = None,
    *,
    key: str = "reasoning_content",
) -> Reply:
    """What DeepSeek, vLLM and llama.cpp send: ``reasoning_content`` deltas before the text."""
    deltas = [{"content": None, key: r} for r in reasoning] + [{"content": t} for t in text]
    frames = openai_frames(deltas, "stop", usage, model="deepseek-reasoner")
    return Reply(headers=openai_headers(), frames=frames)


def openai_error(
    status: int,
    message: str,
    *,
    type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    **headers: str,
) -> Reply:
    body = {"error": {"message": message, "type": type, "param": param, "code": code}}
    return Reply(
        status=status,
        headers={"Content-Type": "application/json", **headers},
        body=json.dumps(body, indent=2).encode(),
    )


# --- Anthropic messages -------------------------------------------------------------------------

ANTHROPIC_MODEL = "claude-haiku-4-5-20251001"


def anthropic_headers(**extra: str) -> dict[str, str]:
    return {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
        "request-id": f"req_fake{next(_ids):016d}",
        "anthropic-organization-id": "00000000-0000-0000-0000-000000000000",
        **extra,
    }


def anthropic_frame(event: JSON) -> bytes:
    data = '{"type": "ping"}' if event["type"] == "ping" else compact(event)
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


@dataclass
class Text:
    pieces: list[str]


@dataclass
class Thinking:
    pieces: list[str]
    signature: str = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxDdSD0yOoRAV4cDXAiMPz9zJ=="


@dataclass
class ToolUse:
    id: str
    name: str
    fragments: list[str]


def anthropic_frames(
    blocks: list[Text | Thinking | ToolUse],
    stop_reason: str = "end_turn",
    *,
    input_tokens: int = 12,
    output_tokens: int = 6,
    cache_read: int = 0,
    cache_creation: int = 0,
    model: str = ANTHROPIC_MODEL,
) -> list[bytes]:
    message_id = f"msg_fake{next(_ids):016d}"
    events: list[JSON] = [
        {
            "type": "message_start",
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": input_tokens,
                    "cache_creation_input_tokens": cache_creation,
                    "cache_read_input_tokens": cache_read,
                    "output_tokens": 1,
                    "service_tier": "standard",
                },
            },
        }
    ]
    for index, block in enumerate(blocks):
        if isinstance(block, Text):
            start: JSON = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in block.pieces]
        elif isinstance(block, Thinking):
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": p} for p in block.pieces]
            deltas.append({"type": "signature_delta", "signature": block.signature})
        else:
            start = {"type": "tool_use", "id": block.id, "name": block.name, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": ""}]
            deltas += [{"type": "input_json_delta", "partial_json": f} for f in block.fragments]
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        if index == 0:
            events.append({"type": "ping"})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        }
    )
    events.append({"type": "message_stop"})
    return [anthropic_frame(e) for e in events]


def anthropic_reply(
    blocks: list[Text | Thinking | ToolUse],
    stop_reason: str = "end_turn",
    *,
    input_tokens: int = 12,
    output_tokens: int = 6,
    cache_read: int = 0,
    cache_creation: int = 0,
) -> Reply:
    frames = anthropic_frames(
        blocks,
        stop_reason,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read=cache_read,
        cache_creation=cache_creation,
    )
    return Reply(headers=anthropic_headers(), frames=frames)


def anthropic_text(pieces: list[str], *, input_tokens: int = 12, output_tokens: int = 6) -> Reply:
    return anthropic_reply([Text(pieces)], input_tokens=input_tokens, output_tokens=output_tokens)


def anthropic_error(status: int, message: str, *, type: str, **headers: str) -> Reply:
    body = {"type": "error", "error": {"type": type, "message": message}, "request_id": "req_x"}
    return Reply(
        status=status,
        headers={"Content-Type": "application/json", "request-id": "req_x", **headers},
        body=compact(body).encode(),
    )


# --- reading a model's Observable ---------------------------------------------------------------


@dataclass
class Collected:
    """Everything one subscription received."""

    parts: list[Any] = field(default_factory=list)
    error: BaseException | None = None
    completed: bool = False

    @property
    def types(self) -> list[str]:
        return [p.type for p in self.parts]

    @property
    def text(self) -> str:
        return "".join(p.delta for p in self.parts if p.type == "text-delta")

    @property
    def reasoning(self) -> str:
        return "".join(p.delta for p in self.parts if p.type == "reasoning-delta")

    def of(self, kind: str) -> list[Any]:
        return [p for p in self.parts if p.type == kind]


async def collect(observable: Any) -> Collected:
    """Subscribe and wait until the Observable completes or fails."""
    result = Collected()
    done = asyncio.get_running_loop().create_future()

    def on_error(error: BaseException) -> None:
        result.error = error
        done.set_result(None)

    def on_completed() -> None:
        result.completed = True
        done.set_result(None)

    subscription = observable.subscribe(result.parts.append, on_error, on_completed)
    try:
        await done
    finally:
        subscription.dispose()
    return result
