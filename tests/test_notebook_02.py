"""Notebook 02 runs top to bottom twice in one kernel and shows what it teaches."""
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "02_s3_file_processing.ipynb"


def test_committed_clean_and_in_the_course_shape():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    text = ["".join(c["source"]) for c in nb["cells"]]
    assert text[0].startswith("# 02") and "README.md#course-map" in text[1]
    headings = [t.splitlines()[0] for t in text if t.startswith("## ")]
    assert headings[0] == "## Objectives" and headings[1] == "## Setup" and headings[-2:] == ["## Summary", "## Checkpoint"]
    assert "".join(code[-1]["source"]).strip() == 'quiz.checkpoint("02_s3_file_processing")'
    sources = "\n".join(text)
    assert "```mermaid" in sources and "> **Exam tip:**" in sources and "> **On AWS:**" in sources
    assert "input(" not in sources


@pytest.mark.notebook
def test_runs_twice_and_shows_the_worked_example(tmp_path, monkeypatch):
    from notebook_runner import outputs_text, run_notebook

    monkeypatch.setenv("LAMBDALAB_PROGRESS_DIR", str(tmp_path))  # the kernel inherits it
    nb = run_notebook(NOTEBOOK, twice=True, timeout=180)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    shown = outputs_text(nb)
    assert '"key": "photos/vacation.jpg"' in shown  # the event, pretty-printed
    assert "REPORT RequestId:" in shown and "THUMBNAIL s3://input-bucket/photos/vacation.jpg" in shown
    assert "decompression bomb" in shown and "not an image Pillow can read" in shown
    assert "'my+vacation+photo+%281%29.jpg'" in shown and "NoSuchKey" in shown and "RetriesExhausted" in shown
    assert "recursive loop" in shown and "16 invocations" in shown
    assert "thumbnails/uploads/thumb-vacation.jpg" in shown
    assert "2nd (warm):     ['a.jpg', 'b.jpg']" in shown and "after update:   ['c.jpg']" in shown
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images == 2  # the before and after figures
