"""The notebook's helpers for shards and batching: where a key goes agrees with where Kinesis put it; per-key order
is judged from what was processed; the batching model behaves as Lambda's settings say."""
from types import SimpleNamespace

import pytest

from lambdalab import aws, batching, producer, shards


def test_shard_for_agrees_with_where_kinesis_put_each_record(backend):
    aws.client("kinesis").create_stream(StreamName="keys", ShardCount=5)
    for n in range(30):
        out = aws.client("kinesis").put_record(StreamName="keys", Data=b"x", PartitionKey=f"user-{n}")
        assert shards.shard_for("keys", f"user-{n}") == out["ShardId"]
    ranges = shards.hash_ranges("keys")
    assert ranges[0][1] == 0 and ranges[-1][2] == shards.HASH_SPACE - 1 and len(ranges) == 5
    figure = shards.plot_hash_ranges("keys", ["user-1", producer.HOT_KEY])
    ax = figure.axes[0]
    assert "hash" in ax.get_xlabel() and "keys" in ax.get_title()
    assert {t.get_text().strip() for t in ax.texts} >= {"shard 0", "shard 4", "user-1", producer.HOT_KEY}


def test_order_per_key_sees_a_key_processed_out_of_order():
    def rec(key, seq):
        return SimpleNamespace(key=key, seq=seq)

    batches = [SimpleNamespace(records=[rec("a", 1), rec("b", 2), rec("a", 5)], processed=3),
               SimpleNamespace(records=[rec("b", 3), rec("a", 4)], processed=2),
               SimpleNamespace(records=[rec("c", 9)], processed=0)]  # not processed: not judged
    assert shards.order_per_key(SimpleNamespace(batches=batches)) == {"a": False, "b": True}


def test_the_batching_model_trades_invocations_for_latency():
    no_window = batching.simulate(20, 100, 0, duration_s=120)
    assert no_window.invocations_per_min == pytest.approx(60, rel=0.05)  # one read a second finds records
    windows = [batching.simulate(20, 1000, w, duration_s=120) for w in (0, 2, 10)]
    assert [o.invocations_per_min for o in windows] == sorted((o.invocations_per_min for o in windows), reverse=True)
    assert [o.mean_latency_s for o in windows] == sorted(o.mean_latency_s for o in windows)
    small = batching.simulate(20, 10, 10, duration_s=120)
    assert small.mean_batch == pytest.approx(10, abs=0.1) and small.mean_latency_s < 1.5  # full before the window
    figure = batching.plot(batching.sweep(20, (10, 100), (0, 5), duration_s=60), rate_per_s=20)
    assert [ax.get_ylabel() for ax in figure.axes] == ["invocations per minute", "mean latency (s)"]
