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


def _queue_arn(name):
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _config(events, prefix=None, suffix=None, arn=None, ident="c"):
    entry = {"Id": ident, "QueueArn": arn, "Events": events}
    rules = [{"Name": n, "Value": v} for n, v in (("prefix", prefix), ("suffix", suffix)) if v is not None]
    if rules:
        entry["Filter"] = {"Key": {"FilterRules": rules}}
    return entry


@pytest.mark.parametrize("first, second, overlapping", [
    ((["s3:ObjectCreated:*"], None, None), (["s3:ObjectCreated:Put"], None, ".jpg"), True),  # no prefix: all keys
    ((["s3:ObjectCreated:*"], "photos/", None), (["s3:ObjectCreated:*"], "photos/2024/", None), True),
    ((["s3:ObjectCreated:*"], "photos/", None), (["s3:ObjectCreated:*"], "videos/", None), False),
    ((["s3:ObjectCreated:*"], None, ".jpg"), (["s3:ObjectCreated:*"], None, ".png"), False),
    ((["s3:ObjectCreated:*"], None, ".jpg"), (["s3:ObjectCreated:*"], None, "thumb.jpg"), True),
    ((["s3:ObjectCreated:*"], None, None), (["s3:ObjectRemoved:*"], None, None), False),  # different event types
    ((["s3:ObjectCreated:Put"], None, None), (["s3:ObjectCreated:Copy"], None, None), False),
])
def test_s3_refuses_overlapping_notification_configurations(backend, first, second, overlapping):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="overlaps")
    configs = [_config(*first, arn=_queue_arn("q1"), ident="one"), _config(*second, arn=_queue_arn("q2"), ident="two")]
    put = lambda: s3.put_bucket_notification_configuration(  # noqa: E731
        Bucket="overlaps", NotificationConfiguration={"QueueConfigurations": configs})
    if not overlapping:
        put()
        assert len(s3.get_bucket_notification_configuration(Bucket="overlaps")["QueueConfigurations"]) == 2
        return
    with pytest.raises(s3.exceptions.ClientError) as refused:
        put()
    assert refused.value.response["Error"]["Code"] == "InvalidArgument"
    assert refused.value.response["Error"]["Message"] == (
        "Configurations overlap. Configurations on the same bucket cannot share a common event type.")
    assert "QueueConfigurations" not in s3.get_bucket_notification_configuration(Bucket="overlaps")  # nothing kept


def test_the_overlap_patch_undone_is_reported(backend, monkeypatch):
    from moto.s3.models import S3Backend

    monkeypatch.setattr(S3Backend, "put_bucket_notification_configuration", lambda self, name, config: None)
    with pytest.raises(moto_patches.MotoPatchError, match="s3_notification_overlap"):
        moto_patches.verify_all()
