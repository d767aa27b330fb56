"""Which partition key goes to which shard: Kinesis hashes the key with MD5 and finds the shard whose hash-key range
(a slice of 0 .. 2**128 - 1) holds the result. Drawn, and checked against where the records really went.

    plot_hash_ranges("clicks", ["user-001", "user-002", "bot-9000"])
    shard_for("clicks", "user-001")        # 'shardId-000000000002'
"""
from __future__ import annotations

import hashlib

from . import aws

HASH_SPACE = 2 ** 128


def md5_position(key: str) -> int:
    """The partition key's place in the hash-key space: its MD5 digest read as a 128-bit number."""
    return int(hashlib.md5(key.encode("utf-8")).hexdigest(), 16)


def hash_ranges(stream: str) -> list[tuple[str, int, int]]:
    """``[(shard id, first hash key, last hash key), ...]`` of the stream's open shards, from ListShards."""
    shards = aws.client("kinesis").list_shards(StreamName=stream)["Shards"]
    return [(s["ShardId"], int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
            for s in shards if "EndingSequenceNumber" not in s.get("SequenceNumberRange", {})]


def shard_for(stream: str, key: str) -> str:
    """The shard a record with this partition key goes to."""
    position = md5_position(key)
    for shard, first, last in hash_ranges(stream):
        if first <= position <= last:
            return shard
    raise ValueError(f"No open shard of {stream!r} covers the hash of {key!r}.")


def plot_hash_ranges(stream: str, keys: list[str], ax=None):
    """The hash-key space as one bar split into the shards' ranges, with each key marked where its MD5 falls."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 2.2 + 0.18 * len(keys)))
    colours = plt.get_cmap("tab10")
    for i, (shard, first, last) in enumerate(hash_ranges(stream)):
        ax.barh(0, (last - first + 1) / HASH_SPACE, left=first / HASH_SPACE, height=0.5, color=colours(i % 10),
                alpha=0.35, edgecolor="black")
        ax.text((first + last) / 2 / HASH_SPACE, 0, f"shard {int(shard.rsplit('-', 1)[-1])}", ha="center", va="center",
                fontsize=9)
    for n, key in enumerate(keys):
        x, y = md5_position(key) / HASH_SPACE, 0.45 + 0.22 * n
        ax.plot([x, x], [0.25, y], color="grey", linewidth=0.8)
        ax.plot(x, y, "o", color="black", markersize=4)
        ax.text(x, y, f" {key}", va="center", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.4, 0.7 + 0.22 * len(keys))
    ax.set_yticks([])
    ax.set_xlabel("MD5 of the partition key, as a fraction of the hash-key space (0 to 2^128)")
    ax.set_title(f"Stream {stream}: each shard owns a range of hash keys; a key goes where its MD5 falls")
    ax.figure.tight_layout()
    return ax.figure


def order_per_key(result) -> dict[str, bool]:
    """For a drain's result: partition key -> were its records processed in sequence-number order?"""
    seen: dict[str, list[int]] = {}
    for batch in result.batches:
        for record in batch.records[:batch.processed]:
            seen.setdefault(record.key, []).append(record.seq)
    return {key: numbers == sorted(numbers) for key, numbers in seen.items()}
