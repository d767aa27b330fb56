"""Benchmark: 10,000 clicks through the whole clickstream path into SQLite, beside the engine's no-op rate.

The producer puts 10,000 clicks (2 % malformed) on a 4-shard stream. The whole path is
``connect_kinesis(...).drain()`` into the real clickstream function: reading, Lambda events, the runtime's workers,
decoding and validating every record, one SQLite transaction per batch (counts plus applied records), malformed
records sent to an SQS queue, checkpointing. The no-op rate is the same drain into a function that does nothing.
BatchSize 100, ParallelizationFactor 1; median of 3 runs each, interleaved, warm workers; each clickstream run loads
into a new database file. Every run checks the database against the producer's ground truth.

Run: .venv/bin/python benchmarks/bench_clickstream.py
"""
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lambdalab import aws, database, producer
from lambdalab.runtime import LambdaFunction, flush_logs
from lambdalab.triggers import connect_kinesis

CLICKS, SHARDS, BATCH_SIZE, RUNS = 10_000, 4, 100, 3
STREAM = "bench-clickstream"
TARGET = 0.25  # the whole path at least a quarter of the no-op rate


def noop(event, context):
    return None


def drain_seconds(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = connect_kinesis(STREAM, function, batch_size=BATCH_SIZE,
                             function_response_types=["ReportBatchItemFailures"]).drain()
    flush_logs()
    elapsed = time.perf_counter() - started
    assert result.ok and result.processed == CLICKS, result
    return elapsed, result


def main() -> int:
    aws.start()
    aws.client("kinesis").create_stream(StreamName=STREAM, ShardCount=SHARDS)
    queue = aws.client("sqs").create_queue(QueueName="bench-malformed")["QueueUrl"]
    truth = producer.send_clicks(STREAM, CLICKS, users=500, rate_per_s=1000, malformed=0.02, seed=1)
    folder = Path(tempfile.mkdtemp(prefix="bench-clickstream-"))
    noop_fn = LambdaFunction("bench-noop", noop)
    loader = LambdaFunction("bench-clickstream", "lambdalab.handlers.clickstream.handler", timeout_s=30,
                            environment={"DATABASE_URL": database.sqlite_url(folder / "warm.sqlite"),
                                         "MALFORMED_QUEUE_URL": queue})
    for f in (noop_fn, loader):  # warm: one environment per shard, imports and clients done
        f.invoke_concurrently([{"Records": []}] * SHARDS)

    noops, loads = [], []
    for run in range(RUNS):
        noops.append(drain_seconds(noop_fn)[0])
        url = database.sqlite_url(folder / f"run{run}.sqlite")
        loader.update(environment={**loader.environment, "DATABASE_URL": url})  # a new, empty database
        loader.invoke_concurrently([{"Records": []}] * SHARDS)
        seconds, result = drain_seconds(loader)
        loads.append(seconds)
        assert database.page_clicks(url) == truth.page_minutes, "the database does not match the ground truth"
    noop_rate, load_rate = CLICKS / statistics.median(noops), CLICKS / statistics.median(loads)
    durations = sorted(b.invocation.duration_ms for b in result.batches)
    for f in (noop_fn, loader):
        f.shutdown()

    ratio = load_rate / noop_rate
    print(f"Clickstream into SQLite: {CLICKS:,} records ({truth.valid:,} clicks, {CLICKS - truth.valid} malformed), "
          f"{SHARDS} shards, BatchSize {BATCH_SIZE}, {len(result.batches)} invocations")
    print(f"  engine, no-op function (median of {RUNS}): {noop_rate:10,.0f} records/s")
    print(f"  whole path into SQLite (median of {RUNS}):  {load_rate:10,.0f} records/s")
    print(f"  ratio: {ratio:.2f} (target >= {TARGET}); handler duration per 100-record batch: median "
          f"{durations[len(durations) // 2]:.1f} ms")
    print("  database == ground truth in every run")
    ok = ratio >= TARGET
    print("PASS" if ok else "FAIL: loading is slower than a quarter of the engine's no-op rate")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
