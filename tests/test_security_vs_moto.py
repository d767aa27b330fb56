"""Where moto enforces IAM faithfully (S3: per action and resource), its verdicts and the course's evaluator agree
call for call; the course uses its own evaluator for every service (moto checks DynamoDB, Kinesis, Secrets Manager
and Logs by action alone)."""
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core import set_initial_no_auth_action_count

from lambdalab import aws, security

POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::vs-in/*"},
    {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::vs-out/*"},
    {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::vs-out/public/*"},
    {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::vs-out/locked/*"}]}
CALLS = [("get_object", "vs-in", "a.jpg"), ("put_object", "vs-in", "a.jpg"), ("put_object", "vs-out", "t.jpg"),
         ("get_object", "vs-out", "t.jpg"), ("delete_object", "vs-in", "a.jpg"), ("delete_object", "vs-out", "t.jpg"),
         ("delete_object", "vs-out", "public/p.jpg"), ("put_object", "vs-out", "locked/x.jpg")]
ACTIONS = {"get_object": "s3:GetObject", "put_object": "s3:PutObject", "delete_object": "s3:DeleteObject"}


@pytest.fixture
def user_client(backend):
    s3 = aws.client("s3")
    for bucket, key in (("vs-in", "a.jpg"), ("vs-out", "t.jpg")):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    iam = aws.client("iam")
    iam.create_user(UserName="checker")
    iam.put_user_policy(UserName="checker", PolicyName="p", PolicyDocument=json.dumps(POLICY))
    keys = iam.create_access_key(UserName="checker")["AccessKey"]
    return boto3.session.Session(aws_access_key_id=keys["AccessKeyId"], aws_secret_access_key=keys["SecretAccessKey"],
                                 region_name=aws.backend().region).client("s3")


def moto_allows(client, method, bucket, key) -> bool:
    kwargs = {"Bucket": bucket, "Key": key, **({"Body": b"y"} if method == "put_object" else {})}
    try:
        getattr(client, method)(**kwargs)
        return True
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied"
        return False


def test_moto_s3_enforcement_and_the_course_evaluator_agree(user_client):
    @set_initial_no_auth_action_count(0)
    def verdicts():
        return [moto_allows(user_client, method, bucket, key) for method, bucket, key in CALLS]

    ours = [security.evaluate(POLICY, ACTIONS[method], f"arn:aws:s3:::{bucket}/{key}").allowed
            for method, bucket, key in CALLS]
    assert ours == [True, False, True, False, False, False, True, False]
    assert verdicts() == ours
