"""The two moto corrections deploying deploy/template.yaml needs take effect: a CloudFormation role's inline policy
reads back as JSON, and a deleted DynamoDB-stream mapping stops taking the stream's records."""
import json

from lambdalab import aws, security
from lambdalab.moto_patches import iam_cloudformation_policies, lambda_mapping_delete


def test_a_cloudformation_roles_inline_policy_reads_back_as_json(backend):
    iam_cloudformation_policies.verify()
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                      "Resource": "arn:aws:s3:::b/*"}]}
    template = {"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": "cfn-role", "AssumeRolePolicyDocument": security.lambda_trust_policy(),
        "Policies": [{"PolicyName": "read", "PolicyDocument": policy}]}}}}
    aws.client("cloudformation").create_stack(StackName="roles", TemplateBody=json.dumps(template))
    raw = aws.client("iam").get_role_policy(RoleName="cfn-role", PolicyName="read")
    assert raw["PolicyDocument"] == policy  # boto3 decodes the JSON; moto's repr would come back as a string
    assert security.role_policies("cfn-role") == [policy]


def test_deleting_a_dynamodb_stream_mapping_stops_its_deliveries(backend):
    lambda_mapping_delete.verify()
    ddb = aws.client("dynamodb")
    arn = ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                           BillingMode="PAY_PER_REQUEST",
                           StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
                           )["TableDescription"]["LatestStreamArn"]
    lam = aws.client("lambda")
    role = security.create_role("fn-role", None)
    lam.create_function(FunctionName="fn", Runtime="python3.12", Role=role, Handler="x.handler",
                        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})
    uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="fn", StartingPosition="TRIM_HORIZON")["UUID"]
    lam.delete_event_source_mapping(UUID=uuid)
    from moto.dynamodb.models import dynamodb_backends

    assert dynamodb_backends["123456789012"]["us-east-1"].get_table("t").lambda_event_source_mappings == {}
    ddb.put_item(TableName="t", Item={"id": {"S": "1"}})  # would go to moto's Lambda (Docker) and vanish
    streams = aws.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    assert len(streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]) == 1


def test_deleting_a_kinesis_mapping_stops_its_deliveries(backend):
    from moto.kinesis.models import kinesis_backends

    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName="clicks-raw", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="clicks-raw")["StreamDescription"]["StreamARN"]
    lam = aws.client("lambda")
    lam.create_function(FunctionName="fn", Runtime="python3.12", Role=security.create_role("fn-role", None),
                        Handler="x.handler", Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})
    uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="fn", StartingPosition="TRIM_HORIZON")["UUID"]
    stream = kinesis_backends["123456789012"]["us-east-1"].streams["clicks-raw"]
    assert stream.lambda_event_source_mappings  # moto's own copy, which would run the function (in Docker)
    lam.delete_event_source_mapping(UUID=uuid)
    assert stream.lambda_event_source_mappings == {}
