"""How the call recorder names an API call for IAM: the action (not always the operation's name) and the resource ARN
policies are written against, plus the condition keys the course evaluates."""
import pytest

from lambdalab._call_recorder import denial_message, describe

WHERE = "us-east-1:123456789012"


@pytest.mark.parametrize("service, operation, params, action, resource", [
    ("s3", "GetObject", {"Bucket": "in", "Key": "a/b c.jpg"}, "s3:GetObject", "arn:aws:s3:::in/a/b c.jpg"),
    ("s3", "HeadObject", {"Bucket": "in", "Key": "k"}, "s3:GetObject", "arn:aws:s3:::in/k"),
    ("s3", "GetObject", {"Bucket": "in", "Key": "k", "VersionId": "v1"}, "s3:GetObjectVersion", "arn:aws:s3:::in/k"),
    ("s3", "HeadObject", {"Bucket": "in", "Key": "k", "VersionId": "v1"}, "s3:GetObjectVersion", "arn:aws:s3:::in/k"),
    ("s3", "DeleteObject", {"Bucket": "in", "Key": "k", "VersionId": "v1"}, "s3:DeleteObjectVersion",
     "arn:aws:s3:::in/k"),
    ("s3", "ListObjectsV2", {"Bucket": "in", "Prefix": "p/"}, "s3:ListBucket", "arn:aws:s3:::in"),
    ("s3", "ListBuckets", {}, "s3:ListAllMyBuckets", "*"),
    ("dynamodb", "PutItem", {"TableName": "audit"}, "dynamodb:PutItem", f"arn:aws:dynamodb:{WHERE}:table/audit"),
    ("dynamodb", "Query", {"TableName": "audit", "IndexName": "by-user"}, "dynamodb:Query",
     f"arn:aws:dynamodb:{WHERE}:table/audit/index/by-user"),
    ("dynamodb", "BatchWriteItem", {"RequestItems": {"t": []}}, "dynamodb:BatchWriteItem",
     f"arn:aws:dynamodb:{WHERE}:table/t"),
    ("kinesis", "PutRecord", {"StreamName": "clicks"}, "kinesis:PutRecord", f"arn:aws:kinesis:{WHERE}:stream/clicks"),
    ("sqs", "SendMessage", {"QueueUrl": "http://127.0.0.1:5000/123456789012/verify"}, "sqs:SendMessage",
     f"arn:aws:sqs:{WHERE}:verify"),
    ("sqs", "SendMessage", {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/999999999999/theirs"}, "sqs:SendMessage",
     "arn:aws:sqs:us-east-1:999999999999:theirs"),
    ("secretsmanager", "GetSecretValue", {"SecretId": f"arn:aws:secretsmanager:{WHERE}:secret:db-AbCdEf"},
     "secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{WHERE}:secret:db-AbCdEf"),
    ("lambda", "Invoke", {"FunctionName": "other"}, "lambda:InvokeFunction", f"arn:aws:lambda:{WHERE}:function:other"),
    ("logs", "PutLogEvents", {"logGroupName": "/aws/lambda/f", "logStreamName": "s"}, "logs:PutLogEvents",
     f"arn:aws:logs:{WHERE}:log-group:/aws/lambda/f:log-stream:s"),
    ("events", "PutEvents", {"Entries": [{"Source": "app"}]}, "events:PutEvents", f"arn:aws:events:{WHERE}:event-bus/default"),
    ("ssm", "GetParameter", {"Name": "/app/db"}, "ssm:GetParameter", f"arn:aws:ssm:{WHERE}:parameter/app/db"),
    ("monitoring", "PutMetricData", {}, "cloudwatch:PutMetricData", "*"),
    ("sqs", "SendMessageBatch", {"QueueUrl": "http://h/123456789012/q"}, "sqs:SendMessage", f"arn:aws:sqs:{WHERE}:q"),
    ("s3", "UploadPart", {"Bucket": "out", "Key": "big"}, "s3:PutObject", "arn:aws:s3:::out/big"),
])
def test_calls_are_named_as_iam_names_them(service, operation, params, action, resource):
    assert describe(service, operation, params, "us-east-1", "123456789012")[:2] == (action, resource)


def test_condition_keys_of_a_request():
    _, _, keys = describe("s3", "ListObjectsV2", {"Bucket": "in", "Prefix": "p/"}, "us-east-1", "123456789012")
    assert keys["s3:prefix"] == "p/" and keys["aws:RequestedRegion"] == "us-east-1"
    _, _, keys = describe("secretsmanager", "GetSecretValue", {"SecretId": "arn:aws:secretsmanager:x:1:secret:s",
                                                               "VersionStage": "AWSPENDING"}, "us-east-1", "1")
    assert keys["secretsmanager:VersionStage"] == "AWSPENDING"


def test_denial_messages_as_aws_words_them():
    role = "arn:aws:iam::123456789012:role/service-role/thumb-role"
    implicit = denial_message(role, "thumb", "123456789012", "s3:PutObject", "arn:aws:s3:::in/a.jpg", False)
    assert implicit == ("User: arn:aws:sts::123456789012:assumed-role/thumb-role/thumb is not authorized to perform: "
                        's3:PutObject on resource: "arn:aws:s3:::in/a.jpg" because no identity-based policy allows '
                        "the s3:PutObject action")
    explicit = denial_message(role, "thumb", "123456789012", "s3:PutObject", "arn:aws:s3:::in/a.jpg", True)
    assert explicit.endswith('on resource: "arn:aws:s3:::in/a.jpg" with an explicit deny in an identity-based policy')
    other = denial_message(role, "audit", "123456789012", "dynamodb:PutItem", "arn:aws:dynamodb:r:1:table/t", False)
    assert "dynamodb:PutItem on resource: arn:aws:dynamodb:r:1:table/t because" in other  # only S3 quotes it


def test_a_batch_or_transaction_needs_its_action_on_every_table_and_bus():
    from lambdalab._call_recorder import authorizations

    table = f"arn:aws:dynamodb:{WHERE}:table/"
    needed, _ = authorizations("dynamodb", "BatchWriteItem", {"RequestItems": {"audit": [], "users": []}},
                               "us-east-1", "123456789012")
    assert needed == [("dynamodb:BatchWriteItem", table + "audit"), ("dynamodb:BatchWriteItem", table + "users")]
    needed, keys = authorizations("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "audit"}}, {"ConditionCheck": {"TableName": "users"}}, {"Update": {"TableName": "audit"}},
        {"Put": {"TableName": "audit"}}]}, "us-east-1", "123456789012")
    assert needed == [("dynamodb:PutItem", table + "audit"), ("dynamodb:ConditionCheckItem", table + "users"),
                      ("dynamodb:UpdateItem", table + "audit")]  # each once
    assert keys["dynamodb:EnclosingOperation"] == "TransactWriteItems"
    needed, _ = authorizations("events", "PutEvents", {"Entries": [
        {"Source": "a"}, {"Source": "b", "EventBusName": "orders"}, {"Source": "c", "EventBusName": "default"}]},
        "us-east-1", "123456789012")
    assert needed == [("events:PutEvents", f"arn:aws:events:{WHERE}:event-bus/default"),
                      ("events:PutEvents", f"arn:aws:events:{WHERE}:event-bus/orders")]
    needed, _ = authorizations("s3", "GetObject", {"Bucket": "in", "Key": "k"}, "us-east-1", "123456789012")
    assert needed == [("s3:GetObject", "arn:aws:s3:::in/k")]
