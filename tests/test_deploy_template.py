"""The SAM template deploys the same handlers the course runs, with the environment and least-privilege policy they
need (the thumbnail role: s3:GetObject on the input bucket and s3:PutObject on the output bucket, nothing more)."""
import importlib
import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !GetAtt, !Sub... as plain values tagged with their function name."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {f"Fn::{suffix}" if suffix != "Ref" else "Ref": value}


_CloudFormationLoader.add_multi_constructor("!", _tag)
TEMPLATE = yaml.load((ROOT / "deploy" / "template.yaml").read_text(), Loader=_CloudFormationLoader)
FUNCTIONS = {k: v["Properties"] for k, v in TEMPLATE["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}


def test_every_function_points_at_a_real_course_handler_and_sets_what_it_reads(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # the handlers make their clients at import, as on Lambda
    assert set(FUNCTIONS) == {"ThumbnailFunction", "AuditFunction", "ClickstreamFunction"}
    for props in FUNCTIONS.values():
        module_name, _, attribute = props["Handler"].rpartition(".")
        module = importlib.import_module(module_name)
        assert callable(getattr(module, attribute))
        source = pathlib.Path(module.__file__).read_text()
        required = set(re.findall(r'os\.environ\["([A-Z_]+)"\]', source))
        assert required <= set(props["Environment"]["Variables"]), props["Handler"]
        for variable in props["Environment"]["Variables"]:
            assert variable in source, f"{props['Handler']} never reads {variable}"


def test_thumbnail_role_is_least_privilege():
    statements = FUNCTIONS["ThumbnailFunction"]["Policies"][-1]["Statement"]
    granted = {(s["Action"], s["Resource"]["Fn::Sub"]) for s in statements}
    # ListBucket on the input bucket: a just-deleted upload is then NoSuchKey (skipped), not 403 (an error, retried)
    assert granted == {("s3:GetObject", "arn:aws:s3:::${AWS::StackName}-input-${AWS::AccountId}/*"),
                       ("s3:ListBucket", "arn:aws:s3:::${AWS::StackName}-input-${AWS::AccountId}"),
                       ("s3:PutObject", "arn:aws:s3:::${AWS::StackName}-output-${AWS::AccountId}/*")}
    buckets = TEMPLATE["Resources"]
    assert buckets["InputBucket"]["Properties"]["BucketName"]["Fn::Sub"] != \
        buckets["OutputBucket"]["Properties"]["BucketName"]["Fn::Sub"], "two buckets: no recursion"


def test_stream_mappings_use_partial_batch_responses_and_a_failure_destination():
    for name in ("AuditFunction", "ClickstreamFunction"):
        (event,) = FUNCTIONS[name]["Events"].values()
        props = event["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["BisectBatchOnFunctionError"] is True and props["MaximumRetryAttempts"] >= 0
        assert "OnFailure" in props["DestinationConfig"]


def test_handlers_dependencies_are_listed_for_sam_build():
    assert "Pillow" in (ROOT / "lib" / "requirements.txt").read_text()


# --- translated by SAM, linted, deployed into moto's CloudFormation ------------------------------------------------

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

import course_stack  # noqa: E402
from lambdalab import aws  # noqa: E402

# What moto's CloudFormation accepts and reports CREATE_COMPLETE without creating (checked in the translated
# template instead, by test_sam_translates_the_template_into_the_resources_lambda_needs). Anything else missing after
# the deploy fails the test. moto also ignores two properties: a bucket's NotificationConfiguration (the S3 trigger,
# which the course's connect_s3 makes) and a role's ManagedPolicyArns (the logs permissions).
MOTO_SKIPS_TYPES = {"AWS::SQS::QueuePolicy", "AWS::Lambda::EventInvokeConfig"}


@pytest.fixture(scope="module")
def stack():
    aws.start()
    aws.reset()
    deployed = course_stack.deploy()
    yield deployed
    aws.reset()


def test_sam_translates_the_template_into_the_resources_lambda_needs():
    resources = course_stack.translate()["Resources"]
    kinds = sorted(r["Type"] for r in resources.values())
    assert kinds.count("AWS::Lambda::Function") == 3 and kinds.count("AWS::IAM::Role") == 3
    assert kinds.count("AWS::Lambda::EventSourceMapping") == 2 and "AWS::Lambda::Permission" in kinds
    # the S3 trigger: the bucket notifies the function, which S3 may invoke only from this bucket and account
    (config,) = resources["InputBucket"]["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    assert config["Event"] == "s3:ObjectCreated:*" and config["Function"] == {"Fn::GetAtt": ["ThumbnailFunction", "Arn"]}
    assert resources["InputBucket"]["Properties"]["NotificationConfiguration"]["EventBridgeConfiguration"] == \
        {"EventBridgeEnabled": True}
    assert "NotificationConfiguration" not in resources["OutputBucket"].get("Properties", {})  # no recursion
    permission = resources["ThumbnailFunctionUploadPermission"]["Properties"]
    assert permission["Principal"] == "s3.amazonaws.com" and permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    invoke = resources["ThumbnailFunctionEventInvokeConfig"]["Properties"]
    assert invoke["MaximumRetryAttempts"] == 2
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["ThumbnailFailures", "Arn"]}
    queue_policy = resources["ZipUploadsPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert queue_policy["Principal"] == {"Service": "events.amazonaws.com"}
    assert queue_policy["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": ["ZipUploadsRule", "Arn"]}
    for name in ("ThumbnailFunctionRole", "AuditFunctionRole", "ClickstreamFunctionRole"):  # logs, from SAM
        assert any(arn.endswith("/AWSLambdaBasicExecutionRole")
                   for arn in resources[name]["Properties"]["ManagedPolicyArns"]), name


def cfn_lint(path):
    """Run cfn-lint (the console script's entry point) on a template file: (exit status, what it printed)."""
    run = subprocess.run([sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())",
                          str(path)], capture_output=True, text=True, timeout=300)
    return run.returncode, run.stdout + run.stderr


def test_cfn_lint_finds_nothing_to_report():
    status, output = cfn_lint(course_stack.TEMPLATE_PATH)
    assert (status, output) == (0, "")  # errors and warnings both make the exit status non-zero


def test_cfn_lint_catches_a_broken_template(tmp_path):
    broken = course_stack.TEMPLATE_PATH.read_text().replace("Runtime: python3.12", "Runtime: python2.7")
    (tmp_path / "template.yaml").write_text(broken.replace("CodeUri: ../lib/", "CodeUri: s3://b/k.zip"))
    status, output = cfn_lint(tmp_path / "template.yaml")
    assert status != 0 and "python2.7" in output


def test_every_resource_of_the_translated_template_was_really_created(stack):
    translated = stack["translated"]["Resources"]
    skipped = set(translated) - set(stack["resources"])  # moto lists those without a logical id
    assert {translated[logical]["Type"] for logical in skipped} == MOTO_SKIPS_TYPES, skipped
    empty = {logical for logical, (kind, physical) in stack["resources"].items() if logical and not physical}
    assert empty == {"ThumbnailFunctionUploadPermission"}  # a statement in the function's policy: checked below
    r = {logical: physical for logical, (kind, physical) in stack["resources"].items()}
    s3, ddb, sqs = aws.client("s3"), aws.client("dynamodb"), aws.client("sqs")
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {r["InputBucket"], r["OutputBucket"]} <= buckets
    assert r["InputBucket"] == "course-input-123456789012"  # the name the policies are written with
    users = ddb.describe_table(TableName=r["UsersTable"])["Table"]
    assert users["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    audit = ddb.describe_table(TableName=r["AuditTable"])["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in audit["KeySchema"]} == {"item": "HASH", "sequence": "RANGE"}
    for queue in ("VerificationQueue", "StreamFailures", "MalformedClicks", "ThumbnailFailures", "ZipUploads"):
        assert sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=r[queue].rsplit("/", 1)[1])["QueueUrl"],
                                        AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert aws.client("kinesis").describe_stream_summary(
        StreamName=r["ClickStream"])["StreamDescriptionSummary"]["OpenShardCount"] == 1
    rule = aws.client("events").describe_rule(Name=r["ZipUploadsRule"])
    assert json.loads(rule["EventPattern"])["detail"] == {"bucket": {"name": [r["InputBucket"]]},
                                                          "object": {"key": [{"suffix": ".zip"}]}}
    (target,) = aws.client("events").list_targets_by_rule(Rule=r["ZipUploadsRule"])["Targets"]
    assert target["Arn"].endswith(":" + r["ZipUploads"].rsplit("/", 1)[1])
    invoke_policy = json.loads(aws.client("lambda").get_policy(FunctionName=r["ThumbnailFunction"])["Policy"])
    assert invoke_policy["Statement"][0]["Principal"] == {"Service": "s3.amazonaws.com"}


def test_every_environment_variable_names_a_resource_that_exists(stack):
    r = {logical: physical for logical, (kind, physical) in stack["resources"].items()}
    env = {name: config["Environment"]["Variables"] for name, config in stack["functions"].items()}
    assert env["ThumbnailFunction"] == {"OUTPUT_BUCKET": r["OutputBucket"], "THUMBNAIL_SIZE": "150"}
    assert env["AuditFunction"] == {"AUDIT_TABLE": r["AuditTable"], "VERIFICATION_QUEUE_URL": r["VerificationQueue"],
                                    "SENDER_EMAIL": course_stack.SENDER}
    assert env["ClickstreamFunction"] == {
        "DATABASE_URL": course_stack.DATABASE_URL, "DATABASE_SECRET_ID": stack["secret"],
        "MALFORMED_QUEUE_URL": r["MalformedClicks"], "OUTPUT_BUCKET": r["OutputBucket"], "OUTPUT_PREFIX": "clickstream/"}
    aws.client("dynamodb").describe_table(TableName=env["AuditFunction"]["AUDIT_TABLE"])
    aws.client("secretsmanager").describe_secret(SecretId=env["ClickstreamFunction"]["DATABASE_SECRET_ID"])
    for name, config in stack["functions"].items():
        assert config["Runtime"] == "python3.12" and config["Handler"] == FUNCTIONS[name]["Handler"]
        assert config["Role"].rsplit("/", 1)[-1] == r[f"{name}Role"]


def test_the_stream_mappings_were_created_with_their_error_handling(stack):
    r = {logical: physical for logical, (kind, physical) in stack["resources"].items()}
    lam = aws.client("lambda")
    for function, source in (("AuditFunction", ":table/" + r["UsersTable"] + "/stream/"),
                             ("ClickstreamFunction", ":stream/" + r["ClickStream"])):
        (mapping,) = lam.list_event_source_mappings(FunctionName=r[function])["EventSourceMappings"]
        assert source in mapping["EventSourceArn"]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["BisectBatchOnFunctionError"] is True and mapping["MaximumRetryAttempts"] == 3
        assert mapping["MaximumRecordAgeInSeconds"] == 3600
        assert mapping["DestinationConfig"]["OnFailure"]["Destination"].endswith(r["StreamFailures"].rsplit("/")[-1])


def test_each_role_lets_lambda_send_to_the_on_failure_queue_and_the_code_do_exactly_its_calls(stack):
    r = {logical: physical for logical, (kind, physical) in stack["resources"].items()}
    where = "us-east-1:123456789012"
    policies = {name: course_stack.code_policy(stack, name)["Statement"] for name in stack["functions"]}
    assert policies["ThumbnailFunction"] == [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{r['InputBucket']}/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{r['InputBucket']}"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{r['OutputBucket']}/*"}]
    assert policies["AuditFunction"][0]["Resource"] == f"arn:aws:dynamodb:{where}:table/{r['AuditTable']}"
    assert policies["AuditFunction"][2] == {"Effect": "Allow", "Action": "ses:SendEmail",
                                            "Resource": f"arn:aws:ses:{where}:identity/{course_stack.SENDER}"}
    assert policies["ClickstreamFunction"][0]["Resource"] == stack["secret"]
    iam = aws.client("iam")
    for name in ("AuditFunction", "ClickstreamFunction"):
        documents = [iam.get_role_policy(RoleName=r[f"{name}Role"], PolicyName=p)["PolicyDocument"]
                     for p in iam.list_role_policies(RoleName=r[f"{name}Role"])["PolicyNames"]]
        sends = [s for d in documents for s in d["Statement"] if s["Action"] == ["sqs:SendMessage*"]]
        assert [s["Resource"] for s in sends] == [f"arn:aws:sqs:{where}:{r['StreamFailures'].rsplit('/')[-1]}"]


def test_without_a_sender_the_audit_role_has_no_ses_permission():
    translated = course_stack.translate()
    statements = translated["Resources"]["AuditFunctionRole"]["Properties"]["Policies"][-1]["PolicyDocument"]
    ses = statements["Statement"][-1]
    assert ses["Fn::If"][0] == "SendsEmail" and ses["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert translated["Conditions"]["SendsEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "SenderEmail"}, ""]}]}
