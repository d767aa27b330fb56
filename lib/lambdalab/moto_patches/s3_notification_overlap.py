"""A bucket's notification configurations must not overlap, as S3 insists.

S3 refuses PutBucketNotificationConfiguration when two of its configurations (queue, topic or function) share an
event type (``s3:ObjectCreated:*`` covers ``s3:ObjectCreated:Put``) and their prefix filters overlap (one starts
with the other; no prefix overlaps every prefix) and their suffix filters overlap (one ends with the other): S3 could
not tell which destination an object belongs to. The answer is InvalidArgument, "Configurations overlap.
Configurations on the same bucket cannot share a common event type." moto accepts the configuration and delivers
every event to all of them.
"""
from __future__ import annotations

from . import require

_MARK = "_lambdalab_refuses_overlaps"
MESSAGE = "Configurations overlap. Configurations on the same bucket cannot share a common event type."


def _filters(notification) -> tuple[str, str]:
    rules = {rule["Name"].lower(): rule["Value"]
             for rule in (notification.filters or {}).get("S3Key", {}).get("FilterRule", [])}
    return rules.get("prefix", ""), rules.get("suffix", "")


def _events_overlap(a: str, b: str) -> bool:
    """``s3:ObjectCreated:*`` overlaps every ``s3:ObjectCreated:...``; otherwise only the same type."""
    if a == b:
        return True
    family_a, family_b = a.rsplit(":", 1)[0], b.rsplit(":", 1)[0]
    return family_a == family_b and (a.endswith(":*") or b.endswith(":*"))


def overlap(first, second) -> bool:
    """True when S3 would call two notification configurations overlapping."""
    if not any(_events_overlap(a, b) for a in first.events for b in second.events):
        return False
    (prefix_a, suffix_a), (prefix_b, suffix_b) = _filters(first), _filters(second)
    prefixes = prefix_a.startswith(prefix_b) or prefix_b.startswith(prefix_a)
    suffixes = suffix_a.endswith(suffix_b) or suffix_b.endswith(suffix_a)
    return prefixes and suffixes


def _configurations(bucket) -> list:
    config = bucket.notification_configuration
    return [] if config is None else [*config.queue, *config.topic, *config.cloud_function]


def apply(server=None) -> None:
    from moto.s3.exceptions import InvalidArgumentError
    from moto.s3.models import S3Backend

    original = S3Backend.put_bucket_notification_configuration
    if getattr(original, _MARK, False):
        return

    def put_bucket_notification_configuration(self, bucket_name, notification_config):
        bucket = self.get_bucket(bucket_name)
        before = bucket.notification_configuration
        original(self, bucket_name, notification_config)
        configurations = _configurations(bucket)
        for i, first in enumerate(configurations):
            if any(overlap(first, second) for second in configurations[i + 1:]):
                bucket.notification_configuration = before  # refused: the bucket keeps what it had
                raise InvalidArgumentError(MESSAGE, "Event", ", ".join(first.events))

    setattr(put_bucket_notification_configuration, _MARK, True)
    S3Backend.put_bucket_notification_configuration = put_bucket_notification_configuration


def verify() -> None:
    from moto.s3.models import S3Backend

    require(getattr(S3Backend.put_bucket_notification_configuration, _MARK, False), __name__,
            "S3Backend.put_bucket_notification_configuration is not wrapped")
