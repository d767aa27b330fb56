"""Notebook 01 (the event-driven model) and its helpers in lambdalab.event_model."""
import json
import pathlib
import time

import pytest

from lambdalab import clock, event_model

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "01_event_driven_model.ipynb"


def test_push_vs_poll_costs_follow_lambdas_prices():
    push, every_minute = event_model.push_vs_poll(10_000, [60], work_ms=200, check_ms=20, memory_mb=128)
    assert push.invocations == push.useful == 10_000 and push.mean_delay_s == 0
    # 10,000 x 0.2 s x 0.125 GB = 250 GB-s; plus 10,000 requests
    assert push.cost_usd == pytest.approx(250 * 0.0000166667 + 10_000 * 0.20 / 1e6)
    assert every_minute.invocations == 43_200 and every_minute.useful == 10_000 and every_minute.mean_delay_s == 30
    gb_s = (10_000 * 0.2 + 33_200 * 0.02) * 0.125
    assert every_minute.cost_usd == pytest.approx(gb_s * 0.0000166667 + 43_200 * 0.20 / 1e6)
    assert every_minute.cost_usd > push.cost_usd
    fig = event_model.plot_push_vs_poll([push, every_minute])
    assert [ax.get_title() for ax in fig.axes] == ["Lambda cost a month", "Invocations that found nothing"]
    assert all(ax.get_xlabel() for ax in fig.axes)


def test_a_poller_lists_the_bucket_and_finds_files_late(backend):
    from lambdalab import aws

    aws.client("s3").create_bucket(Bucket="poll-me")
    start = clock.now()
    run = event_model.poll_folder("poll-me", every_s=30, uploads={15: "a", 100: "b"}, duration_s=120)
    assert run.polls == 5 and run.empty_polls == 3 and sorted(run.delays_s) == [15, 20]
    assert clock.now() - start >= 150  # simulated time moved on, no real waiting
    again = event_model.poll_folder("poll-me", every_s=30, uploads={15: "a"}, duration_s=60)
    assert again.delays_s == [15]  # a second run sees its own files as new
    assert "5 polls, 3 found nothing; 2 files found on average 17.5 s" in str(run)


def test_side_by_side_shows_each_event_in_a_column():
    shown = event_model.side_by_side({"one": {"a": 1}, "two": {"b": list(range(50))}}, max_lines=10)
    html = shown._repr_html_()
    assert html.count("<pre") == 2 and "more lines" in html and "&quot;a&quot;: 1" in html
    assert "== one ==" in repr(shown)


def test_measure_latency_refuses_a_write_that_did_not_arrive_exactly_once():
    class Trigger:
        def drain(self):
            class Report:
                responses = []
            return Report()

    with pytest.raises(RuntimeError, match="reached the function 0 times"):
        event_model.measure_latency(lambda i: None, Trigger(), n=1)


def test_has_its_diagrams_callouts_trigger_table_and_checkpoint():
    nb = json.loads(NOTEBOOK.read_text())
    sources = "\n".join("".join(c["source"]) for c in nb["cells"])
    assert sources.count("```mermaid") == 2 and "> **On AWS:**" in sources and "> **Exam tip:**" in sources
    for term in ("**event**", "**event producer**", "**event router**", "**event consumer**", "**trigger**",
                 "**near real time**"):
        assert term in sources, term
    assert "[02 S3 file processing](02_s3_file_processing.ipynb)" in sources
    assert "".join(nb["cells"][-1]["source"]).strip() == 'quiz.checkpoint("01_event_driven_model")'


@pytest.mark.notebook
def test_runs_twice_quickly_and_shows_each_part_live(tmp_path, monkeypatch):
    from notebook_runner import outputs_text, run_notebook

    monkeypatch.setenv("LAMBDALAB_PROGRESS_DIR", str(tmp_path))  # the kernel inherits it
    started = time.perf_counter()
    nb = run_notebook(NOTEBOOK, twice=True, timeout=180)
    elapsed = time.perf_counter() - started
    shown = outputs_text(nb)
    assert '"detail-type": "Object Created"' in shown and '"key": "reports/march.csv"' in shown
    assert 'detail.object.key: wanted suffix ".zip", got "reports/march.csv"' in shown
    assert "REPORT RequestId:" in shown
    assert "polling every 30 s: 21 polls, 18 found nothing; 4 files found on average 11.0 s" in shown
    assert "s3://push-folder -> show-event: 4 deliveries, 4 invocations" in shown
    assert "rule charge-orders (default) -> charge-order: 2 deliveries, 4 invocations, 2 retries, 1 failed" in shown
    assert '"condition": "RetriesExhausted"' in shown and '"approximateInvokeCount": 3' in shown
    assert "on success: Success - charged 42.0 for o-1" in shown
    for shape in ("== S3 notification ==", '"eventSource": "aws:dynamodb"', '"eventSource": "aws:kinesis"',
                  '"detail-type": "Order Placed"'):
        assert shape in shown, shape
    assert "write -> handler start: median" in shown
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images == 1  # the push vs poll figure
    assert elapsed < 2 * 20 * 3  # twice, under 20 s a run with a wide margin for a loaded machine
