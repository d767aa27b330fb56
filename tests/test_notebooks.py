"""Every notebook runs top to bottom on a fresh kernel and again in the same kernel, and is committed clean."""
import json
import pathlib
import re

import pytest

from notebook_runner import outputs_text, run_notebook

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ALL = NOTEBOOKS + sorted((ROOT / "labs").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_without_outputs_and_well_named(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, f"{path.name}: strip outputs"
            assert "input(" not in "".join(cell["source"]), f"{path.name}: notebooks must not ask for input"
    assert re.match(r"^(\d\d_[a-z0-9_]+|lab\d\d_[a-z0-9_]+)\.ipynb$", path.name)


# Links (between notebooks, into labs, to the README) are checked in test_links.py.


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_has_the_course_shape(path):
    """NOTEBOOK-STYLE.md: title, objectives, setup, ..., Summary, then the section's checkpoint as the last cell."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    text = ["".join(c["source"]) for c in nb["cells"]]
    assert text[0].startswith(f"# {path.name[:2]}"), "the first cell is the title, starting with the number"
    assert "README.md#course-map" in "\n".join(text[:2]), "a navigation line near the top, with the course map"
    headings = [t.splitlines()[0] for t in text if t.startswith("## ")]
    assert "## Objectives" in headings and "## Setup" in headings
    assert headings[-2:] == ["## Summary", "## Checkpoint"]
    assert "quiz.checkpoint(" in text[-1] and nb["cells"][-1]["cell_type"] == "code"
    assert "> **Exam tip:**" in "\n".join(text), "at least one exam tip callout"


def test_notebook_00_runs_twice_and_shows_a_report_line():
    nb = run_notebook(ROOT / "notebooks" / "00_start_here.ipynb")
    text = outputs_text(nb)
    assert re.search(r"REPORT RequestId: [0-9a-f-]{36}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms", text)
    assert "Init Duration" in text and "cold start: True then False" in text
    assert "moto" in text
    assert "packages compared with requirements.lock" in text  # the environment check reads the lock
