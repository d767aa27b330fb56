"""Notebook 08 runs top to bottom twice in one kernel, follows the notebook style, and never shows an answer key."""
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "08_checkpoint_review.ipynb"


def test_offers_every_quiz_mode():
    """(The course shape and clean commit are checked for every notebook in test_notebooks.py.)"""
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    text = ["".join(c["source"]) for c in nb["cells"]]
    assert "README.md#course-map" in text[1] and "07 · Memory and performance" in text[1]  # not written yet: named, not linked
    assert "".join(code[0]["source"]).strip() == "from lambdalab import quiz"
    sources = "\n".join(text)
    for call in ('quiz.checkpoint("08", types="text")', "quiz.practice_exam(", "quiz.review(", "quiz.show_progress()",
                 'quiz.checkpoint("08", types="choice")'):
        assert call in sources


@pytest.mark.notebook
def test_notebook_runs_twice_and_shows_no_answer_key(tmp_path, monkeypatch):
    from lambdalab.quiz.bank import load_bank
    from notebook_runner import outputs_text, run_notebook

    monkeypatch.setenv("LAMBDALAB_PROGRESS_DIR", str(tmp_path))  # the kernel inherits it
    nb = run_notebook(NOTEBOOK, twice=True, timeout=120)
    shown = outputs_text(nb)
    assert "{1: 6, 2: 5, 3: 5, 4: 4}" in shown and "'72% correct': 720" in shown
    widget_outputs = [o for c in nb.cells for o in c.get("outputs", [])
                      if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widget_outputs) >= 4
    progress_cell = next(c for c in nb.cells if "quiz.show_progress()" in c.source)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in progress_cell.outputs)
    # the saved widget state (what a reader of the saved notebook could see) holds no explanation or key
    state = json.dumps(nb.metadata.get("widgets", {})) + shown
    for q in load_bank():
        for text in list(q.explanations.values()) + ([q.explanation] if q.explanation else []):
            assert text[:50] not in state, f"{q.id}: explanation leaked into the notebook"
    assert "Expected answer" not in state and "Correct:" not in state
    assert not any(p.name.startswith("progress.sqlite.corrupt") for p in tmp_path.iterdir())
