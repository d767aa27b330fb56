"""UpdateItem on a key that does not exist yet: ONE stream record, as on AWS.

DynamoDB's UpdateItem creates a missing item and writes one INSERT record whose NewImage is the item after the update.
moto creates the item with a PutItem of the key alone first (an INSERT whose NewImage is just the key) and then adds
the update's own INSERT: a learner sees two records for one write, the first with attributes missing. This drops the
key-only record and gives the update's record its sequence number.
"""
from __future__ import annotations

from . import require

_originals: dict = {}


def _update_item(self, table_name, *args, **kwargs):
    table = self.get_table(table_name)
    shard = table.stream_shard
    before = len(shard.items) if shard is not None else 0
    item = _originals["update_item"](self, table_name, *args, **kwargs)
    if shard is not None:
        added = shard.items[before:]
        if (len(added) == 2 and all(r.record["eventName"] == "INSERT" for r in added)
                and added[0].record["dynamodb"]["Keys"] == added[1].record["dynamodb"]["Keys"]):
            added[1].record["dynamodb"]["SequenceNumber"] = added[0].record["dynamodb"]["SequenceNumber"]
            shard.items.remove(added[0])
    return item


def apply(server=None) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    if "update_item" not in _originals:
        _originals["update_item"] = DynamoDBBackend.update_item
    DynamoDBBackend.update_item = _update_item


def verify() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    require(DynamoDBBackend.update_item is _update_item, __name__,
            "moto's UpdateItem on a new key still streams a key-only INSERT before the real one")
    require("put_item" in _originals["update_item"].__code__.co_names, __name__,
            "moto's UpdateItem no longer creates a new item with put_item: check whether this patch is still needed")
