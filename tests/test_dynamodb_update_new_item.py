"""UpdateItem on a new key streams one INSERT with the updated item (moto alone streams a key-only INSERT first)."""


def table_with_stream(aws):
    client = aws.client("dynamodb")
    client.create_table(TableName="orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST",
                        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    return client


def stream_records(aws):
    streams = aws.client("dynamodbstreams")
    arn = aws.client("dynamodb").describe_table(TableName="orders")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return streams.get_records(ShardIterator=iterator)["Records"]


def test_an_update_that_creates_the_item_is_one_insert_then_updates_are_modifies(backend):
    from lambdalab import aws
    from lambdalab.moto_patches import dynamodb_update_new_item

    dynamodb_update_new_item.verify()
    client = table_with_stream(aws)
    for _ in range(2):
        client.update_item(TableName="orders", Key={"id": {"S": "o-3"}}, UpdateExpression="ADD seen :one",
                           ExpressionAttributeValues={":one": {"N": "1"}})
    client.put_item(TableName="orders", Item={"id": {"S": "o-4"}})
    records = stream_records(aws)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "INSERT"]
    assert records[0]["dynamodb"]["NewImage"] == {"id": {"S": "o-3"}, "seen": {"N": "1"}}
    assert records[1]["dynamodb"]["OldImage"] == {"id": {"S": "o-3"}, "seen": {"N": "1"}}
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == sorted(set(numbers))  # increasing, none reused
