"""DynamoDB Streams records as AWS writes them, where moto's differ in ways a learner sees:

- ``awsRegion``: the table's region (moto writes ``us-east-1`` whatever the region);
- ``SizeBytes``: the size of Keys + NewImage + OldImage by DynamoDB's item-size rules (moto counts the JSON text of
  the whole record, 10-20x more). Lambda's sample events check out: 26, 59 and 38 bytes;
- the stream label (the end of ``LatestStreamArn``): milliseconds, ``2015-06-27T00:48:05.899`` (moto: microseconds);
- a write that changes nothing emits no record (moto emits a MODIFY).
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from . import require

_originals: dict = {}


def item_size(attributes: dict) -> int:
    """Bytes of an item (or Keys, or an image) in DynamoDB JSON, by the rules of "DynamoDB item sizes and formats"."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in attributes.items())


def _number_size(text: str) -> int:
    digits = "".join(map(str, Decimal(text).as_tuple().digits)).strip("0") or "0"
    return (len(digits) + 1) // 2 + 1  # 1 byte per two significant digits, plus 1


def _value_size(value: dict) -> int:
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode("utf-8"))
    if kind == "N":
        return _number_size(v)
    if kind == "B":
        return len(v)  # raw bytes (moto keeps them base64-encoded: decoded below)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in v)
    if kind == "NS":
        return sum(_number_size(n) for n in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "L":
        return 3 + sum(1 + _value_size(e) for e in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + _value_size(e) for k, e in v.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def _raw(value):
    """moto keeps binary values base64-encoded in its JSON: size them by their decoded bytes."""
    import base64

    if isinstance(value, dict):
        if set(value) == {"B"} and isinstance(value["B"], str):
            return {"B": base64.b64decode(value["B"])}
        if set(value) == {"BS"}:
            return {"BS": [base64.b64decode(b) if isinstance(b, str) else b for b in value["BS"]]}
        return {k: _raw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_raw(v) for v in value]
    return value


def stream_record_size(body: dict) -> int:
    """``SizeBytes`` of a stream record's ``dynamodb`` part: its Keys and whichever images it carries."""
    return sum(item_size(_raw(body[part])) for part in ("Keys", "NewImage", "OldImage") if part in body)


def _record_init(self, table, *args, **kwargs):
    _originals["record_init"](self, table, *args, **kwargs)
    self.record["awsRegion"] = table.region_name
    self.record["dynamodb"]["SizeBytes"] = stream_record_size(self.record["dynamodb"])


def _set_stream_specification(self, streams):
    before = self.latest_stream_label
    _originals["set_stream_specification"](self, streams)
    if self.latest_stream_label and self.latest_stream_label != before:
        self.latest_stream_label = millisecond_label(self.latest_stream_label)


def millisecond_label(label: str) -> str:
    """``2015-06-27T00:48:05.899123`` (or without a fraction) -> ``2015-06-27T00:48:05.899``."""
    return datetime.fromisoformat(label).isoformat(timespec="milliseconds")


def _canonical(value):
    """An item's JSON with sets sorted and numbers normalised: the same set in another order, or 1.0 written over 1,
    is the same value (DynamoDB stores numbers by value; moto keeps the text as written)."""
    if isinstance(value, dict):
        return {k: _number(v) if k == "N" and isinstance(v, str) else
                sorted(map(_number, v)) if k == "NS" and isinstance(v, list) else
                sorted(map(str, v)) if k in ("SS", "BS") and isinstance(v, list) else _canonical(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _number(text: str) -> str:
    try:
        return str(Decimal(text).normalize())
    except ArithmeticError:  # not a number: compare as written
        return str(text)


def _shard_add(self, old, new):
    if old is not None and new is not None and _canonical(old.to_json()) == _canonical(new.to_json()):
        return  # DynamoDB Streams writes no record for a write that changes nothing
    _originals["shard_add"](self, old, new)


def apply(server=None) -> None:
    from moto.dynamodb.models import table

    if "record_init" not in _originals:
        _originals["record_init"] = table.StreamRecord.__init__
        _originals["set_stream_specification"] = table.Table.set_stream_specification
        _originals["shard_add"] = table.StreamShard.add
    table.StreamRecord.__init__ = _record_init
    table.Table.set_stream_specification = _set_stream_specification
    table.StreamShard.add = _shard_add


def verify() -> None:
    from moto.dynamodb.models import table

    require(table.StreamRecord.__init__ is _record_init, __name__,
            "moto's StreamRecord still writes awsRegion us-east-1 and an oversized SizeBytes")
    require(table.Table.set_stream_specification is _set_stream_specification, __name__,
            "moto's stream labels still have microseconds")
    require(table.StreamShard.add is _shard_add, __name__, "moto still streams writes that change nothing")
    require("latest_stream_label" in _originals["set_stream_specification"].__code__.co_names, __name__,
            "moto's Table.set_stream_specification no longer sets latest_stream_label")
