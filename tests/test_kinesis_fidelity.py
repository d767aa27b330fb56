"""Kinesis as AWS behaves where a learner can see it (moto_patches/kinesis.py): records over 1 MiB refused at
PutRecord and PutRecords, 56-digit sequence numbers unique across the stream, EncryptionType on encrypted streams."""
import base64

import pytest
from botocore.exceptions import ClientError

from lambdalab import aws, moto_patches
from lambdalab.triggers import connect_kinesis

MIB = 1024 * 1024


@pytest.fixture
def kinesis(backend):
    client = aws.client("kinesis")
    client.create_stream(StreamName="fidelity", ShardCount=2)
    return client


def records(kinesis, stream="fidelity"):
    out = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        out += kinesis.get_records(ShardIterator=it)["Records"]
    return out


def test_a_record_over_1_mib_is_refused_at_put_record_and_put_records(kinesis):
    kinesis.put_record(StreamName="fidelity", Data=b"x" * (MIB - 1), PartitionKey="k")  # exactly 1 MiB with its key
    with pytest.raises(ClientError, match="ValidationException") as error:
        kinesis.put_record(StreamName="fidelity", Data=b"x" * MIB, PartitionKey="k")
    assert "1048576" in str(error.value)
    with pytest.raises(ClientError, match="ValidationException"):
        kinesis.put_record(StreamName="fidelity", Data=b"x" * (5 * MIB), PartitionKey="k")
    with pytest.raises(ClientError, match="ValidationException"):
        kinesis.put_records(StreamName="fidelity", Records=[{"Data": b"ok", "PartitionKey": "a"},
                                                            {"Data": b"x" * (MIB + 1), "PartitionKey": "b"}])
    assert len(records(kinesis)) == 1  # nothing of the refused requests reached the stream


def test_a_drain_after_a_refused_put_delivers_every_record(kinesis, new_function):
    kinesis.put_records(StreamName="fidelity", Records=[{"Data": b"%d" % i, "PartitionKey": f"k{i}"}
                                                        for i in range(20)])
    with pytest.raises(ClientError):
        kinesis.put_record(StreamName="fidelity", Data=b"x" * (5 * MIB), PartitionKey="k")
    kinesis.put_record(StreamName="fidelity", Data=b"after", PartitionKey="k")
    result = connect_kinesis("fidelity", new_function("stream_handlers.echo"), batch_size=7).drain()
    assert result.ok and result.processed == 21 and not result.discarded


def test_sequence_numbers_have_56_digits_grow_within_a_shard_and_are_unique_in_the_stream(kinesis):
    out = kinesis.put_records(StreamName="fidelity", Records=[{"Data": b"x", "PartitionKey": f"user-{i}"}
                                                              for i in range(40)])["Records"]
    numbers = [r["SequenceNumber"] for r in out]
    assert all(len(n) == 56 and n.isdigit() and n.startswith("49") for n in numbers)
    assert len(set(numbers)) == 40 and len({r["ShardId"] for r in out}) == 2
    for shard in {r["ShardId"] for r in out}:
        mine = [int(r["SequenceNumber"]) for r in out if r["ShardId"] == shard]
        assert mine == sorted(mine) and len(set(mine)) == len(mine)
    # iterators work with them
    first = out[0]
    it = kinesis.get_shard_iterator(StreamName="fidelity", ShardId=first["ShardId"],
                                    ShardIteratorType="AT_SEQUENCE_NUMBER",
                                    StartingSequenceNumber=first["SequenceNumber"])["ShardIterator"]
    assert kinesis.get_records(ShardIterator=it)["Records"][0]["SequenceNumber"] == first["SequenceNumber"]


def test_records_of_an_encrypted_stream_say_kms_and_so_does_the_lambda_event(kinesis, new_function):
    kinesis.put_record(StreamName="fidelity", Data=b"before", PartitionKey="k")
    kinesis.start_stream_encryption(StreamName="fidelity", EncryptionType="KMS", KeyId="alias/aws/kinesis")
    put = kinesis.put_record(StreamName="fidelity", Data=b"after", PartitionKey="k")
    assert put["EncryptionType"] == "KMS"
    got = {r["Data"]: r.get("EncryptionType") for r in records(kinesis)}
    assert got == {b"before": None, b"after": "KMS"}
    result = connect_kinesis("fidelity", new_function("stream_handlers.records")).drain()
    events = [r for b in result.batches for r in b.invocation.response["event"]["Records"]]
    shown = {base64.b64decode(e["kinesis"]["data"]): e["kinesis"].get("encryptionType") for e in events}
    assert shown == {b"before": None, b"after": "KMS"}


def test_the_patch_undone_is_reported(backend, monkeypatch):
    from moto.kinesis import models

    from lambdalab.moto_patches import kinesis as patch

    assert "kinesis" in [m.__name__.rsplit(".", 1)[-1] for m in moto_patches.modules()]
    monkeypatch.setattr(models.Record, "to_json", patch._originals["record_to_json"])
    with pytest.raises(moto_patches.MotoPatchError, match="kinesis"):
        moto_patches.verify_all()
