"""Benchmark: Kinesis event source mapping throughput against the backend's raw read rate, in the same run.

10,000 records across 4 shards go through a no-op function with BatchSize 100 (100 invocations). The raw rate is the
backend alone: every shard read with GetRecords at its largest page (10,000), median of 3. The whole path is
``connect_kinesis(...).drain()``: reading, building Lambda events, invoking through the runtime's workers,
checkpointing, shipping the logs; median of 3, with warm workers, interleaved with the raw runs. Target: the whole
path at least half the raw rate.

Run: .venv/bin/python benchmarks/bench_streams.py
"""
import statistics
import sys
import time

from lambdalab import aws
from lambdalab.runtime import LambdaFunction, flush_logs
from lambdalab.triggers import connect_kinesis

RECORDS, SHARDS, BATCH_SIZE, RUNS, TARGET = 10_000, 4, 100, 3, 0.5
STREAM = "bench-clicks"


def noop(event, context):
    return None


def fill_stream(kinesis) -> None:
    """RECORDS small JSON records, spread evenly over the shards with explicit hash keys."""
    kinesis.create_stream(StreamName=STREAM, ShardCount=SHARDS)
    shards = kinesis.list_shards(StreamName=STREAM)["Shards"]
    hash_keys = [s["HashKeyRange"]["StartingHashKey"] for s in shards]
    for start in range(0, RECORDS, 500):
        kinesis.put_records(StreamName=STREAM, Records=[
            {"Data": b'{"page": "/p/%d", "user": "u%d"}' % (i % 50, i % 977), "PartitionKey": f"user-{i % 977}",
             "ExplicitHashKey": hash_keys[i % SHARDS]} for i in range(start, start + 500)])


def raw_read_seconds(kinesis) -> float:
    """Read every shard from TRIM_HORIZON with the largest GetRecords page until caught up."""
    started = time.perf_counter()
    total = 0
    for shard in kinesis.list_shards(StreamName=STREAM)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            total += len(page["Records"])
            iterator = page.get("NextShardIterator")
            if len(page["Records"]) < 10_000:
                break
    assert total == RECORDS, total
    return time.perf_counter() - started


def mapping_seconds(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = connect_kinesis(STREAM, function, batch_size=BATCH_SIZE).drain()
    flush_logs()  # the functions' logs reach CloudWatch Logs: part of the path, and not left to slow the next run
    elapsed = time.perf_counter() - started
    assert result.processed == RECORDS and len(result.batches) == RECORDS // BATCH_SIZE, result
    return elapsed, result


def main() -> int:
    aws.start()
    kinesis = aws.client("kinesis")
    fill_stream(kinesis)
    function = LambdaFunction("bench-noop", noop)
    function.invoke_concurrently([{"Records": []}] * SHARDS)  # warm: one environment per shard

    raws, runs = [], []
    for _ in range(RUNS):  # interleaved, so a busy moment of the machine weighs on both measurements
        raws.append(raw_read_seconds(kinesis))
        runs.append(mapping_seconds(function))
    raw = statistics.median(raws)
    whole = statistics.median(seconds for seconds, _ in runs)
    result = runs[-1][1]
    round_trips = sorted(b.invocation.duration_ms for b in result.batches)
    event = {"Records": [r.event for r in result.batches[0].records]}
    started = time.perf_counter()
    for _ in range(50):
        function.invoke(event)
    round_trip_ms = (time.perf_counter() - started) * 1000 / 50
    function.shutdown()

    raw_rate, whole_rate = RECORDS / raw, RECORDS / whole
    ratio = whole_rate / raw_rate
    print(f"Kinesis event source mapping: {RECORDS:,} records, {SHARDS} shards, BatchSize {BATCH_SIZE}, "
          f"{len(result.batches)} invocations, peak concurrency {result.peak_concurrency}")
    print(f"  raw GetRecords (largest page, median of {RUNS}): {raw_rate:10,.0f} records/s  ({raw * 1000:.0f} ms)")
    print(f"  whole path (drain, median of {RUNS}):            {whole_rate:10,.0f} records/s  ({whole * 1000:.0f} ms)")
    print(f"  ratio: {ratio:.2f} (target >= {TARGET})")
    print(f"  one worker round trip with a {BATCH_SIZE}-record event: {round_trip_ms:.2f} ms "
          f"(handler duration median {round_trips[len(round_trips) // 2]:.2f} ms)")
    ok = ratio >= TARGET
    print("PASS" if ok else "FAIL: the mapping is slower than half the raw read rate")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
