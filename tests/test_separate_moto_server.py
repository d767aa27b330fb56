"""The backend switch exercised against a moto server in another process, the way LocalStack or real AWS is reached
(an endpoint and credentials): notebook 02 and the stream tests with LAMBDALAB_BACKEND=moto-server, then the safety
layer with the same server posing as a real account (LAMBDALAB_BACKEND=aws plus the tests' endpoint switch)."""
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

import boto3
import pytest

from notebook_runner import run_notebook

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = "ann-lab-"
# The stream tests against a moto server: the mapping engine, its settings, both stream sources and the handlers'
# malformed-record paths. Left out, each for a reason that is not the backend switch's: a test that moves the
# simulated clock to age records (a separate server keeps real time), moto's record of sent email (mail.sent() needs
# the in-process backend), and the clickstream counts that lambdalab.moto_patches.kinesis corrects in-process only.
STREAM_TESTS = [
    "tests/test_streams_engine.py", "tests/test_streams_settings.py", "tests/test_streams_dynamodb.py",
    "tests/test_streams_kinesis.py",
    "tests/test_stream_audit_handler.py::test_a_ttl_deletion_is_attributed_to_the_dynamodb_service",
    "tests/test_stream_audit_handler.py::test_a_malformed_record_is_reported_alone_and_its_neighbours_are_audited",
    "tests/test_clickstream_handler.py::test_malformed_records_are_reported_alone_and_the_rest_is_counted",
    "tests/test_clickstream_handler.py::test_timestamps_become_the_utc_minute_and_unexpected_fields_are_ignored",
]
MOVES_THE_CLOCK = [
    "tests/test_streams_kinesis.py::test_a_poison_pill_with_default_settings_blocks_its_shard",
    "tests/test_streams_kinesis.py::test_records_already_too_old_are_discarded_without_an_invocation",
    "tests/test_streams_kinesis.py::test_tumbling_windows_carry_state_and_end_with_a_final_invocation",
    "tests/test_streams_kinesis.py::test_latest_reads_only_new_records_trim_horizon_and_at_timestamp_read_back",
]

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_server():
    """`python -m moto.server` in its own process on a free port; its URL."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail(f"moto server did not start on port {port}")
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=10)


def _reset(url):
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).close()


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDALAB_BACKEND", "LAMBDALAB_ENDPOINT"))}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1", **extra)
    return env


def test_notebook_02_runs_against_a_moto_server_in_another_process(moto_server, monkeypatch):
    _reset(moto_server)
    monkeypatch.setenv("LAMBDALAB_BACKEND", "moto-server")  # the kernel inherits them
    monkeypatch.setenv("LAMBDALAB_ENDPOINT", moto_server)
    run_notebook(os.path.join(ROOT, "notebooks", "02_s3_file_processing.ipynb"), twice=False)
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert buckets  # the notebook's buckets are on the server, not in the kernel
    thumbnails = [o["Key"] for b in buckets for o in s3.list_objects_v2(Bucket=b).get("Contents", [])
                  if o["Key"].rsplit("/", 1)[-1].startswith("thumb-")]
    assert thumbnails


def test_the_stream_tests_pass_against_a_moto_server(moto_server):
    _reset(moto_server)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                          *STREAM_TESTS, *(f"--deselect={t}" for t in MOVES_THE_CLOCK)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=_env(LAMBDALAB_TEST_BACKEND="moto-server", LAMBDALAB_TEST_ENDPOINT=moto_server))
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout


# --- the same server posing as a real AWS account ------------------------------------------------------------------

COURSE = textwrap.dedent("""
    import json, sys
    from lambdalab import aws, safety
    b = aws.start()
    out = {"backend": b.name, "prefix": b.prefix, "refused": []}
    s3, ddb, sqs = aws.client("s3"), aws.client("dynamodb"), aws.client("sqs")
    for make in (lambda: s3.create_bucket(Bucket="photos-in"),
                 lambda: sqs.create_queue(QueueName="failures")):
        try:
            make()
        except safety.UnsafeOperation as refused:
            out["refused"].append(str(refused))
    s3.create_bucket(Bucket="ann-lab-photos-in")
    s3.put_object(Bucket="ann-lab-photos-in", Key="a.jpg", Body=b"x")
    ddb.create_table(TableName="ann-lab-audit", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST", Tags=[{"Key": "owner", "Value": "ann"}])
    sqs.create_queue(QueueName="ann-lab-failures")
    aws.client("kinesis").create_stream(StreamName="ann-lab-clicks", ShardCount=1)
    from lambdalab import security
    security.create_role("ann-lab-thumbnail", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::ann-lab-photos-in/*"}]})
    # the thumbnail pipeline, as in notebook 02: the trigger's own queue gets the prefix and the tag too
    from lambdalab.labs.lab01 import image_bytes
    from lambdalab.runtime import LambdaFunction
    from lambdalab.triggers import connect_s3
    s3.create_bucket(Bucket="ann-lab-photos-out")
    fn = LambdaFunction("ann-lab-thumbnail", "lambdalab.handlers.thumbnail.handler",
                        environment={"OUTPUT_BUCKET": "ann-lab-photos-out"})
    trigger = connect_s3("ann-lab-photos-in", fn)
    s3.put_object(Bucket="ann-lab-photos-in", Key="cat.jpg", Body=image_bytes(300, 200))
    out["drained"] = trigger.drain().summary()
    out["thumbnails"] = [o["Key"] for o in s3.list_objects_v2(Bucket="ann-lab-photos-out").get("Contents", [])]
    out["log_groups"] = [g["logGroupName"] for g in aws.client("logs").describe_log_groups()["logGroups"]]
    fn.shutdown()
    try:
        aws.reset()
    except RuntimeError as refused:
        out["reset"] = str(refused)
    out["tags"] = ddb.list_tags_of_resource(
        ResourceArn=ddb.describe_table(TableName="ann-lab-audit")["Table"]["TableArn"])["Tags"]
    print(json.dumps(out))
""")


def _course(url, prefix=PREFIX, code=COURSE, **extra):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=_env(LAMBDALAB_BACKEND="aws", LAMBDALAB_AWS_ENDPOINT=url, LAMBDALAB_PREFIX=prefix,
                                   **extra))


def _cleanup(url, *args, answer=None):
    return subprocess.run([sys.executable, "-m", "lambdalab.cli", "cleanup", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, input=answer,
                          env=_env(LAMBDALAB_BACKEND="aws", LAMBDALAB_AWS_ENDPOINT=url, LAMBDALAB_PREFIX=PREFIX))


def _account(url):
    """What is in the 'account', read with plain boto3 (not the course's hooked session)."""
    kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    return {"buckets": sorted(b["Name"] for b in boto3.client("s3", **kw).list_buckets()["Buckets"]),
            "tables": sorted(boto3.client("dynamodb", **kw).list_tables()["TableNames"]),
            "queues": sorted(u.rsplit("/", 1)[-1] for u in boto3.client("sqs", **kw).list_queues().get("QueueUrls", [])),
            "streams": sorted(boto3.client("kinesis", **kw).list_streams()["StreamNames"]),
            "roles": sorted(r["RoleName"] for r in boto3.client("iam", **kw).list_roles()["Roles"])}


def test_real_aws_mode_needs_a_prefix(moto_server):
    for prefix in ("", "x", "Ann Lab"):
        run = _course(moto_server, prefix=prefix, code="from lambdalab import aws; aws.start()")
        assert run.returncode != 0
        assert "LAMBDALAB_BACKEND=aws needs LAMBDALAB_PREFIX" in run.stderr


def test_on_a_real_account_the_course_names_tags_and_cleans_up_only_what_it_created(moto_server):
    _reset(moto_server)
    kw = dict(endpoint_url=moto_server, region_name="us-east-1", aws_access_key_id="testing",
              aws_secret_access_key="testing")
    # the account's own things: one unrelated, one with the prefix but made by hand (no tag), one of another prefix
    s3, sqs = boto3.client("s3", **kw), boto3.client("sqs", **kw)
    s3.create_bucket(Bucket="company-data")
    s3.create_bucket(Bucket="ann-lab-by-hand")
    sqs.create_queue(QueueName="ann-lab-manual")
    sqs.create_queue(QueueName="bob-lab-failures", tags={"lambdalab-course": "bob-lab-"})
    s3.create_bucket(Bucket="ann-lab-not-mine")
    s3.put_bucket_tagging(Bucket="ann-lab-not-mine", Tagging={"TagSet": [{"Key": "lambdalab-course",
                                                                          "Value": "someone-else-"}]})
    before = _account(moto_server)

    run = _course(moto_server)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["backend"] == "aws" and out["prefix"] == PREFIX
    assert len(out["refused"]) == 2 and "does not start with LAMBDALAB_PREFIX 'ann-lab-'" in out["refused"][0]
    assert "Name it ann-lab-photos-in" in out["refused"][0]
    assert "only works on an emulated backend" in out["reset"]
    assert {"Key": "lambdalab-course", "Value": PREFIX} in out["tags"] and {"Key": "owner", "Value": "ann"} in out["tags"]
    assert boto3.client("s3", **kw).get_bucket_tagging(Bucket="ann-lab-photos-in")["TagSet"] == [
        {"Key": "lambdalab-course", "Value": PREFIX}]
    assert "photos-in" not in _account(moto_server)["buckets"]  # refused, never created
    assert out["thumbnails"] == ["thumb-cat.jpg"], out["drained"]  # the whole pipeline works in this mode
    assert out["log_groups"] == ["/aws/lambda/ann-lab-thumbnail"]  # a function's log group counts as prefixed

    listed = _cleanup(moto_server, answer="no\n")  # listed first, nothing deleted without confirmation
    assert listed.returncode == 1 and "Nothing deleted." in listed.stdout
    for name in ("ann-lab-photos-in", "ann-lab-photos-out", "ann-lab-audit", "ann-lab-failures", "ann-lab-clicks",
                 "ann-lab-thumbnail", "ann-lab-lambdalab-s3-ann-lab-photos-in-ann-lab-thumbnail",
                 "/aws/lambda/ann-lab-thumbnail"):
        assert name in listed.stdout
    for name in ("company-data", "ann-lab-by-hand", "ann-lab-manual", "bob-lab-failures", "ann-lab-not-mine"):
        assert name not in listed.stdout
    assert _account(moto_server) != before

    done = _cleanup(moto_server, answer="delete\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("deleted  ") == 8
    after = _account(moto_server)
    assert after == {**before, "roles": after["roles"]} and "ann-lab-thumbnail" not in after["roles"]
    again = _cleanup(moto_server, "--yes")
    assert again.returncode == 0 and "Nothing tagged lambdalab-course=ann-lab-" in again.stdout


def test_cleanup_refuses_to_run_on_an_emulated_backend():
    run = subprocess.run([sys.executable, "-m", "lambdalab.cli", "cleanup", "--yes"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env=_env())
    assert run.returncode == 2 and "is for real AWS" in run.stderr
