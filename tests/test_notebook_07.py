"""Notebook 07 (memory and performance): runs twice in one kernel and shows the curve, the strategies, an
out-of-memory row, cold starts, arm64 prices and 1 ms billing, from real invocations at Lambda's CPU share."""
import json
import pathlib
import re
import time

import pytest

NOTEBOOK = pathlib.Path(__file__).resolve().parent.parent / "notebooks" / "07_memory_and_performance.ipynb"


def test_ends_with_its_checkpoint_and_says_what_moto_and_this_machine_cannot_do():
    nb = json.loads(NOTEBOOK.read_text())
    sources = "\n".join("".join(c["source"]) for c in nb["cells"])
    assert "".join(nb["cells"][-1]["source"]).strip() == 'quiz.checkpoint("07_memory_and_performance")'
    assert "> **On AWS:**" in sources and "Step Functions" in sources and "Graviton" in sources
    assert "Bite-Sized Serverless" in sources and "not an AWS promise" in sources  # INIT: a measured observation
    assert "moto answers inside this kernel" in sources  # why the I/O-bound curve is steeper here than on AWS


@pytest.mark.notebook
def test_runs_twice_and_shows_the_curve(tmp_path, monkeypatch):
    from notebook_runner import outputs_text, run_notebook

    monkeypatch.setenv("LAMBDALAB_PROGRESS_DIR", str(tmp_path))
    started = time.perf_counter()
    nb = run_notebook(NOTEBOOK, twice=True, timeout=240)
    elapsed = time.perf_counter() - started
    shown = outputs_text(nb)
    (reports,) = [c for c in nb.cells if c.get("id") == "nb07-reports"]
    printed = "".join(o.get("text", "") for o in reports.outputs)
    durations = {int(size): float(ms) for ms, size in re.findall(
        r"REPORT RequestId: \S+\tDuration: (\d+\.\d\d) ms\tBilled Duration: \d+ ms\tMemory Size: (\d+) MB", printed)}
    assert set(durations) >= {128, 1769}
    assert durations[128] > 4 * durations[1769]  # the CPU share at work (13.8x for the CPU part; S3 I/O is not slowed)
    assert re.search(r"    cost: +\d+ MB", shown) and re.search(r"   speed: +\d+ MB", shown)
    assert re.search(r"balanced: +\d+ MB", shown)
    assert "1/1: out of memory" in shown and "signal: killed" in shown and "Max Memory Used: 128 MB" in shown
    assert re.search(r"128 MB: Init Duration +\d+\.\d ms", shown)
    assert "client_in_handler: [" in shown and "client_reused: [" in shown
    assert "in 100 ms steps: 100 ms" in shown
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images == 3  # the curve, the two functions compared, x86_64 against arm64
    assert elapsed < 200, f"two runs took {elapsed:.0f} s"  # ~10-20 s each; generous for a busy machine
