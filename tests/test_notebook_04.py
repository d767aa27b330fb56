"""Notebook 04 runs top to bottom twice in one kernel and shows what it teaches."""
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "04_kinesis_streams.ipynb"


def test_has_its_diagram_its_callouts_and_its_checkpoint():
    """(The course shape and clean commit are checked for every notebook in test_notebooks.py.)"""
    nb = json.loads(NOTEBOOK.read_text())
    sources = "\n".join("".join(c["source"]) for c in nb["cells"])
    assert "```mermaid" in sources and "> **On AWS:**" in sources and sources.count("> **Exam tip:**") >= 5
    assert "".join(nb["cells"][-1]["source"]).strip() == 'quiz.checkpoint("04_kinesis_streams")'
    assert "pg8000" in sources and "RDS Proxy" in sources and "Secrets Manager" in sources


@pytest.mark.notebook
def test_runs_twice_and_shows_the_pipeline(tmp_path, monkeypatch):
    from notebook_runner import outputs_text, run_notebook

    monkeypatch.setenv("LAMBDALAB_PROGRESS_DIR", str(tmp_path))  # the kernel inherits it
    nb = run_notebook(NOTEBOOK, twice=True, timeout=180)
    shown = outputs_text(nb)
    assert shown.count("database == ground truth: True") == 3
    assert "TRIM_HORIZON read 2 records; LATEST read 1" in shown
    assert '"data": "b2xk"' in shown and "data decoded: b'old'" in shown
    assert "every key in order: True" in shown and "up to 4 at once" in shown
    assert "counts unchanged: True" in shown and "all succeeded: True" in shown
    lines = {line.split("  ")[0]: line for line in shown.splitlines() if line[:2] in ("1 ", "2 ", "3 ")}
    assert "blocked shards 2" in lines["1 raise, defaults"] and "clicks counted 0 of" in lines["1 raise, defaults"]
    for design in ("2 report + retries + destination", "3 set aside in a queue"):
        counted = lines[design].split("clicks counted ")[1].split(" of ")
        assert counted[0] == counted[1], lines[design]
    assert "retries  0" in lines["3 set aside in a queue"]
    assert "sequence_number,user,session,page,ts,minute" in shown
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images == 6  # hash ranges, shard loads (even, hot), batching sweep, two timelines
