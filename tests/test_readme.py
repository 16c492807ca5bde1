"""The README's Python snippets run, and print exactly the output shown after them."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).parent.parent / "README.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def snippets() -> list[tuple[str, str | None]]:
    blocks = [
        (m.group(1), m.group(2), m.end(), m.start()) for m in BLOCK.finditer(README.read_text())
    ]
    pairs: list[tuple[str, str | None]] = []
    for i, (lang, code, end, _) in enumerate(blocks):
        if lang != "python":
            continue
        expected = None
        if i + 1 < len(blocks):
            next_lang, next_code, _, next_start = blocks[i + 1]
            between = README.read_text()[end:next_start]
            if next_lang == "text" and not between.strip():
                expected = next_code
        pairs.append((code, expected))
    return pairs


def test_readme_has_snippets() -> None:
    assert len(snippets()) >= 3


@pytest.mark.timeout(120)
def test_readme_snippets_print_what_the_readme_shows(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_dsn)  # the "many machines" snippet's database
    namespace: dict[str, Any] = {"__name__": "readme"}
    for index, (code, expected) in enumerate(snippets()):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"README snippet {index}", "exec"), namespace)
        if expected is not None:
            assert out.getvalue() == expected, f"README snippet {index} printed:\n{out.getvalue()}"
