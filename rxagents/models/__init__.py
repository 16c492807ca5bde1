"""Language models: the protocols, model parts, and the embedded deterministic models.

``ScriptedModel`` and ``FunctionModel`` need no network or API key; they are the default for
demos, notebooks and tests. ``OpenAIChatModel`` and ``AnthropicModel`` stream real models over
aiohttp with a tenacity retry policy (``RetryPolicy``); ``resolve_model("openai/gpt-4o-mini")``
builds one from a model string and the usual environment variables.

Providers and ``RemoteAgent`` share one ``aiohttp.ClientSession`` per event loop, whose pool
holds at most 1,000 connections, 500 to one host (``ConnectionLimits``); change that with
``set_connection_limits(ConnectionLimits(total=..., per_host=...))`` before the first request,
or pass your own session as ``session=`` (it is used as it is and never closed by rxagents).
"""

from rxagents._core.http import ConnectionLimits as ConnectionLimits
from rxagents._core.http import RetryPolicy as RetryPolicy
from rxagents._core.http import close_shared_session as close_shared_session
from rxagents._core.http import set_connection_limits as set_connection_limits
from rxagents.models._parts import FinishPart as FinishPart
from rxagents.models._parts import ModelErrorPart as ModelErrorPart
from rxagents.models._parts import ModelPart as ModelPart
from rxagents.models._parts import ReasoningDeltaPart as ReasoningDeltaPart
from rxagents.models._parts import ReasoningEndPart as ReasoningEndPart
from rxagents.models._parts import ReasoningStartPart as ReasoningStartPart
from rxagents.models._parts import ResponseMetadataPart as ResponseMetadataPart
from rxagents.models._parts import StreamStartPart as StreamStartPart
from rxagents.models._parts import TextDeltaPart as TextDeltaPart
from rxagents.models._parts import TextEndPart as TextEndPart
from rxagents.models._parts import TextStartPart as TextStartPart
from rxagents.models._parts import ToolCallPart as ToolCallPart
from rxagents.models._parts import ToolInputDeltaPart as ToolInputDeltaPart
from rxagents.models._parts import ToolInputEndPart as ToolInputEndPart
from rxagents.models._parts import ToolInputStartPart as ToolInputStartPart
from rxagents.models._parts import V1ErrorPart as V1ErrorPart
from rxagents.models._parts import V1FinishPart as V1FinishPart
from rxagents.models._parts import V1ModelPart as V1ModelPart
from rxagents.models._parts import V1TextDeltaPart as V1TextDeltaPart
from rxagents.models._parts import V1ToolCallPart as V1ToolCallPart
from rxagents.models._parts import V1Usage as V1Usage
from rxagents.models._parts import parse_part as parse_part
from rxagents.models._parts import parse_v1_part as parse_v1_part
from rxagents.models._protocol import MODEL_SETTINGS as MODEL_SETTINGS
from rxagents.models._protocol import LanguageModel as LanguageModel
from rxagents.models._protocol import LanguageModelV1 as LanguageModelV1
from rxagents.models._protocol import Message as Message
from rxagents.models._protocol import ModelCall as ModelCall
from rxagents.models._protocol import ToolChoice as ToolChoice
from rxagents.models._protocol import ToolSpec as ToolSpec
from rxagents.models._protocol import check_settings as check_settings
from rxagents.models._resolve import default_model as default_model
from rxagents.models._resolve import resolve_model as resolve_model
from rxagents.models._scripted import FunctionModel as FunctionModel
from rxagents.models._scripted import ScriptedModel as ScriptedModel
from rxagents.models._scripted import ScriptedModelV1 as ScriptedModelV1
from rxagents.models._scripted_router import RouterCall as RouterCall
from rxagents.models._scripted_router import ScriptedRouter as ScriptedRouter
from rxagents.models.providers import AnthropicModel as AnthropicModel
from rxagents.models.providers import OpenAIChatModel as OpenAIChatModel

__all__ = (
    "MODEL_SETTINGS",
    "AnthropicModel",
    "ConnectionLimits",
    "FinishPart",
    "FunctionModel",
    "LanguageModel",
    "LanguageModelV1",
    "Message",
    "ModelCall",
    "ModelErrorPart",
    "ModelPart",
    "OpenAIChatModel",
    "ReasoningDeltaPart",
    "ReasoningEndPart",
    "ReasoningStartPart",
    "ResponseMetadataPart",
    "RetryPolicy",
    "RouterCall",
    "ScriptedModel",
    "ScriptedModelV1",
    "ScriptedRouter",
    "StreamStartPart",
    "TextDeltaPart",
    "TextEndPart",
    "TextStartPart",
    "ToolCallPart",
    "ToolChoice",
    "ToolInputDeltaPart",
    "ToolInputEndPart",
    "ToolInputStartPart",
    "ToolSpec",
    "V1ErrorPart",
    "V1FinishPart",
    "V1ModelPart",
    "V1TextDeltaPart",
    "V1ToolCallPart",
    "V1Usage",
    "check_settings",
    "close_shared_session",
    "default_model",
    "parse_part",
    "parse_v1_part",
    "resolve_model",
    "set_connection_limits",
)
