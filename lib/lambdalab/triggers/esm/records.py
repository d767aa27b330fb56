"""Stream records in the exact shapes Lambda delivers, and the message Lambda sends to an on-failure destination.

A ``Record`` keeps the event record (what the function sees in ``event["Records"]``) together with what the poller
needs: its numeric sequence number (sequence numbers are compared as numbers, never as strings), the key that orders
it (partition key, or the item's key), its arrival time (simulated clock) and its size in the event.
"""
from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

KINESIS = "kinesis"
DYNAMODB = "dynamodb"
_DDB_FIELDS = ("ApproximateCreationDateTime", "Keys", "NewImage", "OldImage", "SequenceNumber", "SizeBytes",
               "StreamViewType")


@dataclass(slots=True, eq=False)
class Record:
    """One stream record as the poller holds it."""

    shard_id: str
    sequence_number: str  # as the stream reports it
    seq: int  # the same, as a number
    key: str  # orders the record: partition key (Kinesis) or the item's key (DynamoDB)
    arrival: float  # epoch seconds
    size: int  # bytes this record adds to the event JSON
    event: dict  # exactly what Lambda puts in event["Records"]

    def __repr__(self):
        return f"Record({self.shard_id} #{self.sequence_number} key={self.key!r})"


def _epoch(value) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def _size(event_record: dict) -> int:
    return len(json.dumps(event_record)) + 2  # ", " between records in the event


def _kinesis_event(partition_key, seq, data, arrival, shard_id, identity_arn, region, stream_arn) -> dict:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": seq,
            "data": data,
            "approximateArrivalTimestamp": arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{seq}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": identity_arn,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


_KINESIS_FIXED = _size(_kinesis_event("", "", "", 0, "", "", "", "")) - 1  # without the "0" of the timestamp


def _json_len(text: str) -> int:
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return len(text)
    return len(json.dumps(text)) - 2


def kinesis_record(raw: dict, shard_id: str, stream_arn: str, region: str, identity_arn: str) -> Record:
    """A Kinesis GetRecords entry as Lambda delivers it: ``kinesis.data`` base64-encoded, eventID ``shard:seq``."""
    seq = raw["SequenceNumber"]
    key = raw["PartitionKey"]
    arrival = round(_epoch(raw["ApproximateArrivalTimestamp"]), 3)
    data = base64.b64encode(raw["Data"]).decode("ascii")
    event = _kinesis_event(key, seq, data, arrival, shard_id, identity_arn, region, stream_arn)
    # the event's JSON size, computed rather than serialised: this runs for every record read
    size = (_KINESIS_FIXED + _json_len(key) + 2 * len(seq) + len(data) + len(repr(arrival)) + len(shard_id)
            + _json_len(identity_arn) + _json_len(region) + _json_len(stream_arn))
    if raw.get("EncryptionType") == "KMS":  # records of an encrypted stream say so; others have no such field
        event["kinesis"]["encryptionType"] = "KMS"
        size += len(', "encryptionType": "KMS"')
    return Record(shard_id, seq, int(seq), key, arrival, size, event)


def _jsonable(value):
    """A DynamoDB AttributeValue as JSON: binary values become base64 text, as in Lambda's event."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return value


def dynamodb_record(raw: dict, shard_id: str, stream_arn: str, region: str) -> Record:
    """A DynamoDB Streams record as Lambda delivers it: eventVersion 1.1, eventSourceARN added, images as JSON."""
    ddb = raw["dynamodb"]
    # DynamoDB Streams stamps records to the second, and that is all Lambda knows of their arrival (age, windows,
    # and the on-failure message's approximateArrivalOf... all use it)
    arrival = float(int(_epoch(ddb["ApproximateCreationDateTime"])))
    body = {}
    for name in _DDB_FIELDS:
        if name in ddb:
            body[name] = _jsonable(ddb[name])
    body["ApproximateCreationDateTime"] = int(arrival)
    event = {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,  # the stream's region
        "dynamodb": body,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in raw:
        event["userIdentity"] = raw["userIdentity"]
    seq = ddb["SequenceNumber"]
    key = json.dumps(body.get("Keys", {}), sort_keys=True)
    return Record(shard_id, seq, int(seq), key, arrival, _size(event), event)


def iso(epoch: float, millis: bool = True) -> str:
    """Epoch seconds as Lambda's ISO-8601 UTC text (``2019-11-14T00:13:49.717Z``)."""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if millis else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def failure_message(source_kind: str, *, function_arn: str, stream_arn: str, shard_id: str, records: list,
                    condition: str, invoke_count: int, request_id: str | None, function_error: bool,
                    now: float) -> dict:
    """The metadata Lambda sends to an on-failure destination for a discarded batch (records themselves are not
    included: read them from the stream with the sequence range while they are retained).

    Arrival times keep milliseconds for Kinesis (``2019-11-14T00:38:04.835Z``) but not for DynamoDB Streams, whose
    records are stamped to the second (``2019-11-14T00:13:19Z``), as in Lambda's documented examples."""
    millis = source_kind == KINESIS
    info = {
        "shardId": shard_id,
        "startSequenceNumber": records[0].sequence_number,
        "endSequenceNumber": records[-1].sequence_number,
        "approximateArrivalOfFirstRecord": iso(records[0].arrival, millis=millis),
        "approximateArrivalOfLastRecord": iso(records[-1].arrival, millis=millis),
        "batchSize": len(records),
        "streamArn": stream_arn,
    }
    message = {
        "requestContext": {
            "requestId": request_id or str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
    }
    if invoke_count:
        message["responseContext"] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if function_error:
            message["responseContext"]["functionError"] = "Unhandled"
    message["version"] = "1.0"
    message["timestamp"] = iso(now)
    message["KinesisBatchInfo" if source_kind == KINESIS else "DDBStreamBatchInfo"] = info
    return message
