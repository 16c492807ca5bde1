"""What providers hand the HTTP layer: error bodies understood, secrets redacted."""

from __future__ import annotations

from rxagents.models._http_request import error_message, redact

# --- errors --------------------------------------------------------------------------------------


def test_error_message_understands_provider_error_bodies() -> None:
    openai = '{"error": {"message": "bad tool", "type": "invalid_request_error"}}'
    anthropic = '{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}'
    assert error_message(openai) == "bad tool (invalid_request_error)"
    assert error_message(anthropic) == "Overloaded (overloaded_error)"
    assert error_message('{"detail": "Not Found"}') == "Not Found"
    assert error_message("<html>") is None


def test_redact_removes_every_secret() -> None:
    assert redact("key sk-abc123 twice sk-abc123", ["sk-abc123"]) == (
        "key [redacted] twice [redacted]"
    )
