"""Notebook 03 runs top to bottom twice in one kernel and shows the audit pipeline, its flows and its failures."""
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "03_dynamodb_streams.ipynb"


def test_has_its_diagrams_its_moto_callouts_and_its_checkpoint():
    """(The course shape and clean commit are checked for every notebook in test_notebooks.py.)"""
    nb = json.loads(NOTEBOOK.read_text())
    sources = "\n".join("".join(c["source"]) for c in nb["cells"])
    assert sources.count("```mermaid") == 2 and sources.count("> **On AWS:**") >= 4
    assert "](04_kinesis_streams.ipynb)" in sources and "](../labs/lab02_stream_audit.ipynb)" in sources
    assert "".join(nb["cells"][-1]["source"]).strip() == 'quiz.checkpoint("03_dynamodb_streams")'


@pytest.mark.notebook
def test_runs_twice_and_shows_the_pipeline_end_to_end(tmp_path, monkeypatch):
    from notebook_runner import outputs_text, run_notebook

    monkeypatch.setenv("LAMBDALAB_PROGRESS_DIR", str(tmp_path))  # the kernel inherits it
    nb = run_notebook(NOTEBOOK, twice=True, timeout=180)
    shown = outputs_text(nb)
    assert "Keys + OldImage + NewImage (67 B)" in shown and "<td>Keys (4 B)</td>" in shown  # the four view types
    assert shown.count("<td>INSERT</td><td>id=u1</td>") == 1  # three records for four writes
    assert '"eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/' in shown
    assert "email_change" in shown and "Please verify your new email address" in shown
    assert shown.count("[duplicate delivery]") == 5 and "5 audit entries, 3 emails sent, 0 new messages" in shown
    assert "'sent_verification_email'" in shown
    assert "3 batches at once; each user's steps in order: True" in shown
    assert "37 records read, 35 filtered out, 2 delivered in 1 invocation(s)" in shown
    assert "1 record(s) discarded, never delivered: RecordAgeExceeded" in shown
    assert "BLOCKED after 4 attempts" in shown and "'batchSize': 5" in shown
    assert "1 of big's 3 changes audited" in shown  # the change held back behind the poison record is discarded
    assert "<td>REMOVE</td><td>admin</td>" in shown  # who: the last writer in the old image, not the deleter
    assert "<td>dynamodb.amazonaws.com</td>" in shown
    assert shown.count("'status': 'COMPLETED'") == 2  # Powertools' idempotency records
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images == 3  # the parallel, blocked and bounded timelines
