"""Execution roles enforced on the course's three functions: real AccessDenied for what the role does not allow,
least privilege reported (calls, denied, unused, broad, minimal policy), explicit deny beating an allow."""
import json

import pytest

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
        "arn:aws:s3:::photos-out/thumb-a.jpg because no identity-based policy allows the s3:PutObject action")
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


def template_policy(function_logical_id, values, function_name):
    """The function's own statements in deploy/template.yaml with ``values`` for its !GetAtt / !Ref / !Sub, plus the
    log permissions SAM attaches to every function. SAM policy templates (DynamoDBStreamReadPolicy,
    KinesisStreamReadPolicy) are left out: Lambda's event source mapping uses them, not the handler's code."""
    from test_deploy_template import FUNCTIONS

    def resolve(value):
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            (kind, arg), = value.items()
            if kind == "Fn::Sub":
                return (arg.replace("${AWS::StackName}", "course").replace("${AWS::AccountId}", ACCOUNT)
                        .replace("${AWS::Region}", WHERE.split(":")[0]))
            return values[arg if kind == "Ref" else arg if isinstance(arg, str) else ".".join(arg)]
        return value

    statements = [{**s, "Resource": resolve(s["Resource"])}
                  for p in FUNCTIONS[function_logical_id]["Policies"] if "Statement" in p for s in p["Statement"]]
    return doc(*statements, security.logs_statement(function_name))


def test_the_stream_audit_function_under_its_template_policy(backend):
    ddb = aws.client("dynamodb")
    ddb.create_table(TableName="users", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    ddb.create_table(TableName="audit", KeySchema=[{"AttributeName": "item", "KeyType": "HASH"},
                                                   {"AttributeName": "sequence", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "item", "AttributeType": "S"},
                                           {"AttributeName": "sequence", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    queue = aws.client("sqs").create_queue(QueueName="verify-email")["QueueUrl"]
    table = f"arn:aws:dynamodb:{WHERE}:table/audit"
    arns = {"AuditTable.Arn": table, "VerificationQueue.Arn": f"arn:aws:sqs:{WHERE}:verify-email",
            "StreamFailures.Arn": f"arn:aws:sqs:{WHERE}:stream-failures"}
    policy = template_policy("AuditFunction", arns, "audit")
    function = LambdaFunction("audit", "lambdalab.handlers.stream_audit.handler", timeout_s=10,
                              environment={"AUDIT_TABLE": "audit", "VERIFICATION_QUEUE_URL": queue},
                              role=security.create_role("audit-role", policy))
    users = aws.resource("dynamodb").Table("users")

    def change_email(to):
        users.put_item(Item={"id": "u1", "email": "ann@example.com"})
        users.update_item(Key={"id": "u1"}, UpdateExpression="SET email = :e", ExpressionAttributeValues={":e": to})
        return connect_dynamodb_stream("users", function, function_response_types=["ReportBatchItemFailures"],
                                       maximum_retry_attempts=0).drain()

    try:
        assert change_email("ann@new.example").ok
        report = security.report(function)
        assert not report.denied and not report.broad, report.text()
        assert report.count("dynamodb:PutItem") == 2 and report.count("sqs:SendMessage") == 1
        assert report.count("dynamodb:UpdateItem") == 1  # the verification message marked as sent
        # granted for what this run did not meet: a redelivered record, the mapping's on-failure destination, and
        # mail (SENDER_EMAIL is not set here, so no welcome or verification email is sent)
        assert {str(g) for g in report.unused} == {f"dynamodb:GetItem on {table}",
                                                   f"sqs:SendMessage on {arns['StreamFailures.Arn']}",
                                                   f"ses:SendEmail on arn:aws:ses:{WHERE}:identity/*"}

        # without sqs:SendMessage the email change cannot be queued: a real AccessDenied, reported
        without_sqs = doc(*[s for s in policy["Statement"] if s["Action"] != "sqs:SendMessage"])
        function.update(role=security.create_role("audit-no-sqs", without_sqs))
        change_email("ann@third.example")
        report = security.report(function)
        assert [c.action for c in report.denied] == ["sqs:SendMessage"]
        assert any("(AccessDenied) when calling the SendMessage operation" in i.logs for i in function.invocations)

        # over-broad: every DynamoDB and SQS action on everything works, and is flagged
        security.create_role("audit-broad", doc({"Effect": "Allow", "Action": ["dynamodb:*", "sqs:*"], "Resource": "*"},
                                                security.logs_statement("audit")))
        function.update(role="audit-broad")
        assert change_email("ann@fourth.example").ok
        report = security.report(function)
        assert not report.denied and len(report.broad) == 1
        assert report.broad[0].wide == ("action dynamodb:*", "action sqs:*", "resource *")
        # a new mapping reads the stream from its start again, so earlier records come back as redeliveries: GetItem
        assert set(report.broad[0].used_for) == {f"dynamodb:PutItem on {table}", f"dynamodb:UpdateItem on {table}",
                                                 f"dynamodb:GetItem on {table}",
                                                 f"sqs:SendMessage on {arns['VerificationQueue.Arn']}"}
    finally:
        function.shutdown()


def test_the_clickstream_function_under_its_template_policy(backend, tmp_path):
    from lambdalab import database

    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    malformed = aws.client("sqs").create_queue(QueueName="malformed")["QueueUrl"]
    aws.client("s3").create_bucket(Bucket=f"course-output-{ACCOUNT}")
    arns = {"DatabaseSecretArn": f"arn:aws:secretsmanager:{WHERE}:secret:course/db-AbCdEf",
            "MalformedClicks.Arn": f"arn:aws:sqs:{WHERE}:malformed",
            "StreamFailures.Arn": f"arn:aws:sqs:{WHERE}:stream-failures"}
    policy = template_policy("ClickstreamFunction", arns, "clicks")
    function = LambdaFunction("clicks", "lambdalab.handlers.clickstream.handler", timeout_s=10,
                              environment={"DATABASE_URL": database.sqlite_url(tmp_path / "clicks.sqlite"),
                                           "MALFORMED_QUEUE_URL": malformed, "OUTPUT_BUCKET": f"course-output-{ACCOUNT}",
                                           "OUTPUT_PREFIX": "clickstream/"},
                              role=security.create_role("clicks-role", policy))

    def run(*datas):
        kinesis.put_records(StreamName="clicks", Records=[{"Data": d, "PartitionKey": "p"} for d in datas])
        return connect_kinesis("clicks", function, function_response_types=["ReportBatchItemFailures"],
                               maximum_retry_attempts=0).drain()

    click = json.dumps({"user": "u1", "session": "s1", "page": "/home", "ts": 1767225600.0}).encode()
    try:
        assert run(click, click, b"not a click").ok
        report = security.report(function)
        assert not report.denied and not report.broad, report.text()
        assert report.count("s3:PutObject") == 1 and report.count("sqs:SendMessage") == 1  # SendMessageBatch
        # SQLite needs no password; the on-failure destination was not needed in this run
        assert {str(g) for g in report.unused} == {f"secretsmanager:GetSecretValue on {arns['DatabaseSecretArn']}",
                                                   f"sqs:SendMessage on {arns['StreamFailures.Arn']}"}

        function.update(role=security.create_role("clicks-broad", doc(
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arns["MalformedClicks.Arn"]},
            security.logs_statement("clicks"))))
        assert run(click).ok
        broad = security.report(function)
        assert not broad.denied and [b.wide for b in broad.broad] == [("action s3:*", "resource *")]
        assert broad.broad[0].used_for == (f"s3:PutObject on arn:aws:s3:::course-output-{ACCOUNT}/*",)

        without_s3 = doc(*[s for s in policy["Statement"] if s["Action"] != "s3:PutObject"])
        function.update(role=security.create_role("clicks-narrow", without_s3))
        run(click)
        narrow = security.report(function)
        assert [c.action for c in narrow.denied] == ["s3:PutObject"]
    finally:
        function.shutdown()


def test_the_thumbnail_policy_read_from_the_sam_template_runs_the_function_at_least_privilege(backend):
    from test_deploy_template import FUNCTIONS

    def substitute(value):
        if isinstance(value, dict) and "Fn::Sub" in value:
            return value["Fn::Sub"].replace("${AWS::StackName}", "course").replace("${AWS::AccountId}", ACCOUNT)
        return value

    props = FUNCTIONS["ThumbnailFunction"]
    statements = [{**s, "Resource": substitute(s["Resource"])} for s in props["Policies"][0]["Statement"]]
    # SAM attaches AWSLambdaBasicExecutionRole (the log permissions) to every function it creates
    policy = doc(*statements, security.logs_statement("course-thumbnail"))
    s3 = aws.client("s3")
    for bucket in ("course-input-123456789012", "course-output-123456789012"):
        s3.create_bucket(Bucket=bucket)
    function = LambdaFunction("course-thumbnail", props["Handler"], memory_mb=props["MemorySize"], timeout_s=30,
                              environment={"OUTPUT_BUCKET": "course-output-123456789012",
                                           "THUMBNAIL_SIZE": props["Environment"]["Variables"]["THUMBNAIL_SIZE"]},
                              role=security.create_role("course-thumbnail-role", policy))
    trigger = connect_s3("course-input-123456789012", function)
    try:
        s3.put_object(Bucket="course-input-123456789012", Key="uploads/a b.jpg", Body=image_bytes(500, 300))
        assert not trigger.drain().failures
        report = security.report(function)
        assert report.least_privilege, report.text()
        assert report.count("s3:PutObject") == 1
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
