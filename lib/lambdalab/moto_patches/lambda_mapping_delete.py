"""Deleting an event source mapping must stop its deliveries, as on AWS.

moto registers a DynamoDB-stream, Kinesis or SQS mapping on the table, stream or queue as well, and DeleteEventSourceMapping forgets
only its own copy: the table goes on handing every new stream record to moto's Lambda (which wants Docker) and
dropping it from the shard. A stack deployed from deploy/template.yaml leaves such mappings; the course deletes them
and connects its own (connect_dynamodb_stream), which would then read nothing.
"""
from __future__ import annotations

from . import require

_MARK = "_lambdalab_unregisters"


def apply(server=None) -> None:
    from moto.awslambda.models import LambdaBackend

    original = LambdaBackend.delete_event_source_mapping
    if getattr(original, _MARK, False):
        return

    def delete_event_source_mapping(self, uuid):
        mapping = original(self, uuid)
        if mapping is not None:
            for holder in _registrations(self):
                for key, registered in list(holder.lambda_event_source_mappings.items()):
                    if registered is mapping:
                        del holder.lambda_event_source_mappings[key]
        return mapping

    setattr(delete_event_source_mapping, _MARK, True)
    LambdaBackend.delete_event_source_mapping = delete_event_source_mapping


def _registrations(backend):
    """The tables, streams and queues of the backend's account and region (where moto registers mappings)."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.kinesis.models import kinesis_backends
    from moto.sqs.models import sqs_backends

    yield from dynamodb_backends[backend.account_id][backend.region_name].tables.values()
    yield from kinesis_backends[backend.account_id][backend.region_name].streams.values()
    yield from sqs_backends[backend.account_id][backend.region_name].queues.values()


def verify() -> None:
    from moto.awslambda.models import LambdaBackend

    require(getattr(LambdaBackend.delete_event_source_mapping, _MARK, False), __name__,
            "LambdaBackend.delete_event_source_mapping is not wrapped")
