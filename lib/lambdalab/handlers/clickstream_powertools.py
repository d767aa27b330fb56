"""The clickstream function again, with the per-record loop taken from Powertools for AWS Lambda (Python).

``BatchProcessor(EventType.KinesisDataStreams)`` calls ``record_handler`` once per record with a typed
``KinesisStreamRecord`` (``record.kinesis.data_as_json()``, ``record.kinesis.sequence_number``...) and keeps the
records that raised. Everything after the loop is the hand-written function's (``clickstream.py``): set malformed
records aside, load the batch in one transaction with its applied records, report only what a retry can fix.

What the utility does not do for you: exactly-once loading (it retries what failed; what succeeded before a retry is
yours to skip), the dead-letter queue of your own, and the transaction. Its own ``response()`` reports every record
that raised, which is the hand-written function's behaviour without ``MALFORMED_QUEUE_URL``.

Deploy with Powertools as a Lambda layer (or in the .zip), beside ``clickstream.py``; same environment variables.
"""
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from . import clickstream as hand_written

processor = BatchProcessor(event_type=EventType.KinesisDataStreams, raise_on_entire_batch_failure=False)


def record_handler(record: KinesisStreamRecord) -> dict:
    """One record -> the transformed click; raising (BadClick) marks it failed."""
    try:
        return hand_written.parse_click(record.raw_event)
    except hand_written.BadClick as why:
        hand_written.logger.error("MALFORMED %s: %s", record.event_id, why)
        raise


def handler(event, context):
    records = hand_written.kinesis_records(event)
    settings = hand_written.load_settings()
    with processor(records=records, handler=record_handler):
        outcomes = processor.process()
    clicks = [(record, click) for status, click, record in outcomes if status == "success"]  # record: the event's dict
    malformed = [(record, why.split(":", 1)[-1]) for status, why, record in outcomes if status == "fail"]
    failures = hand_written.database(settings).run(lambda db: hand_written.load(db, clicks, malformed, settings))
    return {"batchItemFailures": [{"itemIdentifier": r["kinesis"]["sequenceNumber"]} for r in failures]}
