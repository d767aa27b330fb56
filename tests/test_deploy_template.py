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
    statements = FUNCTIONS["ThumbnailFunction"]["Policies"][0]["Statement"]
    granted = {(s["Action"], s["Resource"]["Fn::Sub"]) for s in statements}
    assert granted == {("s3:GetObject", "arn:aws:s3:::${AWS::StackName}-input-${AWS::AccountId}/*"),
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
