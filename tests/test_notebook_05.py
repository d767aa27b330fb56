"""Notebook 05 runs top to bottom twice in one kernel and shows what it teaches."""
import json
import pathlib
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "05_eventbridge_rules.ipynb"


def test_has_its_diagram_callouts_every_operator_and_its_checkpoint():
    """(The course shape and clean commit are checked for every notebook in test_notebooks.py.)"""
    nb = json.loads(NOTEBOOK.read_text())
    sources = "\n".join("".join(c["source"]) for c in nb["cells"])
    assert "```mermaid" in sources and "> **On AWS:**" in sources and "> **Exam tip:**" in sources
    for operator in ('"prefix"', '"suffix"', '"equals-ignore-case"', '"wildcard"', '"anything-but"', '"numeric"',
                     '"exists"', '"cidr"', "[None]", '[""]', '"$or"', '"items": {'):
        assert operator in sources, operator
    assert "".join(nb["cells"][-1]["source"]).strip() == 'quiz.checkpoint("05_eventbridge_rules")'


@pytest.mark.notebook
def test_runs_twice_quickly_and_shows_the_worked_examples(tmp_path, monkeypatch):
    from notebook_runner import outputs_text, run_notebook

    monkeypatch.setenv("LAMBDALAB_PROGRESS_DIR", str(tmp_path))  # the kernel inherits it
    started = time.perf_counter()
    nb = run_notebook(NOTEBOOK, twice=True, timeout=180)
    elapsed = time.perf_counter() - started
    shown = outputs_text(nb)
    assert '"detail-type": "Order Placed"' in shown and '"account": "123456789012"' in shown
    assert 'detail.order-id: wanted prefix "o-10", got "o-2042"' in shown
    assert "none of the 2 $or alternatives matched" in shown
    assert "InvalidEventPatternException - Event pattern is not valid. Reason: Value of > must be numeric" in shown
    assert "2 deliveries, 2 invocations" in shown and "q4/big data.zip" in shown and "q3/notes.pdf" not in shown
    second_target = [line for line in shown.splitlines() if "full event for the first target" in line]
    assert "1 full event for the first target; [{'file': 's3://reports-inbox/q4/summary.zip', 'bytes': 4098}]" in shown, \
        second_target  # once seen failing in a loaded run, not reproduced: show what the cell printed
    assert "noon report ran 1 time(s); hourly clean-up ran 24 times" in shown
    assert '"detail-type": "Scheduled Event"' in shown and "rule/daily-report" in shown  # the event delivered
    assert "detail.customer.test-account: wanted false, got 0" in shown and "tiers [silver, gold]: matches" in shown
    assert "events:PutEvents" in shown and '"account": "111122223333"' in shown  # routed across accounts
    assert "stopped by the emulator after 25 invocations" in shown
    assert "rule enrich-orders (default) -> order-enricher: 1 deliveries, 1 invocations" in shown
    assert elapsed < 2 * 20 * 3  # twice, under 20 s a run with a wide margin for a loaded machine
