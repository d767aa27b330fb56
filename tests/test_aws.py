"""The backend: moto by default, idempotent start, reset, and other backends chosen by environment variables."""
import os
import subprocess
import sys

import pytest

from lambdalab import aws, clock


def test_start_is_idempotent_and_keeps_state(backend):
    aws.client("s3").create_bucket(Bucket="kept-bucket")
    again = aws.start()
    assert again is backend and backend.name == "moto" and backend.in_process
    assert backend.account_id == "123456789012" and backend.region == "us-east-1"
    assert [b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]] == ["kept-bucket"]
    assert "moto" in str(backend) and "moto" in backend._repr_markdown_()


def test_clients_are_cached_and_dynamodb_streams_work(backend):
    assert aws.client("s3") is aws.client("s3")
    ddb = aws.client("dynamodb")
    ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    streams = aws.client("dynamodbstreams").list_streams()["Streams"]
    assert [s["TableName"] for s in streams] == ["t"]  # needs AWS_ACCOUNT_ID_ENDPOINT_MODE=disabled


def test_worker_environment_points_at_the_loopback_server(backend):
    env = aws.worker_environment()
    assert env["AWS_ENDPOINT_URL"] == backend.endpoint_url and env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["AWS_ACCESS_KEY_ID"] == "testing" and env["AWS_REGION"] == "us-east-1"


def _run_with(env_vars: dict, code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDALAB_BACKEND", "LAMBDALAB_ENDPOINT"))}
    env.update(env_vars)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_unknown_backend_is_refused_with_the_choices():
    result = _run_with({"LAMBDALAB_BACKEND": "azure"}, "from lambdalab import aws; aws.start()")
    assert result.returncode != 0 and "moto, moto-server, localstack, aws" in result.stderr


def test_unreachable_localstack_says_how_to_start_it():
    result = _run_with({"LAMBDALAB_BACKEND": "localstack", "LAMBDALAB_ENDPOINT": "http://127.0.0.1:9"},
                       "from lambdalab import aws; aws.start()")
    assert result.returncode != 0 and "start LocalStack" in result.stderr


def test_external_moto_server_backend(backend):
    """A separate process chooses the moto-server backend and sees this kernel's loopback moto as that server."""
    code = ("from lambdalab import aws; b = aws.start(); print(b.name, b.in_process); "
            "aws.client('s3').create_bucket(Bucket='from-the-other-process'); aws.reset(); "
            "print(aws.client('s3').list_buckets()['Buckets'])")
    aws.client("s3").create_bucket(Bucket="before")
    result = _run_with({"LAMBDALAB_BACKEND": "moto-server", "LAMBDALAB_ENDPOINT": backend.endpoint_url}, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["moto-server False", "[]"]


def test_reset_is_refused_on_real_aws(monkeypatch):
    fake = aws.Backend("aws", "us-east-1", "111122223333", None, in_process=False)
    monkeypatch.setattr(aws, "_backend", fake)
    with pytest.raises(RuntimeError, match="only works on an emulated backend"):
        aws.reset()


def test_simulated_clock_moves_only_forward():
    before = clock.now()
    clock.sleep(3600)
    assert clock.now() - before >= 3600
    assert abs(clock.now_ms() / 1000 - clock.now()) < 1
    assert clock.now_datetime().tzinfo is not None
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
