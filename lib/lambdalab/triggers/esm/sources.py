"""Reading a stream the way Lambda's poller does: GetShardIterator once per shard, then GetRecords in large pages.

Each source turns what the backend returns into ``records.Record``s in Lambda's event shapes. Iterators are taken when
the mapping is created, so LATEST means "records written after connecting", as on AWS.
"""
from __future__ import annotations

from ... import aws
from .records import DYNAMODB, KINESIS, dynamodb_record, kinesis_record

DYNAMODB_RETENTION_S = 24 * 3600


def _name_from(name_or_arn: str, kind: str) -> str:
    if isinstance(name_or_arn, str) and name_or_arn.startswith("arn:"):
        return name_or_arn.split(":", 5)[5].split("/")[1]
    if not isinstance(name_or_arn, str) or not name_or_arn:
        raise ValueError(f"Give the {kind} as its name (a non-empty string) or its ARN, not {name_or_arn!r}.")
    return name_or_arn


class _Source:
    """What both streams share: one iterator per shard, GetRecords pages, and a fresh iterator after the last record
    read when an iterator expires (Kinesis iterators last 5 minutes, DynamoDB Streams ones 15)."""

    kind = ""
    page_limit = 1_000
    client = None

    def _open(self, shards: list[str], starting_position: str) -> None:
        self._starting_position = starting_position
        self._last: dict[str, str] = {}
        self._iterators = {shard: self._iterator(shard) for shard in shards}

    def _iterator(self, shard: str) -> str:
        if shard in self._last:
            return self._get_iterator(shard, "AFTER_SEQUENCE_NUMBER", self._last[shard])
        return self._get_iterator(shard, self._starting_position, None)

    def shard_ids(self) -> list[str]:
        return list(self._iterators)

    def read(self, shard: str) -> tuple[list, bool]:
        """One GetRecords page: (records, caught up with the tip of the shard)."""
        iterator = self._iterators[shard]
        if iterator is None:  # a closed shard, read to its end
            return [], True
        try:
            page = self.client.get_records(ShardIterator=iterator, Limit=self.page_limit)
        except self.client.exceptions.ExpiredIteratorException:
            self._iterators[shard] = self._iterator(shard)
            return [], False
        self._iterators[shard] = page.get("NextShardIterator")
        records = [self._record(raw, shard) for raw in page["Records"]]
        if records:
            self._last[shard] = records[-1].sequence_number
        return records, len(records) < self.page_limit and not page.get("MillisBehindLatest")


class KinesisSource(_Source):
    """A Kinesis data stream: every shard, read with GetRecords pages of up to 10,000 records."""

    kind = KINESIS
    page_limit = 10_000

    def __init__(self, stream: str, identity_arn: str, starting_position: str, timestamp: float | None = None):
        self.client = aws.client("kinesis")
        self.name = _name_from(stream, "stream")
        try:
            summary = self.client.describe_stream_summary(StreamName=self.name)["StreamDescriptionSummary"]
        except self.client.exceptions.ResourceNotFoundException:
            raise ValueError(f"There is no Kinesis stream named {self.name!r}. Create it first, e.g. "
                             f"aws.client('kinesis').create_stream(StreamName={self.name!r}, ShardCount=2).") from None
        self.arn = summary["StreamARN"]
        self.retention_s = summary["RetentionPeriodHours"] * 3600
        self.region = aws.backend().region
        self.identity_arn = identity_arn
        self.timestamp = timestamp
        shards, token = [], None
        while True:
            page = self.client.list_shards(**({"NextToken": token} if token else {"StreamName": self.name}))
            shards += [s["ShardId"] for s in page["Shards"]]
            token = page.get("NextToken")
            if not token:
                break
        self._open(sorted(shards), starting_position)

    def _get_iterator(self, shard, iterator_type, sequence_number):
        where = {"ShardIteratorType": iterator_type}
        if sequence_number is not None:
            where["StartingSequenceNumber"] = sequence_number
        if iterator_type == "AT_TIMESTAMP":
            where["Timestamp"] = self.timestamp
        return self.client.get_shard_iterator(StreamName=self.name, ShardId=shard, **where)["ShardIterator"]

    def _record(self, raw, shard):
        return kinesis_record(raw, shard, self.arn, self.region, self.identity_arn)


class DynamoDBStreamSource(_Source):
    """A DynamoDB table's stream (DynamoDB Streams): every shard, GetRecords pages of up to 1,000 records."""

    kind = DYNAMODB
    page_limit = 1_000
    retention_s = DYNAMODB_RETENTION_S

    def __init__(self, table: str, starting_position: str):
        self.table = self.name = _name_from(table, "table")
        dynamodb = aws.client("dynamodb")
        try:
            description = dynamodb.describe_table(TableName=self.table)["Table"]
        except dynamodb.exceptions.ResourceNotFoundException:
            raise ValueError(f"There is no DynamoDB table named {self.table!r}. Create it first (with "
                             "StreamSpecification={'StreamEnabled': True, 'StreamViewType': 'NEW_AND_OLD_IMAGES'}).") \
                from None
        spec = description.get("StreamSpecification") or {}
        if not spec.get("StreamEnabled") or not description.get("LatestStreamArn"):
            raise ValueError(
                f"Table {self.table!r} has no stream, so there is nothing for Lambda to read. Turn one on: "
                f"aws.client('dynamodb').update_table(TableName={self.table!r}, StreamSpecification="
                "{'StreamEnabled': True, 'StreamViewType': 'NEW_AND_OLD_IMAGES'}).")
        self.arn = description["LatestStreamArn"]
        self.view_type = spec.get("StreamViewType")
        self.region = self.arn.split(":")[3]  # the stream's region, which every record names (awsRegion)
        self.client = aws.client("dynamodbstreams")
        shards, start = [], {}
        while True:
            stream = self.client.describe_stream(StreamArn=self.arn, **start)["StreamDescription"]
            shards += [s["ShardId"] for s in stream["Shards"]]
            if not stream.get("LastEvaluatedShardId"):
                break
            start = {"ExclusiveStartShardId": stream["LastEvaluatedShardId"]}
        self._open(shards, starting_position)

    def _get_iterator(self, shard, iterator_type, sequence_number):
        where = {"SequenceNumber": sequence_number} if sequence_number is not None else {}
        return self.client.get_shard_iterator(StreamArn=self.arn, ShardId=shard, ShardIteratorType=iterator_type,
                                              **where)["ShardIterator"]

    def _record(self, raw, shard):
        return dynamodb_record(raw, shard, self.arn, self.region)
