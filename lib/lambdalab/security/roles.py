"""Execution roles on the backend: the IAM role a Lambda function assumes, its trust policy and its permissions.

A role has two policies that answer two questions:
- the **trust policy**: who may assume the role (for a function: the Lambda service, ``lambda.amazonaws.com``);
- the **permissions policies** (inline or managed): what the function may do once it runs as the role.
"""
from __future__ import annotations

import json

from .. import aws
from ..runtime import LambdaConfigError
from . import policy as iam

LAMBDA_SERVICE = "lambda.amazonaws.com"
INLINE_POLICY = "permissions"  # the name of the one inline policy create_role manages


def lambda_trust_policy() -> dict:
    """The trust policy every Lambda execution role has: the Lambda service may assume it."""
    return {"Version": iam.VERSION, "Statement": [{
        "Effect": "Allow", "Principal": {"Service": LAMBDA_SERVICE}, "Action": "sts:AssumeRole"}]}


def role_name(role: str) -> str:
    """``arn:aws:iam::123456789012:role/path/name`` or ``name`` -> ``name``."""
    return role.rsplit("/", 1)[-1] if role.startswith("arn:") else role


def create_role(name: str, policy, *, managed_policies=(), trust_policy: dict | None = None,
                description: str = "") -> str:
    """Create (or bring up to date) the IAM role ``name`` with ``policy`` as its inline permissions; returns its ARN.

    Idempotent, so a notebook can run twice: an existing role gets this trust policy, this inline policy (others are
    removed) and exactly ``managed_policies`` (ARNs, e.g.
    ``arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole``).
    """
    document = iam.check_identity_policy(policy) if policy is not None else None
    trust = iam.load(trust_policy or lambda_trust_policy())
    client = aws.client("iam")
    try:
        arn = client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                                 Description=description)["Role"]["Arn"]
    except client.exceptions.EntityAlreadyExistsException:
        client.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
        arn = client.get_role(RoleName=name)["Role"]["Arn"]
    for existing in client.list_role_policies(RoleName=name)["PolicyNames"]:
        if document is None or existing != INLINE_POLICY:
            client.delete_role_policy(RoleName=name, PolicyName=existing)
    if document is not None:
        client.put_role_policy(RoleName=name, PolicyName=INLINE_POLICY, PolicyDocument=json.dumps(document))
    attached = {p["PolicyArn"] for p in client.list_attached_role_policies(RoleName=name)["AttachedPolicies"]}
    for arn_ in attached - set(managed_policies):
        client.detach_role_policy(RoleName=name, PolicyArn=arn_)
    for arn_ in set(managed_policies) - attached:
        client.attach_role_policy(RoleName=name, PolicyArn=arn_)
    from . import enforcement  # (imports this module)

    enforcement.role_changed(name)
    return arn


def delete_role(name: str) -> None:
    """Delete the role and its policies (nothing happens if there is no such role)."""
    client = aws.client("iam")
    name = role_name(name)
    try:
        for policy_name in client.list_role_policies(RoleName=name)["PolicyNames"]:
            client.delete_role_policy(RoleName=name, PolicyName=policy_name)
        for attached in client.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            client.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
        client.delete_role(RoleName=name)
    except client.exceptions.NoSuchEntityException:
        return
    from . import enforcement

    enforcement.role_changed(name)


class RoleNotFound(LambdaConfigError):
    """The function names a role Lambda could not assume."""


def _document(value) -> dict:
    return json.loads(value) if isinstance(value, str) else value


def trust_policy(role: str) -> dict:
    """The role's trust policy (who may assume it)."""
    client = aws.client("iam")
    try:
        found = client.get_role(RoleName=role_name(role))["Role"]
    except client.exceptions.NoSuchEntityException:
        raise RoleNotFound(f"There is no IAM role {role_name(role)!r}: create it first with "
                           f"security.create_role({role_name(role)!r}, policy).") from None
    return _document(found["AssumeRolePolicyDocument"])


def role_policies(role: str) -> list[dict]:
    """Every permissions policy of the role: its inline policies, then the default version of each attached one."""
    client = aws.client("iam")
    name = role_name(role)
    documents = []
    try:
        for policy_name in client.list_role_policies(RoleName=name)["PolicyNames"]:
            documents.append(_document(client.get_role_policy(RoleName=name, PolicyName=policy_name)
                                       ["PolicyDocument"]))
        for attached in client.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            version = client.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
            documents.append(_document(client.get_policy_version(PolicyArn=attached["PolicyArn"],
                                                                 VersionId=version)["PolicyVersion"]["Document"]))
    except client.exceptions.NoSuchEntityException:
        raise RoleNotFound(f"There is no IAM role {name!r}: create it first with "
                           f"security.create_role({name!r}, policy).") from None
    return documents


def check_lambda_may_assume(role: str) -> None:
    """Refuse a role whose trust policy does not let the Lambda service assume it, as Lambda does."""
    decision = iam.evaluate(trust_policy(role), "sts:AssumeRole", "*", principal=LAMBDA_SERVICE)
    if not decision.allowed:
        raise RoleNotFound(f"The role defined for the function cannot be assumed by Lambda: the trust policy of "
                           f"{role_name(role)!r} does not allow {LAMBDA_SERVICE} to call sts:AssumeRole. Pass "
                           "trust_policy=security.lambda_trust_policy() (the default) to create_role.")


def logs_statement(function_name: str) -> dict:
    """The statement every function needs so that Lambda can write its logs: create its log group, its streams, and
    put events in them, only under ``/aws/lambda/<function_name>``."""
    b = aws.backend()
    return {"Sid": "Logs", "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"arn:aws:logs:{b.region}:{b.account_id}:log-group:/aws/lambda/{function_name}:*"}
