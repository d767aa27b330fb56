"""Execution roles enforced on the course's three functions: real AccessDenied for what the role does not allow,
least privilege reported (calls, denied, unused, broad, minimal policy), explicit deny beating an allow."""
import json

import pytest

import course_stack
from lambdalab import aws, security
from lambdalab.labs.lab01 import image_bytes
from lambdalab.runtime import LambdaConfigError, LambdaFunction
from lambdalab.security import enforcement
from lambdalab.triggers import connect_dynamodb_stream, connect_kinesis, connect_s3

ACCOUNT, REGION = "123456789012", "us-east-1"
WHERE = f"{REGION}:{ACCOUNT}"


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def thumbnail_policy(function_name, source="photos-in", output="photos-out"):
    """deploy/template.yaml's ThumbnailFunction policy (plus the logs statement SAM adds for every function)."""
    return doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{source}/*"},
               {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{output}/*"},
               security.logs_statement(function_name))


@pytest.fixture
def photos(backend):
    s3 = aws.client("s3")
    for bucket in ("photos-in", "photos-out"):
        s3.create_bucket(Bucket=bucket)
    functions = []

    def thumbnail(role, name="thumbnail"):
        function = LambdaFunction(name, "lambdalab.handlers.thumbnail.handler", memory_mb=256, timeout_s=20,
                                  environment={"OUTPUT_BUCKET": "photos-out"}, role=role)
        functions.append(function)
        return function

    def upload_and_drain(function, *keys):
        trigger = connect_s3("photos-in", function)
        for key in keys:
            s3.put_object(Bucket="photos-in", Key=key, Body=image_bytes(400, 300))
        try:
            return trigger.drain()
        finally:
            trigger.disconnect()

    yield {"s3": s3, "thumbnail": thumbnail, "run": upload_and_drain}
    for function in functions:
        function.shutdown()


def outputs(s3):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket="photos-out").get("Contents", []))


def test_create_role_makes_a_lambda_role_idempotently_and_returns_its_arn(backend):
    policy = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})
    arn = security.create_role("reader", policy)
    assert arn == f"arn:aws:iam::{ACCOUNT}:role/reader"
    assert security.create_role("reader", policy) == arn  # a notebook run twice
    assert security.trust_policy("reader")["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert security.role_policies(arn) == [policy]
    wider = doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    logs = doc(security.logs_statement("reader"))  # moto loads AWS's managed policies only when asked to: our own
    basic = aws.client("iam").create_policy(PolicyName="basic", PolicyDocument=json.dumps(logs))["Policy"]["Arn"]
    security.create_role("reader", wider, managed_policies=[basic])
    found = security.role_policies("reader")
    assert found[0] == wider and len(found) == 2
    assert "logs:PutLogEvents" in json.dumps(found[1])
    security.create_role("reader", policy)
    assert security.role_policies("reader") == [policy]  # replaced, managed policy detached


def test_a_role_that_does_not_exist_or_that_lambda_cannot_assume_is_refused(backend, new_function):
    function = new_function("lambdalab.handlers.thumbnail.handler", role="no-such-role")
    with pytest.raises(LambdaConfigError, match=r"no IAM role 'no-such-role': create it first"):
        function.invoke({})
    ec2_trust = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    arn = security.create_role("ec2-role", doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
                               trust_policy=ec2_trust)
    function.update(role=arn)
    with pytest.raises(LambdaConfigError, match="cannot be assumed by Lambda"):
        function.invoke({})
    assert function.environments == 0


def test_the_templates_thumbnail_policy_is_exactly_least_privilege(photos):
    function = photos["thumbnail"](None)
    function.update(role=security.create_role("thumbnail-role", thumbnail_policy("thumbnail")))
    result = photos["run"](function, "cats/tom.jpg", "dogs/rex.jpg")
    assert not result.failures, result.summary()
    assert outputs(photos["s3"]) == ["cats/thumb-tom.jpg", "dogs/thumb-rex.jpg"]
    report = security.report(function)
    assert report.least_privilege, report.text()
    assert report.count("s3:GetObject") == 2 and report.count("s3:PutObject") == 2
    assert {(c.action, c.resource) for c in report.calls if c.by == "function"} == {
        ("s3:GetObject", "arn:aws:s3:::photos-in/cats/tom.jpg"), ("s3:GetObject", "arn:aws:s3:::photos-in/dogs/rex.jpg"),
        ("s3:PutObject", "arn:aws:s3:::photos-out/cats/thumb-tom.jpg"),
        ("s3:PutObject", "arn:aws:s3:::photos-out/dogs/thumb-rex.jpg")}
    # the minimal policy is the template's (logs included)
    statements = {s["Sid"]: s for s in report.minimal_policy["Statement"]}
    assert statements["S3GetObject"]["Resource"] == "arn:aws:s3:::photos-in/*"
    assert statements["S3PutObject"] == {"Sid": "S3PutObject", "Effect": "Allow", "Action": "s3:PutObject",
                                         "Resource": "arn:aws:s3:::photos-out/*"}
    assert statements["Logs"]["Resource"] == f"arn:aws:logs:{WHERE}:log-group:/aws/lambda/thumbnail:*"
    assert security.evaluate(report.minimal_policy, "s3:PutObject", "arn:aws:s3:::photos-in/x").allowed is False


def test_an_over_broad_policy_works_but_is_flagged_with_the_narrower_policy(photos):
    broad = doc({"Sid": "Everything", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                security.logs_statement("thumbnail"))
    function = photos["thumbnail"](security.create_role("broad-role", broad))
    assert not photos["run"](function, "a.jpg").failures
    report = security.report(function)
    assert not report.denied and not report.least_privilege
    assert len(report.broad) == 1
    finding = report.broad[0]
    assert finding.statement["Sid"] == "Everything"
    assert finding.wide == ("action s3:*", "resource *")
    assert finding.used_for == ("s3:GetObject on arn:aws:s3:::photos-in/*", "s3:PutObject on arn:aws:s3:::photos-out/*")
    assert [s["Action"] for s in finding.suggestion] == ["s3:GetObject", "s3:PutObject"]
    html = report._repr_html_()
    assert "not least privilege" in html and "s3:*" in html


def test_a_too_narrow_policy_fails_with_access_denied_worded_as_aws(photos):
    narrow = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos-in/*"},
                 security.logs_statement("thumbnail"))
    function = photos["thumbnail"](security.create_role("narrow-role", narrow))
    result = photos["run"](function, "a.jpg")
    assert result.failures and outputs(photos["s3"]) == []
    error = function.invocations[-1].error
    assert error["errorType"] == "AccessDenied"  # botocore models S3's AccessDenied, so Lambda names it so
    assert error["errorMessage"] == (
        "An error occurred (AccessDenied) when calling the PutObject operation: User: arn:aws:sts::123456789012:"
        "assumed-role/narrow-role/thumbnail is not authorized to perform: s3:PutObject on resource: "
        '"arn:aws:s3:::photos-out/thumb-a.jpg" because no identity-based policy allows the s3:PutObject action')
    report = security.report(function)
    assert [str(c) for c in report.denied] == ["s3:PutObject on arn:aws:s3:::photos-out/thumb-a.jpg"]
    assert any(s["Action"] == "s3:PutObject" and s["Resource"] == "arn:aws:s3:::photos-out/*"
               for s in report.minimal_policy["Statement"])


def test_an_explicit_deny_beats_the_allow_and_says_so(photos):
    policy = thumbnail_policy("thumbnail")
    policy["Statement"].append({"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::photos-out/dogs/*"})
    function = photos["thumbnail"](security.create_role("guarded", policy))
    photos["run"](function, "cats/tom.jpg", "dogs/rex.jpg")
    assert outputs(photos["s3"]) == ["cats/thumb-tom.jpg"]
    messages = [i.error["errorMessage"] for i in function.invocations if i.error]
    assert messages and all("with an explicit deny in an identity-based policy" in m for m in messages)


def test_unused_grants_and_missing_log_permissions_are_reported(photos):
    policy = doc({"Effect": "Allow", "Action": ["s3:GetObject", "s3:DeleteObject"], "Resource": "arn:aws:s3:::photos-in/*"},
                 {"Effect": "Allow", "Action": "s3:PutObject", "Resource": ["arn:aws:s3:::photos-out/*",
                                                                            "arn:aws:s3:::photos-in/*"]})
    function = photos["thumbnail"](security.create_role("sloppy", policy))
    assert not photos["run"](function, "a.jpg").failures
    report = security.report(function)
    assert [str(g) for g in report.unused] == ["s3:DeleteObject on arn:aws:s3:::photos-in/*",
                                              "s3:PutObject on arn:aws:s3:::photos-in/*"]
    assert {c.action for c in report.denied} == {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
    assert all(c.by == "Lambda" for c in report.denied)


def test_a_function_without_a_role_runs_as_before_and_records_nothing(photos):
    function = photos["thumbnail"](None)
    assert not photos["run"](function, "a.jpg").failures
    assert enforcement.recorded(function) == []
    with pytest.raises(ValueError, match="default role, which is not enforced"):
        security.report(function)


def _template_role(stack, function, name, drop=(), stream_arn=None):
    """A role with the policy deploy/template.yaml gives ``function``'s code (as CloudFormation resolved it, less the
    statements granting the actions in ``drop``) plus the logs statement SAM adds and, for a stream, the four read
    actions Lambda's poller needs (SAM adds a managed policy for them; here scoped to the one stream); returns
    (role ARN, the code's statements)."""
    statements = [s for s in course_stack.code_policy(stack, function)["Statement"] if s["Action"] not in drop]
    extra = [{"Effect": "Allow", "Action": list(enforcement.STREAM_READ_ACTIONS[stream_arn.split(":")[2]]),
              "Resource": stream_arn}] if stream_arn else []
    return security.create_role(f"{name}-role", doc(*statements, *extra, security.logs_statement(name))), statements


def test_the_stream_audit_function_under_its_template_policy(backend):
    stack = course_stack.deploy()
    course_stack.local_triggers_only(stack)
    names = {logical: physical for logical, (kind, physical) in stack["resources"].items()}
    aws.client("ses").verify_email_identity(EmailAddress=course_stack.SENDER)
    environment = stack["functions"]["AuditFunction"]["Environment"]["Variables"]
    stream = aws.client("dynamodb").describe_table(TableName=names["UsersTable"])["Table"]["LatestStreamArn"]
    role, statements = _template_role(stack, "AuditFunction", "audit", stream_arn=stream)
    assert {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])} == {
        "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "sqs:SendMessage", "ses:SendEmail"}
    function = LambdaFunction("audit", "lambdalab.handlers.stream_audit.handler", timeout_s=10,
                              environment=environment, role=role)
    try:
        users = aws.resource("dynamodb").Table(names["UsersTable"])
        users.put_item(Item={"id": "u1", "email": "ann@example.com"})  # welcome email
        users.update_item(Key={"id": "u1"}, UpdateExpression="SET email = :e",  # verification email and message
                          ExpressionAttributeValues={":e": "ann@new.example"})
        first = connect_dynamodb_stream(names["UsersTable"], function,
                                        function_response_types=["ReportBatchItemFailures"]).drain()
        assert first.ok, first
        # a second delivery of the same records (at least once): the entries are read back, nothing is sent again
        assert connect_dynamodb_stream(names["UsersTable"], function,
                                       function_response_types=["ReportBatchItemFailures"]).drain().ok
        report = security.report(function)
        assert report.least_privilege, report.text()
        assert [report.count(a) for a in ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem",
                                          "ses:SendEmail", "sqs:SendMessage")] == [4, 2, 3, 2, 1]
        sent = aws.client("ses").get_send_statistics()["SendDataPoints"]
        assert sum(point["DeliveryAttempts"] for point in sent) == 2

        # without sqs:SendMessage the email change fails with SQS's own AccessDenied
        function.update(role=_template_role(stack, "AuditFunction", "audit", drop=("sqs:SendMessage",),
                                            stream_arn=stream)[0])
        enforcement.forget(function)
        users.update_item(Key={"id": "u1"}, UpdateExpression="SET email = :e",
                          ExpressionAttributeValues={":e": "ann@third.example"})
        connect_dynamodb_stream(names["UsersTable"], function, function_response_types=["ReportBatchItemFailures"],
                                maximum_retry_attempts=0).drain()
        report = security.report(function)
        assert {c.action for c in report.denied} == {"sqs:SendMessage"}
    finally:
        function.shutdown()


def test_the_clickstream_function_under_its_template_policy(backend, tmp_path):
    stack = course_stack.deploy()
    course_stack.local_triggers_only(stack)
    names = {logical: physical for logical, (kind, physical) in stack["resources"].items()}
    environment = dict(stack["functions"]["ClickstreamFunction"]["Environment"]["Variables"])
    environment["DATABASE_URL"] = f"sqlite:///{tmp_path / 'clicks.db'}"  # no RDS here: the secret is not read
    stream = aws.client("kinesis").describe_stream(StreamName=names["ClickStream"])["StreamDescription"]["StreamARN"]
    role, _ = _template_role(stack, "ClickstreamFunction", "clicks", stream_arn=stream)
    function = LambdaFunction("clicks", "lambdalab.handlers.clickstream.handler", timeout_s=10,
                              environment=environment, role=role)
    try:
        click = {"user": "u1", "session": "s1", "page": "/home", "ts": 1767225600}
        aws.client("kinesis").put_records(StreamName=names["ClickStream"], Records=[
            {"Data": json.dumps(click).encode(), "PartitionKey": "p"} for _ in range(3)] + [
            {"Data": b"not json", "PartitionKey": "p"}])
        assert connect_kinesis(names["ClickStream"], function,
                               function_response_types=["ReportBatchItemFailures"]).drain().ok
        report = security.report(function)
        assert not report.denied and not report.broad, report.text()
        assert report.count("sqs:SendMessage") == 1 and report.count("s3:PutObject") == 1
        # only a PostgreSQL database (RDS) reads the secret
        assert [str(g) for g in report.unused] == [f"secretsmanager:GetSecretValue on {stack['secret']}"]
        (put,) = [c for c in report.calls if c.action == "s3:PutObject"]
        assert put.resource.startswith(f"arn:aws:s3:::{names['OutputBucket']}/clickstream/")
    finally:
        function.shutdown()


def test_the_thumbnail_policy_read_from_the_sam_template_runs_the_function_at_least_privilege(backend):
    stack = course_stack.deploy()
    names = {logical: physical for logical, (kind, physical) in stack["resources"].items()}
    config = stack["functions"]["ThumbnailFunction"]
    role, _ = _template_role(stack, "ThumbnailFunction", "course-thumbnail")
    function = LambdaFunction("course-thumbnail", config["Handler"], memory_mb=config["MemorySize"], timeout_s=30,
                              environment=config["Environment"]["Variables"], role=role)
    s3 = aws.client("s3")
    trigger = connect_s3(names["InputBucket"], function)
    try:
        s3.put_object(Bucket=names["InputBucket"], Key="uploads/a b.jpg", Body=image_bytes(500, 300))
        s3.put_object(Bucket=names["InputBucket"], Key="uploads/gone.jpg", Body=image_bytes(500, 300))
        s3.delete_object(Bucket=names["InputBucket"], Key="uploads/gone.jpg")  # deleted before it is processed
        result = trigger.drain()
        assert not result.failures, result.summary()
        assert "uploads/gone.jpg no longer exists" in "".join(i.logs for i in function.invocations)
        report = security.report(function)
        assert report.least_privilege, report.text()  # ListBucket is what made the missing key a NoSuchKey
        assert report.count("s3:PutObject") == 1 and report.count("s3:ListBucket") == 1
    finally:
        trigger.disconnect()
        function.shutdown()


def test_without_list_bucket_a_just_deleted_upload_is_access_denied_and_retried(backend):
    stack = course_stack.deploy()
    names = {logical: physical for logical, (kind, physical) in stack["resources"].items()}
    config = stack["functions"]["ThumbnailFunction"]
    role, _ = _template_role(stack, "ThumbnailFunction", "no-list", drop=("s3:ListBucket",))
    function = LambdaFunction("no-list", config["Handler"], timeout_s=30,
                              environment=config["Environment"]["Variables"], role=role)
    s3 = aws.client("s3")
    trigger = connect_s3(names["InputBucket"], function)
    try:
        s3.put_object(Bucket=names["InputBucket"], Key="gone.jpg", Body=image_bytes(50, 30))
        s3.delete_object(Bucket=names["InputBucket"], Key="gone.jpg")
        result = trigger.drain()
        assert result.failures
        errors = [i.error for i in function.invocations if i.error]
        assert len(errors) == 3  # the first attempt and Lambda's two async retries
        assert errors[0]["errorType"] == "AccessDenied"
        assert errors[0]["errorMessage"] == \
            "An error occurred (AccessDenied) when calling the GetObject operation: Access Denied"
        report = security.report(function)
        assert {(c.action, c.resource) for c in report.denied} == {("s3:ListBucket",
                                                                     f"arn:aws:s3:::{names['InputBucket']}")}
        # an object that exists is read as before: ListBucket is consulted only for a missing key
        s3.put_object(Bucket=names["InputBucket"], Key="here.jpg", Body=image_bytes(50, 30))
        assert not trigger.drain().failures
    finally:
        trigger.disconnect()
        function.shutdown()


def test_a_changed_policy_applies_to_the_next_invocation(photos):
    function = photos["thumbnail"](security.create_role("changing", thumbnail_policy("thumbnail")))
    assert not photos["run"](function, "a.jpg").failures
    assert function.environments == 1
    security.create_role("changing", doc({"Effect": "Allow", "Action": "s3:GetObject",
                                          "Resource": "arn:aws:s3:::photos-in/*"}))  # PutObject taken away
    assert function.environments == 0  # environments read the role when they start: the idle one is discarded
    assert photos["run"](function, "b.jpg").failures
    assert [str(c) for c in security.report(function).denied if c.by == "function"] == [
        "s3:PutObject on arn:aws:s3:::photos-out/thumb-b.jpg"]


def _batch_writer(event, context):
    """Writes one item to each of two tables in one BatchWriteItem call."""
    import boto3

    boto3.client("dynamodb").batch_write_item(RequestItems={  # ids differ: moto takes one key in two tables for a dup
        table: [{"PutRequest": {"Item": {"id": {"S": table}}}}] for table in ("allowed-table", "other-table")})
    return "written"


def test_a_batch_write_is_refused_unless_every_table_is_allowed_and_writes_nothing(backend):
    dynamodb = aws.client("dynamodb")
    for table in ("allowed-table", "other-table"):
        dynamodb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                              BillingMode="PAY_PER_REQUEST")
    one_table = doc({"Effect": "Allow", "Action": "dynamodb:BatchWriteItem",
                     "Resource": f"arn:aws:dynamodb:{WHERE}:table/allowed-table"}, security.logs_statement("batch"))
    function = LambdaFunction("batch", _batch_writer, memory_mb=1024, timeout_s=20,  # a client built in the handler
                              role=security.create_role("batch-role", one_table))
    try:
        invocation = function.invoke({})
        assert invocation.error["errorType"] == "ClientError"  # botocore has no class for DynamoDB's AccessDenied
        assert "(AccessDeniedException) when calling the BatchWriteItem operation" in invocation.error["errorMessage"]
        assert invocation.error["errorMessage"].endswith(
            f"dynamodb:BatchWriteItem on resource: arn:aws:dynamodb:{WHERE}:table/other-table because no "
            "identity-based policy allows the dynamodb:BatchWriteItem action")
        assert all(dynamodb.scan(TableName=t)["Count"] == 0 for t in ("allowed-table", "other-table"))
        report = security.report(function)
        assert [str(c) for c in report.denied] == [f"dynamodb:BatchWriteItem on arn:aws:dynamodb:{WHERE}:table/other-table"]
        function.update(role=security.create_role("batch-role-2", doc(
            {"Effect": "Allow", "Action": "dynamodb:BatchWriteItem",
             "Resource": [f"arn:aws:dynamodb:{WHERE}:table/allowed-table", f"arn:aws:dynamodb:{WHERE}:table/other-table"]},
            security.logs_statement("batch"))))
        second = function.invoke({})
        assert second.response == "written", second.error
        assert all(dynamodb.scan(TableName=t)["Count"] == 1 for t in ("allowed-table", "other-table"))
    finally:
        function.shutdown()


def _stream_echo(event, context):
    return {}


def test_a_stream_mapping_needs_the_role_to_read_the_stream_and_send_to_the_destination(backend):
    """CreateEventSourceMapping checks the execution role; the report then lists what Lambda's poller does with it."""
    kinesis, sqs = aws.client("kinesis"), aws.client("sqs")
    kinesis.create_stream(StreamName="checked-clicks", ShardCount=1)
    stream = kinesis.describe_stream(StreamName="checked-clicks")["StreamDescription"]["StreamARN"]
    url = sqs.create_queue(QueueName="checked-failures")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    reads = {"Effect": "Allow", "Action": list(enforcement.STREAM_READ_ACTIONS["kinesis"]), "Resource": stream}
    function = LambdaFunction("checked", _stream_echo,
                              role=security.create_role("logs-only", doc(security.logs_statement("checked"))))
    try:
        with pytest.raises(ValueError, match=r"Cannot access stream .*checked-clicks\. Please ensure the role can "
                                             r"perform the GetRecords, GetShardIterator, DescribeStream, and "
                                             r"ListStreams Actions on your stream in IAM\..*kinesis:GetRecords"):
            connect_kinesis("checked-clicks", function)
        function.update(role=security.create_role("reads", doc(reads, security.logs_statement("checked"))))
        with pytest.raises(ValueError, match="does not have permissions to call SendMessage on .*checked-failures"):
            connect_kinesis("checked-clicks", function, on_failure="checked-failures")
        sends = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue}
        function.update(role=security.create_role("reads-sends", doc(reads, sends, security.logs_statement("checked"))))
        kinesis.put_record(StreamName="checked-clicks", Data=b"{}", PartitionKey="k")
        assert connect_kinesis("checked-clicks", function, on_failure="checked-failures").drain().ok
        report = security.report(function)
        assert report.least_privilege, report.text()
        by_lambda = {(c.action, c.resource) for c in report.calls if c.by == "Lambda"}
        assert {("kinesis:GetRecords", stream), ("sqs:SendMessage", queue)} <= by_lambda
        assert any(st["Action"] == "sqs:SendMessage" and st["Resource"] == queue
                   for st in report.minimal_policy["Statement"])
    finally:
        function.shutdown()
