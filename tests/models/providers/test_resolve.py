"""Model strings and the environment: resolve_model and default_model."""

from __future__ import annotations

import pytest

from rxagents.errors import ConfigurationError
from rxagents.models import LanguageModel
from rxagents.models._resolve import default_model, resolve_model
from rxagents.models.providers import AnthropicModel, OpenAIChatModel


def test_openai_model_string_reads_key_and_base_url() -> None:
    env = {"OPENAI_API_KEY": "sk-1", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    model = resolve_model("openai/gpt-4o-mini", env=env)
    assert isinstance(model, OpenAIChatModel)
    assert (model.provider, model.model_id, model.base_url) == (
        "openai",
        "gpt-4o-mini",
        "http://127.0.0.1:9/v1",
    )


def test_anthropic_model_string_reads_key_and_base_url() -> None:
    env = {"ANTHROPIC_API_KEY": "sk-ant", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}
    model = resolve_model("anthropic/claude-haiku-4-5", env=env)
    assert isinstance(model, AnthropicModel)
    assert (model.provider, model.model_id) == ("anthropic", "claude-haiku-4-5")


def test_model_ids_may_contain_slashes() -> None:
    model = resolve_model("openrouter/anthropic/claude-haiku-4.5", env={"OPENROUTER_API_KEY": "k"})
    assert model.model_id == "anthropic/claude-haiku-4.5"
    assert isinstance(model, OpenAIChatModel)
    assert model.base_url == "https://openrouter.ai/api/v1"


def test_local_servers_need_no_key() -> None:
    model = resolve_model("ollama/llama3.2", env={})
    assert isinstance(model, OpenAIChatModel)
    assert model.base_url == "http://localhost:11434/v1"
    assert model.provider == "ollama"


def test_any_name_with_a_base_url_is_an_openai_compatible_server() -> None:
    model = resolve_model("my-proxy/some-model", env={"MY_PROXY_BASE_URL": "http://127.0.0.1:7/v1"})
    assert isinstance(model, OpenAIChatModel)
    assert (model.provider, model.base_url) == ("my-proxy", "http://127.0.0.1:7/v1")


def test_a_hosted_provider_behind_a_proxy_needs_no_key() -> None:
    model = resolve_model("openai/gpt-4o-mini", env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert isinstance(model, OpenAIChatModel)


@pytest.mark.parametrize(
    ("spec", "env", "message"),
    [
        ("openai/gpt-4o-mini", {}, "set OPENAI_API_KEY"),
        ("anthropic/claude-haiku-4-5", {}, "set ANTHROPIC_API_KEY"),
        ("groq/llama-3.3-70b", {"GROQ_API_KEY": " "}, "set GROQ_API_KEY"),
        ("mystery/model", {}, "unknown model provider 'mystery'.*MYSTERY_BASE_URL"),
        ("gpt-4o-mini", {}, "'provider/model'"),
        ("openai/", {}, "'provider/model'"),
    ],
)
def test_bad_model_strings_raise_clear_configuration_errors(
    spec: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        resolve_model(spec, env=env)


def test_explicit_arguments_override_the_environment() -> None:
    model = resolve_model(
        "anthropic/claude-haiku-4-5", env={}, api_key="sk-x", base_url="http://127.0.0.1:9/"
    )
    assert isinstance(model, AnthropicModel)
    assert model.base_url == "http://127.0.0.1:9"


def test_default_model_is_none_unless_configured() -> None:
    assert default_model({}) is None
    assert default_model({"RXAGENTS_MODEL": "openai/gpt-4o-mini"}) is None  # no key


def test_default_model_returns_the_configured_provider() -> None:
    env = {"RXAGENTS_MODEL": "anthropic/claude-haiku-4-5", "ANTHROPIC_API_KEY": "sk-ant"}
    model = default_model(env)
    assert isinstance(model, AnthropicModel)


def test_default_model_refuses_a_misspelt_provider() -> None:
    with pytest.raises(ConfigurationError, match="unknown model provider"):
        default_model({"RXAGENTS_MODEL": "opnai/gpt-4o-mini"})


def test_default_model_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RXAGENTS_MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    model = default_model()
    assert isinstance(model, OpenAIChatModel)
    assert "sk-env" not in repr(model)


@pytest.mark.parametrize("spec", ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"])
def test_resolved_models_are_language_models(spec: str) -> None:
    model = resolve_model(spec, env={"OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k"})
    assert isinstance(model, LanguageModel)
    assert model.specification_version == "v2"
