"""Every moto patch proves it took effect, and a patch that silently stops working is caught."""
import pytest

from lambdalab import aws, clock, moto_patches


def test_every_patch_module_has_apply_and_verify(backend):
    names = [m.__name__.rsplit(".", 1)[-1] for m in moto_patches.modules()]
    assert {"clock", "server_speed", "server_serial"} <= set(names)
    for module in moto_patches.modules():
        assert callable(module.apply) and callable(module.verify), module.__name__
    moto_patches.verify_all()


def test_clock_patch_stamps_kinesis_records_with_simulated_time(backend):
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName="patch-clock", ShardCount=1)
    clock.advance(3 * 3600)
    kinesis.put_record(StreamName="patch-clock", Data=b"x", PartitionKey="k")
    shard = kinesis.list_shards(StreamName="patch-clock")["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName="patch-clock", ShardId=shard,
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    record = kinesis.get_records(ShardIterator=it)["Records"][0]
    stamp = record["ApproximateArrivalTimestamp"].timestamp()
    assert abs(stamp - clock.now()) < 5


def test_a_patch_undone_behind_the_course_is_reported(backend, monkeypatch):
    import moto.kinesis.models as kinesis_models

    monkeypatch.setattr(kinesis_models, "utcnow", lambda: None)
    with pytest.raises(moto_patches.MotoPatchError, match="clock"):
        moto_patches.verify_all()


def test_server_speed_patch_undone_is_reported(backend, monkeypatch):
    import moto.backends

    from lambdalab.moto_patches import server_speed

    monkeypatch.setattr(moto.backends, "list_of_moto_modules", server_speed._original)
    with pytest.raises(moto_patches.MotoPatchError, match="server_speed"):
        moto_patches.verify_all()
