"""S3 event records in the shape S3 sends them (moto_patches.s3_events): per event type and bucket versioning."""
import pytest

from lambdalab import aws, moto_patches
from lambdalab.moto_patches import s3_events
from lambdalab.triggers import connect_s3
from lambdalab.triggers.s3 import s3_event

EVENTS = ("s3:ObjectCreated:*", "s3:ObjectRemoved:*")


@pytest.fixture
def records(new_function):
    """records(bucket, action) -> the S3 records the function received while ``action()`` ran."""
    function = new_function("runtime_handlers.echo", name="shape")

    def run(bucket, action):
        trigger = connect_s3(bucket, function, events=EVENTS)
        action()
        report = trigger.drain()
        assert all(d.outcome == "ok" for d in report.deliveries), report
        return [d.event["Records"][0] for d in report.deliveries]

    return run


def _bucket(name, versioned=False):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=name)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return s3


def test_an_unversioned_bucket_sends_no_version_and_a_removal_has_no_size_or_etag(records):
    s3 = _bucket("plain")
    put, removed = records("plain", lambda: (s3.put_object(Bucket="plain", Key="a b.txt", Body=b"hello"),
                                             s3.delete_object(Bucket="plain", Key="a b.txt")))
    assert put["eventName"] == "ObjectCreated:Put" and put["eventVersion"] == s3_events.EVENT_VERSION
    assert put["s3"]["object"]["size"] == 5 and put["s3"]["object"]["eTag"] and "versionId" not in put["s3"]["object"]
    assert removed["eventName"] == "ObjectRemoved:Delete" and removed["eventVersion"] == s3_events.EVENT_VERSION
    assert set(removed["s3"]["object"]) == {"key", "sequencer"} and removed["s3"]["object"]["key"] == "a+b.txt"


def test_a_versioned_bucket_sends_version_ids_and_a_delete_marker_event(records):
    s3 = _bucket("versioned", versioned=True)
    made = {}

    def action():
        made["v1"] = s3.put_object(Bucket="versioned", Key="k", Body=b"one")["VersionId"]
        made["v2"] = s3.put_object(Bucket="versioned", Key="k", Body=b"two!")["VersionId"]
        made["marker"] = s3.delete_object(Bucket="versioned", Key="k")["VersionId"]  # no version: a delete marker
        s3.delete_object(Bucket="versioned", Key="k", VersionId=made["v1"])  # a version, others remain

    first, second, marker, removed = records("versioned", action)
    assert first["s3"]["object"]["versionId"] == made["v1"] and second["s3"]["object"]["versionId"] == made["v2"]
    assert second["s3"]["object"]["size"] == 4
    assert marker["eventName"] == "ObjectRemoved:DeleteMarkerCreated"
    assert marker["s3"]["object"]["versionId"] == made["marker"] and "size" not in marker["s3"]["object"]
    assert marker["s3"]["object"]["eTag"] == s3_events.EMPTY_ETAG
    assert removed["eventName"] == "ObjectRemoved:Delete" and removed["s3"]["object"]["versionId"] == made["v1"]
    assert {"size", "eTag"}.isdisjoint(removed["s3"]["object"])
    assert len(s3.list_object_versions(Bucket="versioned")["Versions"]) == 1  # the delete itself still happened


def test_hand_made_events_follow_the_same_rules():
    created = s3_event("b", "x.jpg", size=7, version_id="v9")["Records"][0]
    removed = s3_event("b", "x.jpg", event_name="ObjectRemoved:Delete", size=7)["Records"][0]
    assert created["eventVersion"] == removed["eventVersion"] == s3_events.EVENT_VERSION
    assert created["s3"]["object"]["size"] == 7 and created["s3"]["object"]["versionId"] == "v9"
    assert {"size", "eTag", "versionId"}.isdisjoint(removed["s3"]["object"])


def test_the_s3_event_patch_undone_is_reported(backend, monkeypatch):
    from moto.s3 import notifications

    monkeypatch.setattr(notifications, "_get_s3_event", s3_events._originals["_get_s3_event"])
    with pytest.raises(moto_patches.MotoPatchError, match="s3_events"):
        moto_patches.verify_all()
