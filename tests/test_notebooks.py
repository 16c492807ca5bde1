"""Every notebook executes top to bottom (deterministic: embedded models, loopback servers).

A notebook passes only when no cell errs, nothing is written to stderr (a warning or a log line
there is a problem a reader would see), and the lines that carry its point are printed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))

KEY_LINES = {
    "01_agent_streaming": [
        "reduce_usage: Usage(input_tokens=45, output_tokens=13, total_tokens=58)",
        "to_text: 'It is 21°C in Paris.'",
    ],
    "02_providers": ["It is 21°C in Paris.", "caller's session still open: True"],
    "03_workflows": ["result: {'n': 42}", "still: suspended"],
    "04_networks": [
        "assistant tool word_count -> 3",
        "False | there is no agent 'reporter'; the agents are: research",
        "max-steps | Max iterations reached: 2",
    ],
    "05_serving": [
        "success {'item': 'a kayak: bought'}",
        "id: 0",
        "re-attached: It is 21°C in Paris.",
        "stopped",
    ],
    "06_human_in_the_loop": [
        "assistant: Sent 50 EUR.",
        "what the model saw: {'type': 'text', 'value': 'Over the daily limit'}",
        "tool result: {'order': 'a kayak', 'to': '1 Harbour Road', 'express': True}",
        "second process: tool-result {'paid': 120} | Paid 120 EUR.",
        "suspended runs left: 0",
    ],
    "07_tools_that_stream": [
        "data chunk: {'type': 'data-import', 'data': {'status': 'ok'}, 'id': 'imp'}",
        "nested text: Bonjour le monde",
        "usage: 49 | reduce_usage: 49",
        "the supervisor's model saw: {'type': 'text', 'value': 'Dolphins sleep with one half "
        "of the brain at a time.'}",
        "approval asked for: refund {'order': 'A-17'} on call c1",
        "after approval: Your refund is done.",
    ],
}
"""Lines each notebook must print (its point), checked in its stdout."""


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebooks found"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    outputs = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    ]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors
    stderr = "".join(o["text"] for o in outputs if o.get("name") == "stderr")
    assert stderr == "", f"{path.name} wrote to stderr:\n{stderr}"
    stdout = "".join(o["text"] for o in outputs if o.get("name") == "stdout")
    for line in KEY_LINES[path.stem]:
        assert line in stdout.splitlines(), f"{path.name} did not print {line!r}"
