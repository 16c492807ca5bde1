"""The Vercel AI SDK v5 UI message stream: what ``useChat`` reads.

:func:`to_ai_sdk_v5_stream` turns an agent, workflow or network run into UI message chunks
(``start``, ``start-step``, ``text-*``, ``reasoning-*``, ``tool-*``, ``finish-step``, ``finish``,
``error``, ``abort`` and ``data-workflow`` / ``data-network`` parts);
:func:`encode_ui_message_stream` frames them as server-sent events ending with
``data: [DONE]``, with the headers in :data:`UI_MESSAGE_STREAM_HEADERS`.
:func:`to_ai_sdk_v5_messages` and :func:`from_ai_sdk_v5_messages` convert conversations to
and from ``UIMessage`` objects.

The agent mapping:

=================================== =========================================================
our chunk                           UI message chunk
=================================== =========================================================
``start``                           ``start {messageId}``
``step-start`` / ``step-finish``    ``start-step`` / ``finish-step`` (open parts closed first)
``text-*``, ``reasoning-*``         the same types, ``delta`` for the text, the model's ids
``tool-call-input-streaming-start`` ``tool-input-start {toolCallId, toolName}``
``tool-call-delta``                 ``tool-input-delta {toolCallId, inputTextDelta}``
``tool-call``                       ``tool-input-available {toolCallId, toolName, input}``
``tool-result``                     ``tool-output-available {toolCallId, output}``
``tool-error``                      ``tool-output-error {toolCallId, errorText}`` (the message)
``error``                           ``error {errorText}`` (open parts closed first)
``abort``                           ``abort`` (parts and step closed first; nothing after it)
``finish``                          ``finish {finishReason}`` (``"other"`` outside the v5 enum)
a data chunk (``writer.custom``)    ``{type, data, id?, transient?}`` (``data-*`` with data only)
``tool-output`` of a ``data-*``     ``{type, data, id?}``; other tool output is dropped, unless
                                    ``sub_agents=True`` shows nested runs (bounded
                                    ``data-tool-agent-*`` parts)
=================================== =========================================================

Unlike Mastra's own conversion, every part that is started is ended, also for networks, so the
stream passes the AI SDK's strict checks. ``dynamic`` is never sent.

Example:
    >>> from reactivex import operators as ops  # doctest: +SKIP
    >>> ui = to_ai_sdk_v5_stream(agent.observe("Hi"))  # doctest: +SKIP
    >>> body = encode_ui_message_stream(ui)  # Observable[bytes]  # doctest: +SKIP
"""

from rxagents.adapters.ai_sdk._convert import DONE as DONE
from rxagents.adapters.ai_sdk._convert import UI_MESSAGE_STREAM_HEADERS as UI_MESSAGE_STREAM_HEADERS
from rxagents.adapters.ai_sdk._convert import encode_ui_message_chunk as encode_ui_message_chunk
from rxagents.adapters.ai_sdk._convert import encode_ui_message_stream as encode_ui_message_stream
from rxagents.adapters.ai_sdk._convert import from_ai_sdk_v5_messages as from_ai_sdk_v5_messages
from rxagents.adapters.ai_sdk._convert import to_ai_sdk_v5_messages as to_ai_sdk_v5_messages
from rxagents.adapters.ai_sdk._convert import to_ai_sdk_v5_stream as to_ai_sdk_v5_stream
from rxagents.adapters.ai_sdk._messages import UIMessage as UIMessage
from rxagents.adapters.ai_sdk._stream import V5_FINISH_REASONS as V5_FINISH_REASONS
from rxagents.adapters.ai_sdk._stream import AiSdkSource as AiSdkSource
from rxagents.adapters.ai_sdk._stream import UIMessageChunk as UIMessageChunk

__all__ = (
    "DONE",
    "UI_MESSAGE_STREAM_HEADERS",
    "V5_FINISH_REASONS",
    "AiSdkSource",
    "UIMessage",
    "UIMessageChunk",
    "encode_ui_message_chunk",
    "encode_ui_message_stream",
    "from_ai_sdk_v5_messages",
    "to_ai_sdk_v5_messages",
    "to_ai_sdk_v5_stream",
)
