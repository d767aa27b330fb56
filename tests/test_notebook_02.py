"""Notebook 02 runs top to bottom twice in one kernel and shows what it teaches."""
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "02_s3_file_processing.ipynb"


def test_has_its_diagram_its_moto_callouts_and_its_checkpoint():
    """(The course shape and clean commit are checked for every notebook in test_notebooks.py.)"""
    nb = json.loads(NOTEBOOK.read_text())
    sources = "\n".join("".join(c["source"]) for c in nb["cells"])
    assert "```mermaid" in sources and "> **On AWS:**" in sources
    assert "".join(nb["cells"][-1]["source"]).strip() == 'quiz.checkpoint("02_s3_file_processing")'


@pytest.mark.notebook
def test_runs_twice_and_shows_the_worked_example(tmp_path, monkeypatch):
    from notebook_runner import outputs_text, run_notebook

    monkeypatch.setenv("LAMBDALAB_PROGRESS_DIR", str(tmp_path))  # the kernel inherits it
    nb = run_notebook(NOTEBOOK, twice=True, timeout=180)
    shown = outputs_text(nb)
    assert '"key": "photos/vacation.jpg"' in shown  # the event, pretty-printed
    assert "REPORT RequestId:" in shown and "THUMBNAIL s3://input-bucket/photos/vacation.jpg" in shown
    assert "decompression bomb" in shown and "not an image Pillow can read" in shown
    assert "'my+vacation+photo+%281%29.jpg'" in shown and "NoSuchKey" in shown and "RetriesExhausted" in shown
    assert "recursive loop" in shown and "16 invocations" in shown
    stderr = [o["text"] for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert not any("recursive loop" in text for text in stderr), "the expected loop-stop message is not an error"
    assert "thumbnails/uploads/thumb-vacation.jpg" in shown
    assert "2nd (warm):     ['a.jpg', 'b.jpg']" in shown and "after update:   ['c.jpg']" in shown
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images == 2  # the before and after figures
