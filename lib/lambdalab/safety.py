"""Safety on a real AWS account: a name prefix on everything the course creates, a tag on it, and a cleanup that
deletes exactly what carries the tag.

With ``LAMBDALAB_BACKEND=aws``, ``aws.start()`` requires ``LAMBDALAB_PREFIX`` (e.g. ``ann-lab-``) and hooks the
course's boto3 session:

- a create call (``CreateBucket``, ``CreateTable``, ``CreateQueue``, ``PutRule``...) whose resource name does not
  start with the prefix is refused before it is sent;
- every create call that accepts tags gets ``lambdalab-course=<prefix>`` added; a bucket (CreateBucket takes no tags)
  is tagged right after it is created.

``cleanup(prefix)`` finds the resources carrying that tag, service by service (a resource without the tag, or with
another prefix's, is never touched); ``lambdalab cleanup`` lists them, asks, and deletes them. ``aws.reset()`` stays
refused on real AWS. The emulated backends need none of this and are not hooked.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

TAG_KEY = "lambdalab-course"
PREFIX_VARIABLE = "LAMBDALAB_PREFIX"
LAMBDA_LOG_GROUPS = "/aws/lambda/"
# the parameter that names what a create call creates (the first one present counts)
NAME_PARAMETERS = ("Bucket", "TableName", "QueueName", "StreamName", "FunctionName", "RoleName", "PolicyName",
                   "logGroupName", "TopicName", "Name")


class UnsafeOperation(RuntimeError):
    """The course refused a call that could touch what it did not create on a real account."""


def prefix_from_environment() -> str:
    """LAMBDALAB_PREFIX, checked: real AWS needs one, so everything the course creates is recognisably its own."""
    prefix = os.environ.get(PREFIX_VARIABLE, "").strip()
    if len(prefix) < 3 or not prefix.replace("-", "").isalnum() or prefix != prefix.lower():
        raise UnsafeOperation(
            f"LAMBDALAB_BACKEND=aws needs {PREFIX_VARIABLE}: a short lower-case name prefix such as 'ann-lab-' "
            f"(letters, digits and dashes, at least 3 characters; got {prefix!r}). Every bucket, table, queue, "
            "stream, function and role the course creates must start with it, and `lambdalab cleanup` deletes only "
            "what carries it.")
    return prefix


def is_create(operation: str, params: dict) -> bool:
    """A call that creates a named resource (not an object in a bucket: CreateMultipartUpload is an upload)."""
    return (operation.startswith("Create") or operation in ("PutRule",)) and "Key" not in params


def guard(session, prefix: str) -> None:
    """Hook a boto3 session (every client made from it afterwards): refuse unprefixed creates, tag what is created."""

    def check_and_tag(params, model, context, **_):
        if not is_create(model.name, params):
            return
        name = next((params[p] for p in NAME_PARAMETERS if isinstance(params.get(p), str)), None)
        if name is not None and not _own_name(name).startswith(prefix):
            raise UnsafeOperation(
                f"Refusing {model.name} of {name!r} on real AWS: its name does not start with {PREFIX_VARIABLE} "
                f"{prefix!r}. Name it {prefix}{name}, so that `lambdalab cleanup` can find it and nothing of "
                "yours is ever mistaken for the course's.")
        _add_tag(params, model.input_shape, prefix)
        context["lambdalab_name"] = name

    def tag_bucket(http_response, context, **_):  # CreateBucket takes no tags: tag the bucket once it exists
        if http_response is not None and http_response.status_code < 300 and context.get("lambdalab_name"):
            s3 = session.client("s3", endpoint_url=_endpoint_of(http_response.url))
            s3.put_bucket_tagging(Bucket=context["lambdalab_name"],
                                  Tagging={"TagSet": [{"Key": TAG_KEY, "Value": prefix}]})

    def tag_stream(http_response, context, **_):  # AWS takes CreateStream's Tags; moto ignores them: add if missing
        if http_response is not None and http_response.status_code < 300 and context.get("lambdalab_name"):
            kinesis = session.client("kinesis", endpoint_url=_endpoint_of(http_response.url))
            tags = kinesis.list_tags_for_stream(StreamName=context["lambdalab_name"]).get("Tags", [])
            if not _tagged(tags, prefix):
                kinesis.add_tags_to_stream(StreamName=context["lambdalab_name"], Tags={TAG_KEY: prefix})

    session.events.register("provide-client-params", check_and_tag)
    session.events.register("after-call.s3.CreateBucket", tag_bucket)
    session.events.register("after-call.kinesis.CreateStream", tag_stream)


def _own_name(name: str) -> str:
    """The part of a name the prefix applies to: a function's log group is named /aws/lambda/<function name>."""
    return name.removeprefix(LAMBDA_LOG_GROUPS)


def _endpoint_of(url: str) -> str | None:
    """The endpoint a response came from, when it is not AWS's own (the test switch's moto server)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return None if (parts.hostname or "").endswith("amazonaws.com") else f"{parts.scheme}://{parts.netloc}"


def _add_tag(params: dict, shape, prefix: str) -> None:
    """Add the course's tag in the shape this call takes it (a map, or a list of Key/Value pairs)."""
    member = next((m for m in shape.members if m.lower() == "tags"), None) if shape is not None else None
    if member is None:
        return
    kind = shape.members[member]
    if kind.type_name == "map":
        params[member] = {**(params.get(member) or {}), TAG_KEY: prefix}
    elif kind.type_name == "list" and {"Key", "Value"} <= set(kind.member.members):
        tags = [t for t in params.get(member) or [] if t.get("Key") != TAG_KEY]
        params[member] = tags + [{"Key": TAG_KEY, "Value": prefix}]


# --- what the course created, and deleting it ------------------------------------------------------------------------

@dataclass(frozen=True)
class Created:
    """One resource carrying the course's tag."""

    kind: str  # e.g. "S3 bucket"
    name: str
    delete: object  # () -> None

    def __str__(self):
        return f"{self.kind:<22} {self.name}"


def _tagged(tags, prefix) -> bool:
    if isinstance(tags, dict):
        return tags.get(TAG_KEY) == prefix
    return any(t.get("Key") == TAG_KEY and t.get("Value") == prefix for t in tags or [])


def created(client, prefix: str) -> list[Created]:
    """Every resource the course created under ``prefix`` (its name starts with the prefix AND it carries the tag),
    deletable in the order listed. ``client(service)`` makes a boto3 client."""
    found = []
    lam = client("lambda")
    functions = [f for f in _pages(lam, "list_functions", "Functions") if f["FunctionName"].startswith(prefix)
                 and _tagged(lam.list_tags(Resource=f["FunctionArn"]).get("Tags", {}), prefix)]
    names = {f["FunctionArn"] for f in functions}
    for mapping in _pages(lam, "list_event_source_mappings", "EventSourceMappings"):
        if mapping["FunctionArn"] in names:
            found.append(Created("event source mapping", f"{mapping['UUID']} -> {mapping['FunctionArn'].split(':')[-1]}",
                                 lambda u=mapping["UUID"]: lam.delete_event_source_mapping(UUID=u)))
    for f in functions:
        found.append(Created("Lambda function", f["FunctionName"],
                             lambda n=f["FunctionName"]: lam.delete_function(FunctionName=n)))
    events = client("events")
    for rule in events.list_rules(NamePrefix=prefix).get("Rules", []):
        if _tagged(events.list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags", []), prefix):
            found.append(Created("EventBridge rule", rule["Name"], lambda r=rule: _delete_rule(events, r)))
    s3 = client("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        if bucket["Name"].startswith(prefix) and _tagged(_bucket_tags(s3, bucket["Name"]), prefix):
            found.append(Created("S3 bucket", bucket["Name"], lambda b=bucket["Name"]: _delete_bucket(s3, b)))
    ddb = client("dynamodb")
    for table in _pages(ddb, "list_tables", "TableNames"):
        if table.startswith(prefix):
            arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
            if _tagged(ddb.list_tags_of_resource(ResourceArn=arn).get("Tags", []), prefix):
                found.append(Created("DynamoDB table", table, lambda t=table: ddb.delete_table(TableName=t)))
    kinesis = client("kinesis")
    for stream in kinesis.list_streams().get("StreamNames", []):
        if stream.startswith(prefix) and _tagged(
                kinesis.list_tags_for_stream(StreamName=stream).get("Tags", []), prefix):
            found.append(Created("Kinesis stream", stream, lambda s=stream: kinesis.delete_stream(
                StreamName=s, EnforceConsumerDeletion=True)))
    sqs = client("sqs")
    for url in sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", []):
        if _tagged(sqs.list_queue_tags(QueueUrl=url).get("Tags", {}), prefix):
            found.append(Created("SQS queue", url.rsplit("/", 1)[-1], lambda u=url: sqs.delete_queue(QueueUrl=u)))
    sns = client("sns")
    for topic in _pages(sns, "list_topics", "Topics"):
        arn = topic["TopicArn"]
        if arn.rsplit(":", 1)[-1].startswith(prefix) and _tagged(
                sns.list_tags_for_resource(ResourceArn=arn).get("Tags", []), prefix):
            found.append(Created("SNS topic", arn.rsplit(":", 1)[-1], lambda a=arn: sns.delete_topic(TopicArn=a)))
    secrets = client("secretsmanager")
    for secret in _pages(secrets, "list_secrets", "SecretList"):
        if secret["Name"].startswith(prefix) and _tagged(secret.get("Tags", []), prefix):
            found.append(Created("secret", secret["Name"], lambda a=secret["ARN"]: secrets.delete_secret(
                SecretId=a, ForceDeleteWithoutRecovery=True)))
    logs = client("logs")
    for group in _pages(logs, "describe_log_groups", "logGroups"):
        if _own_name(group["logGroupName"]).startswith(prefix) and _tagged(
                logs.list_tags_log_group(logGroupName=group["logGroupName"]).get("tags", {}), prefix):
            found.append(Created("log group", group["logGroupName"],
                                 lambda g=group["logGroupName"]: logs.delete_log_group(logGroupName=g)))
    iam = client("iam")
    for role in _pages(iam, "list_roles", "Roles"):
        if role["RoleName"].startswith(prefix) and _tagged(
                iam.list_role_tags(RoleName=role["RoleName"]).get("Tags", []), prefix):
            found.append(Created("IAM role", role["RoleName"], lambda r=role["RoleName"]: _delete_role(iam, r)))
    return found


def _pages(client, method, key):
    if client.can_paginate(method):
        for page in client.get_paginator(method).paginate():
            yield from page.get(key, [])
    else:
        yield from getattr(client, method)().get(key, [])


def _bucket_tags(s3, bucket):
    try:
        return s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    except s3.exceptions.ClientError:  # NoSuchTagSet: not the course's
        return []


def _delete_bucket(s3, bucket):
    """Empty the bucket (every version and delete marker), then delete it."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if doomed:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
    s3.delete_bucket(Bucket=bucket)


def _delete_rule(events, rule):
    targets = [t["Id"] for t in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", [])]
    if targets:
        events.remove_targets(Rule=rule["Name"], Ids=targets, Force=True)
    events.delete_rule(Name=rule["Name"], Force=True)


def _delete_role(iam, role):
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        iam.delete_role_policy(RoleName=role, PolicyName=name)
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=role, PolicyArn=attached["PolicyArn"])
    iam.delete_role(RoleName=role)
