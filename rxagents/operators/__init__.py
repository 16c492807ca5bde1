"""Operators for chunk streams: each returns a function for ``Observable.pipe``.

They take typed chunks (for wire dicts, ``ops.map(parse_chunk)`` first) and compose with
reactivex's own operators. Each keeps its state per subscription, forwards errors and
completion, and passes disposal upstream, so leaving a stream early cancels the work behind it.

========================  ============================================================
``prefix_events``         wrap each chunk whole as ``<prefix><type>`` (network events)
``unwrap_events``         the inverse: inner chunks of one prefix, others dropped
``unwrap_tool_output``    nested runs' chunks out of ``tool-output`` (sub-agents, piped runs)
``filter_type``           keep chunk types by exact name or ``*`` pattern
``reduce_usage``          one :class:`~rxagents.usage.Usage` on completion, each call once
``usage_of``              the per-chunk function ``reduce_usage`` folds with
``text_deltas``           the text of ``text-delta`` chunks
``to_text``               all that text joined, on completion
``buffer_text``           text deltas batched by time and size, the first one at once
``idle_timeout``          fail with ``IdleTimeoutError`` when the stream goes quiet
========================  ============================================================

Example:
    >>> import reactivex
    >>> from rxagents.events import TextDelta, TextDeltaPayload
    >>> from rxagents.operators import filter_type, prefix_events, to_text
    >>> chunks = [TextDelta(run_id="a", payload=TextDeltaPayload(id="t", text=text))
    ...           for text in ("Hel", "lo")]
    >>> out = []
    >>> _ = reactivex.from_iterable(chunks).pipe(
    ...     prefix_events("agent-execution-event-"),
    ...     filter_type("agent-execution-event-*"),
    ...     to_text(include_wrapped=True),
    ... ).subscribe(out.append)
    >>> out
    ['Hello']
"""

from ._buffer_text import buffer_text as buffer_text
from ._filter_type import filter_type as filter_type
from ._idle_timeout import idle_timeout as idle_timeout
from ._prefix_events import prefix_events as prefix_events
from ._prefix_events import wrap_chunk as wrap_chunk
from ._reduce_usage import reduce_usage as reduce_usage
from ._reduce_usage import usage_of as usage_of
from ._text_deltas import text_deltas as text_deltas
from ._to_text import to_text as to_text
from ._unwrap_events import unwrap_events as unwrap_events
from ._unwrap_tool_output import unwrap_tool_output as unwrap_tool_output

__all__ = (
    "buffer_text",
    "filter_type",
    "idle_timeout",
    "prefix_events",
    "reduce_usage",
    "text_deltas",
    "to_text",
    "unwrap_events",
    "unwrap_tool_output",
    "usage_of",
    "wrap_chunk",
)
