"""Kinesis as a learner sees it on AWS: records over 1 MiB refused, 56-digit sequence numbers, EncryptionType.

- **Record size.** AWS refuses a record whose data plus partition key exceeds 1 MiB, at PutRecord and PutRecords
  (``ValidationException``); moto checks PutRecords only, so PutRecord accepted a 5 MiB record that no Lambda batch
  could carry.
- **Sequence numbers.** AWS's are 56-digit numbers, increasing within a shard and unique across the stream
  (``49590338271490256608559692538361571095921575989136588898``); moto's were ``"1"``, ``"2"``... restarting on
  every shard. Here: ``49`` + the second of the shard's first record (18 digits) + the shard number (4) + a counter (32).
- **Encryption.** Records put while the stream is encrypted (StartStreamEncryption) carry ``EncryptionType: KMS`` in
  PutRecord's answer and in GetRecords, as on AWS; moto left it out.
"""
from __future__ import annotations

from . import require

RECORD_LIMIT_BYTES = 1024 * 1024  # data + partition key
_originals: dict = {}


def _sequence_number(shard, counter: int) -> int:
    stamp = getattr(shard, "_lambdalab_stamp", 0)
    return int(f"49{stamp:018d}{shard._shard_id % 10_000:04d}{counter:032d}")


def _shard_put_record(self, partition_key, data, explicit_hash_key):
    """Shard.put_record with AWS-shaped sequence numbers (moto keys its records by the number, in order)."""
    from moto.kinesis.models import Record

    if not hasattr(self, "_lambdalab_stamp"):
        from .. import clock

        self._lambdalab_stamp = int(clock.now()) % 10**18
        self._lambdalab_counter = 10**31 + (self._lambdalab_stamp * 2_654_435_761 + self._shard_id) % 10**30
    self._lambdalab_counter += 1_000_003  # increasing within the shard, as on AWS (with gaps, as on AWS)
    number = _sequence_number(self, self._lambdalab_counter)
    self.records[number] = Record(partition_key, data, number, explicit_hash_key)
    return str(number)


def _check_size(partition_key, data, position=None):
    from base64 import b64decode

    from moto.core.exceptions import JsonRESTError
    from moto.kinesis.exceptions import RecordSizeExceedsLimit

    size = len(b64decode(data or "")) + len((partition_key or "").encode())
    if size > RECORD_LIMIT_BYTES:
        if position is not None:
            raise RecordSizeExceedsLimit(position=position)
        raise JsonRESTError("ValidationException", "1 validation error detected: Value at 'data' failed to satisfy "
                            f"constraint: Member must have length less than or equal to {RECORD_LIMIT_BYTES} "
                            f"(the record is {size:,} bytes with its partition key).")


def _backend_put_record(self, stream_arn, stream_name, partition_key, explicit_hash_key, data):
    _check_size(partition_key, data)
    return _originals["backend_put_record"](self, stream_arn, stream_name, partition_key, explicit_hash_key, data)


def _stream_put_record(self, partition_key, explicit_hash_key, data):
    sequence_number, shard_id = _originals["stream_put_record"](self, partition_key, explicit_hash_key, data)
    self.shards[shard_id].records[int(sequence_number)].encryption_type = self.encryption_type
    return sequence_number, shard_id


def _record_to_json(self):
    out = _originals["record_to_json"](self)
    if getattr(self, "encryption_type", "NONE") == "KMS":
        out["EncryptionType"] = "KMS"
    return out


def _put_record_response(self):
    from moto.core.responses import ActionResult

    stream = self.kinesis_backend.describe_stream(stream_arn=self._get_param("StreamARN"),
                                                  stream_name=self._get_param("StreamName"))
    result = _originals["put_record_response"](self)
    if stream.encryption_type == "KMS" and isinstance(result, ActionResult):
        result = ActionResult({**result.result, "EncryptionType": "KMS"})
    return result


def apply(server=None) -> None:
    from moto.kinesis import models, responses

    if _originals:
        return
    _originals.update(backend_put_record=models.KinesisBackend.put_record,
                      stream_put_record=models.Stream.put_record, record_to_json=models.Record.to_json,
                      put_record_response=responses.KinesisResponse.put_record)
    models.Shard.put_record = _shard_put_record
    models.KinesisBackend.put_record = _backend_put_record
    models.Stream.put_record = _stream_put_record
    models.Record.to_json = _record_to_json
    responses.KinesisResponse.put_record = _put_record_response


def verify() -> None:
    from moto.kinesis import models, responses

    for owner, name, ours in ((models.Shard, "put_record", _shard_put_record),
                              (models.KinesisBackend, "put_record", _backend_put_record),
                              (models.Stream, "put_record", _stream_put_record),
                              (models.Record, "to_json", _record_to_json),
                              (responses.KinesisResponse, "put_record", _put_record_response)):
        require(getattr(owner, name, None) is ours, __name__, f"{owner.__name__}.{name} is moto's own")
    shard = models.Shard(3, 0, 2**128)
    require(len(shard.put_record("k", "eA==", None)) == 56, __name__, "sequence numbers are not 56 digits")
    require(hasattr(models.KinesisBackend, "put_records"), __name__, "moto has no KinesisBackend.put_records")
