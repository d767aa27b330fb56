"""DynamoDB Streams records as AWS writes them and Lambda delivers them (moto_patches/dynamodb_streams.py and the
mapping's records): SizeBytes by DynamoDB's item-size rules (AWS's own sample events), the stream's region,
millisecond stream labels, no record for a write that changes nothing; and the patch reports itself undone."""
import re

import boto3
import pytest

from lambdalab import aws, moto_patches
from lambdalab.moto_patches import dynamodb_streams
from lambdalab.triggers.esm.records import dynamodb_record


def _table(client, name="t", view="NEW_AND_OLD_IMAGES"):
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "N"}],
                        BillingMode="PAY_PER_REQUEST",
                        StreamSpecification={"StreamEnabled": True, "StreamViewType": view})
    return client.describe_table(TableName=name)["Table"]


def _records(streams, arn):
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return streams.get_records(ShardIterator=it)["Records"]


def _lambda_sample_writes(ddb, name="t"):
    """The writes behind Lambda's sample DynamoDB event (Id 101: insert, change the message, delete)."""
    ddb.put_item(TableName=name, Item={"Id": {"N": "101"}, "Message": {"S": "New item!"}})
    ddb.put_item(TableName=name, Item={"Id": {"N": "101"}, "Message": {"S": "This item has changed"}})
    ddb.delete_item(TableName=name, Key={"Id": {"N": "101"}})


def test_size_bytes_match_lambdas_sample_event_and_a_write_that_changes_nothing_is_not_streamed(backend):
    ddb = aws.client("dynamodb")
    table = _table(ddb)
    _lambda_sample_writes(ddb)
    ddb.put_item(TableName="t", Item={"Id": {"N": "7"}, "x": {"S": "same"}})
    ddb.put_item(TableName="t", Item={"Id": {"N": "7"}, "x": {"S": "same"}})  # changes nothing: no record on AWS
    records = _records(aws.client("dynamodbstreams"), table["LatestStreamArn"])
    assert [(r["eventName"], r["dynamodb"]["SizeBytes"]) for r in records] == [
        ("INSERT", 26), ("MODIFY", 59), ("REMOVE", 38), ("INSERT", 4 + 4 + 5)]  # 26, 59, 38: Lambda's sample event


@pytest.mark.parametrize("attributes, size", [
    ({"s": {"S": "héllo"}}, 1 + 6),  # UTF-8 bytes
    ({"n": {"N": "-0.00120"}}, 1 + 1 + 1),  # significant digits "12": 1 byte per two, plus 1
    ({"n": {"N": "12345678901234567890123456789012345678"}}, 1 + 19 + 1),
    ({"b": {"B": b"\x00\x01\x02"}}, 1 + 3),  # raw bytes, not base64
    ({"ok": {"BOOL": True}, "no": {"NULL": True}}, 2 + 1 + 2 + 1),
    ({"ss": {"SS": ["ab", "c"]}, "ns": {"NS": ["1", "22"]}}, 2 + 3 + 2 + 2 + 2),
    ({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}, 1 + 3 + (1 + 2) + (1 + 2)),  # 3 bytes overhead, 1 per element
    ({"m": {"M": {"k": {"S": "v"}}}}, 1 + 3 + (1 + 1 + 1)),
    ({"m": {"M": {}}}, 1 + 3),
])
def test_item_sizes_follow_dynamodbs_rules(attributes, size):
    assert dynamodb_streams.item_size(attributes) == size


def test_records_name_the_streams_region_and_labels_have_milliseconds(backend):
    eu = boto3.client("dynamodb", region_name="eu-west-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    table = _table(eu, "regional")
    assert table["LatestStreamArn"].startswith("arn:aws:dynamodb:eu-west-1:")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", table["LatestStreamLabel"])
    assert table["LatestStreamArn"].endswith("/stream/" + table["LatestStreamLabel"])
    _lambda_sample_writes(eu, "regional")
    streams = boto3.client("dynamodbstreams", region_name="eu-west-1", aws_access_key_id="testing",
                           aws_secret_access_key="testing")
    raw = _records(streams, table["LatestStreamArn"])
    assert {r["awsRegion"] for r in raw} == {"eu-west-1"}
    # what the mapping delivers names the stream's region too (Lambda's record, eventVersion 1.1)
    shard = "shardId-1"
    delivered = dynamodb_record(raw[0], shard, table["LatestStreamArn"], table["LatestStreamArn"].split(":")[3])
    assert delivered.event["awsRegion"] == "eu-west-1" and delivered.event["dynamodb"]["SizeBytes"] == 26


def test_labels_without_a_fraction_get_milliseconds_too():
    assert dynamodb_streams.millisecond_label("2026-01-02T03:04:05") == "2026-01-02T03:04:05.000"
    assert dynamodb_streams.millisecond_label("2026-01-02T03:04:05.123456") == "2026-01-02T03:04:05.123"


def test_the_patch_undone_behind_the_course_is_reported(backend, monkeypatch):
    from moto.dynamodb.models import table

    monkeypatch.setattr(table.StreamRecord, "__init__", dynamodb_streams._originals["record_init"])
    with pytest.raises(moto_patches.MotoPatchError, match="dynamodb_streams"):
        moto_patches.verify_all()


def test_a_number_written_again_with_other_digits_is_no_change(backend):
    """DynamoDB stores numbers by value: 1.0 over 1 (or a number set in another spelling) changes nothing."""
    ddb = aws.client("dynamodb")
    table = _table(ddb)
    ddb.put_item(TableName="t", Item={"Id": {"N": "7"}, "n": {"N": "1"}, "s": {"NS": ["2", "3"]}})
    ddb.put_item(TableName="t", Item={"Id": {"N": "7"}, "n": {"N": "1.0"}, "s": {"NS": ["3.00", "2"]}})
    ddb.put_item(TableName="t", Item={"Id": {"N": "7"}, "n": {"N": "1.00000000000000001"}, "s": {"NS": ["2", "3"]}})
    records = _records(aws.client("dynamodbstreams"), table["LatestStreamArn"])
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY"]  # only the real change of n is streamed
