"""IAM policy evaluation as IAM does it: explicit deny wins, wildcards, NotAction / NotResource, conditions,
principals; and where moto's own evaluator gets NotResource wrong (why the course has its own)."""
import json

import pytest

from lambdalab.security import policy as iam
from lambdalab.security.policy import PolicyError, evaluate

IN, OUT = "arn:aws:s3:::in-bucket", "arn:aws:s3:::out-bucket"


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def test_allow_on_exact_action_and_resource_and_implicit_deny_otherwise():
    policy = doc(allow("s3:GetObject", f"{IN}/*"), allow("s3:PutObject", f"{OUT}/*"))
    assert evaluate(policy, "s3:GetObject", f"{IN}/photos/cat.jpg").allowed
    assert evaluate(policy, "s3:PutObject", f"{OUT}/thumb-cat.jpg").allowed
    decision = evaluate(policy, "s3:PutObject", f"{IN}/cat.jpg")
    assert not decision.allowed and not decision.explicit_deny
    assert decision.reason == "no statement allows it (implicit deny)"
    assert not evaluate(policy, "s3:GetObject", IN).allowed  # the bucket is not its objects


def test_explicit_deny_beats_any_allow_in_any_policy():
    admin = doc(allow("*"))
    guard = doc(deny("s3:Delete*", f"{IN}/*", Sid="NoDeletes"))
    assert evaluate([admin, guard], "s3:GetObject", f"{IN}/a").allowed
    decision = evaluate([admin, guard], "s3:DeleteObject", f"{IN}/a")
    assert not decision.allowed and decision.explicit_deny
    assert decision.reason == "explicitly denied by statement 'NoDeletes'"
    assert evaluate([admin, guard], "s3:DeleteObject", f"{OUT}/a").allowed


def test_actions_match_case_insensitively_with_wildcards_resources_case_sensitively():
    policy = doc(allow("S3:get*", "arn:aws:s3:::in-?ucket/*"))
    assert evaluate(policy, "s3:GetObject", f"{IN}/x").allowed
    assert evaluate(policy, "s3:GetObjectTagging", f"{IN}/x").allowed
    assert not evaluate(policy, "s3:PutObject", f"{IN}/x").allowed
    assert not evaluate(policy, "s3:GetObject", "arn:aws:s3:::IN-BUCKET/x").allowed
    assert not evaluate(policy, "s3:GetObject", "arn:aws:s3:::in-bucket-old/x").allowed
    assert not evaluate(doc(allow("s3:Get[O]bject")), "s3:GetObject").allowed  # no character classes in IAM


def test_not_action_allows_everything_else():
    policy = doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert evaluate(policy, "s3:GetObject", f"{IN}/a").allowed
    assert not evaluate(policy, "iam:CreateUser", "*").allowed
    deny_all_but = doc(allow("*"), {"Effect": "Deny", "NotAction": ["s3:GetObject"], "Resource": "*"})
    assert evaluate(deny_all_but, "s3:GetObject", f"{IN}/a").allowed
    assert evaluate(deny_all_but, "s3:PutObject", f"{IN}/a").explicit_deny


def test_not_resource_allow_and_deny_both_right_where_moto_says_allowed():
    allow_not = doc({"Effect": "Allow", "Action": "s3:*", "NotResource": f"{IN}/*"})
    assert evaluate(allow_not, "s3:PutObject", f"{OUT}/a").allowed
    assert not evaluate(allow_not, "s3:PutObject", f"{IN}/a").allowed
    deny_not = doc(allow("s3:*"), {"Effect": "Deny", "Action": "s3:*", "NotResource": [f"{OUT}/*"]})
    assert evaluate(deny_not, "s3:PutObject", f"{OUT}/a").allowed
    assert evaluate(deny_not, "s3:PutObject", f"{IN}/a").explicit_deny

    from moto.iam.access_control import IAMPolicy, PermissionResult

    # moto's evaluator (JSON text only) permits the NotResource case the course's evaluator denies
    moto_answer = IAMPolicy(json.dumps(allow_not)).is_action_permitted("s3:PutObject", f"{IN}/a")
    assert moto_answer == PermissionResult.PERMITTED


def test_conditions_string_arn_bool_null_numeric_and_if_exists():
    policy = doc(allow("secretsmanager:GetSecretValue", "*",
                       Condition={"StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"}}))
    assert evaluate(policy, "secretsmanager:GetSecretValue", "s",
                    {"secretsmanager:VersionStage": "AWSCURRENT"}).allowed
    assert not evaluate(policy, "secretsmanager:GetSecretValue", "s",
                        {"secretsmanager:VersionStage": "AWSPENDING"}).allowed
    assert not evaluate(policy, "secretsmanager:GetSecretValue", "s", {}).allowed  # missing key: false

    not_equals = doc(allow("s3:GetObject", "*", Condition={"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}))
    assert evaluate(not_equals, "s3:GetObject", "x", {"aws:RequestedRegion": "us-east-1"}).allowed
    assert not evaluate(not_equals, "s3:GetObject", "x", {"aws:RequestedRegion": "eu-west-1"}).allowed
    assert evaluate(not_equals, "s3:GetObject", "x", {}).allowed  # a negated operator is true when the key is missing

    arn_like = doc(allow("lambda:InvokeFunction", "*", Condition={"ArnLike": {"AWS:SourceArn": f"{IN}"},
                                                                   "StringEquals": {"aws:SourceAccount": "1234"}}))
    assert evaluate(arn_like, "lambda:InvokeFunction", "f", {"aws:SourceArn": IN, "aws:SourceAccount": "1234"}).allowed
    assert not evaluate(arn_like, "lambda:InvokeFunction", "f", {"aws:SourceArn": IN}).allowed  # AND of keys
    assert not evaluate(arn_like, "lambda:InvokeFunction", "f", {"aws:SourceArn": OUT,
                                                                  "aws:SourceAccount": "1234"}).allowed

    if_exists = doc(allow("s3:ListBucket", IN, Condition={"StringLikeIfExists": {"s3:prefix": ["photos/*", "raw/*"]}}))
    assert evaluate(if_exists, "s3:ListBucket", IN, {}).allowed
    assert evaluate(if_exists, "s3:ListBucket", IN, {"s3:prefix": "raw/2024"}).allowed  # OR of values
    assert not evaluate(if_exists, "s3:ListBucket", IN, {"s3:prefix": "secret/"}).allowed

    null = doc(deny("*", "*", Condition={"Null": {"aws:SourceArn": "true"}}), allow("*"))
    assert evaluate(null, "s3:GetObject", "x", {"aws:SourceArn": IN}).allowed
    assert evaluate(null, "s3:GetObject", "x", {}).explicit_deny
    assert evaluate(doc(allow("*", "*", Condition={"Bool": {"aws:SecureTransport": "true"}})), "s3:GetObject", "x",
                    {"aws:SecureTransport": "true"}).allowed
    assert not evaluate(doc(allow("*", "*", Condition={"NumericLessThan": {"s3:max-keys": "10"}})),
                        "s3:ListBucket", IN, {"s3:max-keys": "20"}).allowed


def test_principals_in_trust_and_resource_based_policies():
    trust = doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
    assert evaluate(trust, "sts:AssumeRole", principal="lambda.amazonaws.com").allowed
    assert not evaluate(trust, "sts:AssumeRole", principal="ec2.amazonaws.com").allowed
    account = doc({"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "lambda:InvokeFunction"})
    assert evaluate(account, "lambda:InvokeFunction", principal="arn:aws:iam::123456789012:role/app").allowed
    assert not evaluate(account, "lambda:InvokeFunction", principal="arn:aws:iam::999999999999:role/app").allowed
    assert evaluate(doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}), "s3:GetObject",
                    principal="anyone").allowed


@pytest.mark.parametrize("bad, words", [
    ("{not json", "not valid JSON"),
    ({"Version": "2012-10-17"}, "no Statement"),
    (doc({"Effect": "allow", "Action": "s3:GetObject", "Resource": "*"}), 'Effect must be "Allow" or "Deny"'),
    (doc({"Effect": "Allow", "Resource": "*"}), "exactly one of Action or NotAction"),
    (doc({"Effect": "Allow", "Action": "GetObject", "Resource": "*"}), "write 'service:Operation'"),
    (doc({"Effect": "Allow", "Actions": "s3:GetObject", "Resource": "*"}), "unknown keys ['Actions']"),
    (doc(allow("s3:GetObject", "*", Condition={"DateLessThan": {"aws:CurrentTime": "2030-01-01"}})),
     "not one the course evaluates"),
])
def test_bad_policies_are_refused_with_what_to_change(bad, words):
    with pytest.raises(PolicyError, match=None) as caught:
        evaluate(bad, "s3:GetObject", "arn:aws:s3:::b/k")
    assert words in str(caught.value)


def test_json_text_and_single_statement_dicts_are_accepted():
    text = json.dumps({"Version": "2012-10-17", "Statement": allow("s3:GetObject")})
    assert iam.allows(text, "s3:GetObject", "x")
