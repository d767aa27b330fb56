"""S3 event notification records in the shape S3 sends them (moto's differ where code written against them breaks).

From AWS's "Event message structure" page and events captured from S3:

- ``eventVersion``: one version for every event type since 2.4 (before, 2.1 for most, 2.2 and 2.3 for some); the
  page's newest example reads 2.6. moto writes 2.1 for everything.
- ``s3.object.versionId``: present when the bucket has versioning enabled (moto never writes it).
- Removals: ``ObjectRemoved:Delete`` carries neither ``size`` nor ``eTag``; ``ObjectRemoved:DeleteMarkerCreated``
  carries the delete marker's ``versionId`` and the ``eTag`` of an empty object, no ``size``. moto copies the
  removed object's size and eTag into both.
- Versioned buckets: deleting without a version ID creates a delete marker and sends ``DeleteMarkerCreated``;
  deleting a version sends ``ObjectRemoved:Delete`` with that ``versionId``. moto sends nothing for the first and,
  for the second, one event only when the last version goes, naming the current version.

``lambdalab.triggers.s3.lambda_record`` adds what only the trigger knows (identity, request IDs, sequencer).
"""
from __future__ import annotations

import threading

from . import require

EVENT_VERSION = "2.6"
EMPTY_ETAG = "d41d8cd98f00b204e9800998ecf8427e"  # MD5 of no bytes: what a delete marker's event carries
_DELETE = "s3:ObjectRemoved:Delete"
_MARKER = "s3:ObjectRemoved:DeleteMarkerCreated"
_originals: dict = {}
_quiet = threading.local()  # set while our delete_object sends the events itself


def s3_object(event_name: str, obj: dict, version_id: str | None = None) -> dict:
    """A record's ``s3.object`` as S3 sends it for ``event_name`` ("s3:" prefix optional): no size or eTag on a
    removal (a delete marker's empty eTag), ``versionId`` when the bucket is versioned."""
    obj = dict(obj)
    if event_name.removeprefix("s3:").startswith("ObjectRemoved:"):
        obj.pop("size", None)
        obj.pop("eTag", None)
        if event_name.endswith(":DeleteMarkerCreated"):
            obj["eTag"] = EMPTY_ETAG
    if version_id is not None:
        obj["versionId"] = version_id
    return obj


def shape(record: dict, event_name: str, bucket, key) -> dict:
    """moto's record -> S3's: eventVersion, versionId on versioned buckets, no size/eTag on removals."""
    record["eventVersion"] = EVENT_VERSION
    version = getattr(key, "version_id", None) if bucket.is_versioned else None
    record["s3"]["object"] = s3_object(event_name, record["s3"]["object"],
                                       None if version in (None, "null") else str(version))
    return record


def _get_s3_event(event_name, bucket, key, notification_id):
    event = _originals["_get_s3_event"](event_name, bucket, getattr(key, "key", key), notification_id)
    for record in event["Records"]:
        shape(record, str(getattr(event_name, "value", event_name)), bucket, key)
    return event


def _send_event(account_id, event_name, bucket, key):
    if getattr(_quiet, "on", False) and str(getattr(event_name, "value", event_name)) == _DELETE:
        return  # our delete_object sends the right one
    _originals["send_event"](account_id, event_name, bucket, key)


def _delete_object(self, bucket_name, key_name, version_id=None, bypass=False):
    from moto.s3 import notifications

    bucket = self.get_bucket(bucket_name)
    if not getattr(bucket, "is_versioned", False):
        return _originals["delete_object"](self, bucket_name, key_name, version_id, bypass)
    target = next((k for k in bucket.keys.getlist(key_name, []) if str(k.version_id) == str(version_id)), None) \
        if version_id is not None else None
    _quiet.on = True
    try:
        done, meta = _originals["delete_object"](self, bucket_name, key_name, version_id, bypass)
    finally:
        _quiet.on = False
    if done and version_id is None and meta.get("delete-marker") == "true":
        marker = bucket.keys.get(key_name)
        notifications.send_event(self.account_id, notifications.S3NotificationEvent(_MARKER), bucket, marker)
    elif done and target is not None:
        notifications.send_event(self.account_id, notifications.S3NotificationEvent(_DELETE), bucket, target)
    return done, meta


def apply(server=None) -> None:
    from moto.s3 import models, notifications

    if not _originals:
        _originals.update(_get_s3_event=notifications._get_s3_event, send_event=notifications.send_event,
                          delete_object=models.S3Backend.delete_object)
        notifications._get_s3_event = _get_s3_event
        notifications.send_event = _send_event
        models.S3Backend.delete_object = _delete_object


def verify() -> None:
    from moto.s3 import models, notifications

    require(notifications._get_s3_event is _get_s3_event, __name__, "moto.s3.notifications._get_s3_event is not ours")
    require(notifications.send_event is _send_event, __name__, "moto.s3.notifications.send_event is not ours")
    require(models.S3Backend.delete_object is _delete_object, __name__, "S3Backend.delete_object is not ours")
    require(models.notifications is notifications, __name__, "moto.s3.models no longer sends through notifications")
    require(_MARKER in {e.value for e in notifications.S3NotificationEvent}, __name__,
            "moto has no ObjectRemoved:DeleteMarkerCreated event type")
