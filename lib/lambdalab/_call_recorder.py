"""Inside a Lambda worker: record every AWS call the handler makes and refuse what its execution role does not allow.

Activated by ``lambdalab._worker`` only for a function with an execution role (``LambdaFunction(..., role=...)``),
before the handler is imported, so calls made at INIT count too. It hooks botocore's events on every session the
handler creates (``boto3.client(...)`` uses one):

- ``before-parameter-build``: turn the call into an IAM action and a resource ARN (``s3.get_object(Bucket="in",
  Key="a.jpg")`` -> ``s3:GetObject`` on ``arn:aws:s3:::in/a.jpg``) plus the condition keys of the request;
- ``before-call``: evaluate the role's policies (``lambdalab.security.policy``) and, when they do not allow the call,
  answer it with AccessDenied worded as AWS words it, without sending it. Every call is appended to a JSON-lines file
  the runtime's side reads (``lambdalab.security.report``). Secret values and other parameters are never recorded.
"""
from __future__ import annotations

import json
import os
import threading
import time
from urllib.parse import urlparse

from lambdalab.security import policy as iam

# botocore operation -> IAM action, where the action's name is not the operation's (the rest are service:Operation)
ACTIONS = {
    ("s3", "HeadObject"): "s3:GetObject", ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket", ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "DeleteObjects"): "s3:DeleteObject", ("s3", "CopyObject"): "s3:PutObject",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets", ("s3", "GetObjectAttributes"): "s3:GetObject",
    ("s3", "CreateMultipartUpload"): "s3:PutObject", ("s3", "UploadPart"): "s3:PutObject",
    ("s3", "CompleteMultipartUpload"): "s3:PutObject", ("s3", "AbortMultipartUpload"): "s3:AbortMultipartUpload",
    ("sqs", "SendMessageBatch"): "sqs:SendMessage", ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
    ("lambda", "Invoke"): "lambda:InvokeFunction", ("monitoring", "PutMetricData"): "cloudwatch:PutMetricData",
}
# with a VersionId, S3 checks the ...Version action instead (GetObject's documentation: "s3:GetObject is not required")
VERSION_ACTIONS = {"s3:GetObject": "s3:GetObjectVersion", "s3:DeleteObject": "s3:DeleteObjectVersion"}
PREFIXES = {"monitoring": "cloudwatch"}  # botocore signing name -> IAM service prefix
ACCESS_DENIED = {"s3": ("AccessDenied", 403), "sqs": ("AccessDenied", 403), "sns": ("AuthorizationError", 403),
                 "sts": ("AccessDenied", 403), "iam": ("AccessDenied", 403)}  # the rest: AccessDeniedException, 400

_settings: dict = {}
_lock = threading.Lock()
_out = None
_internal = threading.local()  # set while this module makes calls of its own (they are not the handler's)
_secret_arns: dict = {}


def activate(settings: dict) -> None:
    """Hook every botocore session created from now on. ``settings``: role_arn, function_name, account, region,
    policies (documents), record_path, environment (id)."""
    global _out
    import botocore.session

    _settings.update(settings)
    _out = open(settings["record_path"], "a", encoding="utf-8")
    _write({"kind": "environment", "environment": settings["environment"], "role_arn": settings["role_arn"],
            "log_stream": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", ""), "t": time.time()})
    original = botocore.session.Session.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if not getattr(_internal, "active", False):
            events = self.get_component("event_emitter")
            events.register("before-parameter-build", _describe)
            events.register_first("before-call", _check)
            events.register("after-call.s3.GetObject", _missing_object)
            events.register("after-call.s3.HeadObject", _missing_object)

    botocore.session.Session.__init__ = init


def _write(record: dict) -> None:
    with _lock:
        _out.write(json.dumps(record) + "\n")
        _out.flush()


def describe(service: str, operation: str, params: dict, region: str, account: str) -> tuple[str, str, dict]:
    """(IAM action, resource ARN, condition keys) for one API call; the resource is ``*`` when IAM has none. For a
    call that needs several authorizations (see ``authorizations``), the first of them."""
    needed, keys = authorizations(service, operation, params, region, account)
    action, resource = needed[0]
    return action, resource, keys


# A transaction's items are authorized as the single-item operations they stand for (DynamoDB's "Using IAM with
# DynamoDB transactions"), with dynamodb:EnclosingOperation naming the transaction.
TRANSACTION_ITEMS = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem",
                     "ConditionCheck": "dynamodb:ConditionCheckItem", "Get": "dynamodb:GetItem"}


def authorizations(service: str, operation: str, params: dict, region: str,
                   account: str) -> tuple[list[tuple[str, str]], dict]:
    """Every (IAM action, resource ARN) one API call needs, and the request's condition keys. Most calls need one;
    a batch naming several tables (BatchWriteItem, BatchGetItem) or event buses (PutEvents) needs its action on each,
    and a transaction each item's own action on its table. The call is allowed only when all of them are."""
    p = params or {}
    action, resource, context = _describe_one(service, operation, p, region, account)
    where = f"{region}:{account}"
    needed = [(action, resource)]
    if service == "dynamodb" and operation in ("BatchWriteItem", "BatchGetItem"):
        needed = [(action, _table_arn(table, where)) for table in p.get("RequestItems") or {}] or needed
    elif service == "dynamodb" and operation in ("TransactWriteItems", "TransactGetItems"):
        context["dynamodb:EnclosingOperation"] = operation
        needed = [(TRANSACTION_ITEMS[kind], _table_arn(spec.get("TableName", ""), where))
                  for item in p.get("TransactItems") or [] for kind, spec in item.items()
                  if kind in TRANSACTION_ITEMS and isinstance(spec, dict)] or needed
    elif service == "events" and operation == "PutEvents":
        needed = [(action, _bus_arn(entry.get("EventBusName"), where)) for entry in p.get("Entries") or []] or needed
    return list(dict.fromkeys(needed)), context


def _table_arn(table: str, where: str) -> str:
    return table if table.startswith("arn:") else f"arn:aws:dynamodb:{where}:table/{table}"


def _bus_arn(bus: str | None, where: str) -> str:
    bus = bus or "default"
    return bus if bus.startswith("arn:") else f"arn:aws:events:{where}:event-bus/{bus}"


def _describe_one(service: str, operation: str, p: dict, region: str, account: str) -> tuple[str, str, dict]:
    """(IAM action, resource ARN, condition keys) of a call that names one resource."""
    prefix = PREFIXES.get(service, service)
    action = ACTIONS.get((service, operation), f"{prefix}:{operation}")
    where = f"{region}:{account}"
    context = {"aws:RequestedRegion": region, "aws:SecureTransport": "true"}
    resource = "*"
    if prefix == "s3" and p.get("Bucket"):
        resource = f"arn:aws:s3:::{p['Bucket']}" + (f"/{p['Key']}" if p.get("Key") else "")
        if p.get("VersionId") and p.get("Key"):
            action = VERSION_ACTIONS.get(action, action)
        if "Prefix" in p:
            context["s3:prefix"] = p["Prefix"]
    elif prefix == "dynamodb":
        table = p.get("TableName") or next(iter(p.get("RequestItems") or {}), None)
        if p.get("StreamArn"):
            resource = p["StreamArn"]
        elif table:
            resource = _table_arn(table, where)
            if p.get("IndexName"):  # a Query or Scan of an index is authorized on the index's ARN
                resource += f"/index/{p['IndexName']}"
    elif prefix == "kinesis":
        name = p.get("StreamARN") or p.get("StreamName")
        if name:
            resource = name if name.startswith("arn:") else f"arn:aws:kinesis:{where}:stream/{name}"
    elif prefix == "sqs" and p.get("QueueUrl"):
        path = urlparse(p["QueueUrl"]).path.strip("/").split("/")
        owner = path[0] if len(path) > 1 and path[0].isdigit() else account
        resource = f"arn:aws:sqs:{region}:{owner}:{path[-1]}"
    elif prefix == "ses" and p.get("Source"):  # SES authorizes a send against the sender's identity
        resource = f"arn:aws:ses:{where}:identity/{p['Source'].rsplit('<', 1)[-1].rstrip('>').strip()}"
    elif prefix == "sns" and (p.get("TopicArn") or p.get("TargetArn")):
        resource = p.get("TopicArn") or p["TargetArn"]
    elif prefix == "secretsmanager" and p.get("SecretId"):
        resource = secret_arn(p["SecretId"], region, account)
        context["secretsmanager:SecretId"] = resource
        if operation == "GetSecretValue":
            context["secretsmanager:VersionStage"] = p.get("VersionStage", "AWSCURRENT")
    elif prefix == "lambda" and p.get("FunctionName"):
        name = p["FunctionName"]
        resource = name if name.startswith("arn:") else f"arn:aws:lambda:{where}:function:{name}"
    elif prefix == "logs" and p.get("logGroupName"):
        resource = f"arn:aws:logs:{where}:log-group:{p['logGroupName']}"
        if p.get("logStreamName"):
            resource += f":log-stream:{p['logStreamName']}"
    elif prefix == "events":
        buses = [e.get("EventBusName") for e in p.get("Entries") or []] or [p.get("EventBusName")]
        resource = _bus_arn(buses[0], where)
    elif prefix == "ssm" and p.get("Name"):
        resource = f"arn:aws:ssm:{where}:parameter/{p['Name'].lstrip('/')}"
    elif prefix == "kms" and p.get("KeyId"):
        key = p["KeyId"]
        kind = "" if key.startswith("alias/") else "key/"
        resource = key if key.startswith("arn:") else f"arn:aws:kms:{where}:{kind}{key}"
    return action, resource, context


def secret_arn(secret_id: str, region: str, account: str) -> str:
    """A secret's full ARN (with AWS's random six-character suffix), looked up once per name and environment."""
    if secret_id.startswith("arn:"):
        return secret_id
    if secret_id not in _secret_arns:
        found = None
        _internal.active = True
        try:
            import botocore.session

            client = botocore.session.Session().create_client("secretsmanager", region_name=region)
            found = client.describe_secret(SecretId=secret_id)["ARN"]
        except Exception:  # no such secret (the real call will say so), or unreachable
            found = None
        finally:
            _internal.active = False
        # without the real ARN, one that policies naming "name-*" or "name-??????" still match
        _secret_arns[secret_id] = found or f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}-??????"
    return _secret_arns[secret_id]


def _describe(params, model, context, **_):
    if getattr(_internal, "active", False):
        return
    service = model.service_model.signing_name
    context["lambdalab_call"] = authorizations(service, model.name, params, _settings["region"], _settings["account"])


def _check(model, context, **_):
    if getattr(_internal, "active", False):
        return None
    service = model.service_model.signing_name
    needed, keys = context.pop("lambdalab_call", None) or authorizations(
        service, model.name, {}, _settings["region"], _settings["account"])
    keys = {**keys, "aws:PrincipalArn": _settings["role_arn"], "aws:PrincipalAccount": _settings["account"]}
    denied = None
    for action, resource in needed:  # each is recorded; the first refused one is the one AccessDenied names
        decision = (iam.evaluate(_settings["policies"], action, resource, keys) if _settings["policies"]
                    else iam.Decision(False))
        _write({"kind": "call", "environment": _settings["environment"], "role_arn": _settings["role_arn"],
                "action": action, "resource": resource, "allowed": decision.allowed,
                "explicit_deny": decision.explicit_deny, "t": time.time()})
        if not decision.allowed and denied is None:
            denied = (action, resource, decision.explicit_deny)
    if denied is None:
        context["lambdalab_keys"] = keys
        return None
    return _denial(service, *denied)


def _missing_object(http_response, parsed, model, context, **_):
    """S3 tells a missing key (404 NoSuchKey) only to a caller allowed s3:ListBucket on the bucket; to anyone else it
    answers 403 AccessDenied, so that a key's existence cannot be probed."""
    error = parsed.get("Error", {}) if isinstance(parsed, dict) else {}
    if getattr(_internal, "active", False) or error.get("Code") not in ("NoSuchKey", "404", "NotFound"):
        return
    bucket = urlparse(http_response.url).path.lstrip("/").split("/", 1)[0] if http_response is not None else ""
    host = urlparse(http_response.url).hostname or "" if http_response is not None else ""
    if ".s3." in host or host.endswith(".s3.amazonaws.com"):  # virtual-hosted style: the bucket is in the host name
        bucket = host.split(".s3", 1)[0]
    resource = f"arn:aws:s3:::{bucket}"
    decision = iam.evaluate(_settings["policies"], "s3:ListBucket", resource, context.get("lambdalab_keys", {}))
    _write({"kind": "call", "environment": _settings["environment"], "role_arn": _settings["role_arn"],
            "action": "s3:ListBucket", "resource": resource, "allowed": decision.allowed,
            "explicit_deny": decision.explicit_deny, "t": time.time()})
    if not decision.allowed:
        parsed["Error"] = {"Code": "AccessDenied", "Message": "Access Denied"}
        parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = 403


def denial_message(role_arn: str, function_name: str, account: str, action: str, resource: str,
                   explicit: bool) -> str:
    """AccessDenied's message as AWS writes it for a Lambda function's assumed role. S3 puts the resource in double
    quotes (its access-denied messages: ``on resource: "arn:aws:s3:::bucket/key"``); other services do not."""
    role = role_arn.rsplit("/", 1)[-1]
    who = f"arn:aws:sts::{account}:assumed-role/{role}/{function_name}"
    why = ("with an explicit deny in an identity-based policy" if explicit
           else f"because no identity-based policy allows the {action} action")
    shown = f'"{resource}"' if action.startswith("s3:") else resource
    return f"User: {who} is not authorized to perform: {action} on resource: {shown} {why}"


def _denial(service, action, resource, explicit):
    from botocore.awsrequest import AWSResponse

    code, status = ACCESS_DENIED.get(service, ("AccessDeniedException", 400))
    message = denial_message(_settings["role_arn"], _settings["function_name"], _settings["account"], action,
                             resource, explicit)
    http = AWSResponse("", status, {}, None)
    http._content = b""
    return http, {"Error": {"Code": code, "Message": message},
                  "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0}}
