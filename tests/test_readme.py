"""The README's Python blocks run as a user runs them, and print exactly what the README shows.

Each block runs in its own interpreter (``sys.executable``) in a fresh temporary directory,
outside this project's pytest configuration: hypothesis runs with its default settings, health
checks and a fresh database, as in a user's first property test. The only help is the package on
``sys.path`` as an installed one is: a ``site-packages`` directory holding ``rxagents`` (a link to
the package under test). That matters to hypothesis, which scans the source of every module it
takes for the user's own (not in ``site-packages``) for constants during the first draws: for
the ~90 modules of an editable ``rxagents`` that takes about 0.4 s of the 1 s the health check
allows, enough to fail it on a machine loaded several times over.

A block may use what earlier blocks defined, as a reader running them in order would: the
earlier blocks run first in the same interpreter, their output discarded. A block followed
directly by a ```text block must print exactly that text, and no block may write to stderr. The
blocks run concurrently, one per core.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

import rxagents

README = Path(__file__).parent.parent / "README.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)
HEADING = re.compile(r"^## (.+)$", re.MULTILINE)
PACKAGE = Path(rxagents.__file__).resolve().parent
# Only what an interpreter needs from the environment: no CI markers (hypothesis would load its
# CI profile, which relaxes the health checks), no pytest or hypothesis variables, no API keys.
KEPT_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "SYSTEMROOT")
RUNNER = """
import contextlib, os, runpy, sys

namespace = {}
*earlier, block = sys.argv[1:]
for path in earlier:
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        namespace = runpy.run_path(path, init_globals=namespace, run_name="__main__")
runpy.run_path(block, init_globals=namespace, run_name="__main__")
"""


@dataclass(frozen=True)
class Snippet:
    """One python block of the README and the output shown after it (if any)."""

    name: str
    code: str
    expected: str | None


@dataclass(frozen=True)
class Run:
    """What a block printed when it ran."""

    returncode: int
    stdout: str
    stderr: str


def snippets() -> list[Snippet]:
    text = README.read_text(encoding="utf-8")
    headings = [(m.start(), m.group(1)) for m in HEADING.finditer(text)]
    blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in BLOCK.finditer(text)]
    found: list[Snippet] = []
    for i, (lang, code, start, end) in enumerate(blocks):
        if lang != "python":
            continue
        expected = None
        if i + 1 < len(blocks):
            next_lang, next_code, next_start, _ = blocks[i + 1]
            if next_lang == "text" and not text[end:next_start].strip():
                expected = next_code
        section = next((title for at, title in reversed(headings) if at < start), "top")
        slug = re.sub(r"[^a-z0-9]+", "-", section.lower()).strip("-")
        found.append(Snippet(f"{len(found)}-{slug}", code, expected))
    return found


SNIPPETS = snippets()


def run_snippet(index: int, directory: Path, site_packages: Path) -> Run:
    paths = []
    for k, snippet in enumerate(SNIPPETS[: index + 1]):
        path = directory / f"readme_block_{k}.py"
        path.write_text(snippet.code, encoding="utf-8")
        paths.append(path.name)
    env = {key: os.environ[key] for key in KEPT_ENVIRONMENT if key in os.environ}
    env["PYTHONPATH"] = str(site_packages)
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, *paths],
        cwd=directory,
        env=env,
        capture_output=True,
        encoding="utf-8",
        timeout=100,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    site_packages = tmp_path_factory.mktemp("installed") / "site-packages"
    site_packages.mkdir()
    (site_packages / "rxagents").symlink_to(PACKAGE, target_is_directory=True)
    directories = [tmp_path_factory.mktemp(f"readme-{s.name}") for s in SNIPPETS]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        run_one = partial(run_snippet, site_packages=site_packages)
        results = list(pool.map(run_one, range(len(SNIPPETS)), directories))
    return {snippet.name: run for snippet, run in zip(SNIPPETS, results, strict=True)}


def test_readme_has_snippets() -> None:
    assert len(SNIPPETS) >= 3
    assert any("@given" in snippet.code for snippet in SNIPPETS)  # the testing kit's


@pytest.mark.timeout(120)
@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.name for s in SNIPPETS])
def test_readme_snippet_prints_what_the_readme_shows(
    snippet: Snippet, runs: dict[str, Run]
) -> None:
    run = runs[snippet.name]
    assert run.returncode == 0, f"README block {snippet.name} failed:\n{run.stderr}"
    assert run.stderr == "", f"README block {snippet.name} wrote to stderr:\n{run.stderr}"
    if snippet.expected is not None:
        assert run.stdout == snippet.expected, f"README block {snippet.name} printed:\n{run.stdout}"
