"""Lambda handlers the stream tests run through the real runtime. Plain Lambda code: nothing from lambdalab.

Records carry markers in their data: POISON fails the whole batch; BAD, EMPTY and WRONGKEY make ``partial`` report
a failure with the right identifier, an empty one, or a wrongly named key.
"""
import base64
import json


def _data(record) -> str:
    if "kinesis" in record:
        return base64.b64decode(record["kinesis"]["data"]).decode()
    return json.dumps(record["dynamodb"].get("NewImage", {}))


def _seq(record) -> str:
    return record["kinesis"]["sequenceNumber"] if "kinesis" in record else record["dynamodb"]["SequenceNumber"]


def echo(event, context):
    """Succeeds and returns the sequence numbers it saw."""
    return {"seen": [_seq(r) for r in event["Records"]]}


def records(event, context):
    """Succeeds and returns the whole event, so a test can see exactly what Lambda delivered."""
    return {"event": event}


def poison(event, context):
    """Fails the whole batch if any record is a poison pill."""
    for record in event["Records"]:
        if "POISON" in _data(record):
            raise ValueError(f"poison pill at sequence number {_seq(record)}")
    return {"seen": [_seq(r) for r in event["Records"]]}


def partial(event, context):
    """Reports its bad records as batchItemFailures (or a malformed failure, on request)."""
    failures = []
    for record in event["Records"]:
        data = _data(record)
        if "BAD" in data:
            failures.append({"itemIdentifier": _seq(record)})
        elif "EMPTY" in data:
            failures.append({"itemIdentifier": ""})
        elif "WRONGKEY" in data:
            failures.append({"itemId": _seq(record)})
    return {"batchItemFailures": failures}


def partial_unless_first(event, context):
    """Reports BAD records as failed unless they open the batch (so each retry gets further)."""
    failures = [{"itemIdentifier": _seq(r)} for i, r in enumerate(event["Records"]) if i and "BAD" in _data(r)]
    return {"batchItemFailures": failures}


def count_window(event, context):
    """Tumbling window: counts records per partition key in the state carried between invocations."""
    state = dict(event.get("state") or {})
    for record in event["Records"]:
        key = record["kinesis"]["partitionKey"]
        state[key] = state.get(key, 0) + 1
    return {"state": state, "received": event["state"], "final": event["isFinalInvokeForWindow"],
            "window": event["window"], "shardId": event["shardId"]}


def sleepy(event, context):
    """Runs past a 1-second timeout."""
    import time

    time.sleep(2)
    return {}
