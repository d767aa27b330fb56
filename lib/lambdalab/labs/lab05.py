"""Lab 5 checks: least privilege (notebook: solutions/lab05_least_privilege.ipynb).

Task 1 ``thumbnail_policy(input_bucket, output_bucket, function_name)``: the course's real thumbnail function runs
under a role made from the student's policy (enforced by ``lambdalab.security``); it passes only if the function
works AND the policy grants nothing more. Task 2 ``missing_permission(error_message)``: read an AccessDenied message.
Task 3 ``secret_reader_policy(secret_arn, function_name)``: the real ``db_login`` function reads its password.
Hidden checks use other names (so nothing can be hard-coded) and try calls the function must not be able to make.
"""
from __future__ import annotations

import secrets as random_names

from .. import aws, security
from ..runtime import LambdaFunction
from ..security import policy as iam
from .core import CheckFailed, Lab, Plain
from .helpers import keys_in, s3_event, scratch_bucket

LAB = Lab("lab05", "Lab 5: least privilege", "lab05_least_privilege",
          hidden_summary="other bucket, function and secret names, calls the functions must not be able to make "
                         "(deleting originals, other buckets, other secrets, other functions' logs), and AccessDenied "
                         "messages from other services.")
LAB.task("task1", "Task 1: the thumbnail function's policy", ["thumbnail_policy"])
LAB.task("task2", "Task 2: read an AccessDenied message", ["missing_permission"])
LAB.task("task3", "Task 3: a policy for reading one secret", ["secret_reader_policy"])

EXAMPLE_DENIAL = ("An error occurred (AccessDenied) when calling the PutObject operation: User: arn:aws:sts::"
                  "123456789012:assumed-role/thumbnail-narrow/thumbnail is not authorized to perform: s3:PutObject on "
                  'resource: "arn:aws:s3:::photos-out/dogs/thumb-rex.jpg" because no identity-based policy allows the '
                  "s3:PutObject action")
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")


# --- helpers -----------------------------------------------------------------------------------------------------

def student_policy(ctx, name: str, *args) -> dict:
    """Call the student's policy function and insist on a policy IAM would accept."""
    call = f"{name}({', '.join(repr(a) for a in args)})"
    policy = ctx.call_as(call, name, *args)
    if not isinstance(policy, dict):
        raise CheckFailed(f"{name} should return the policy document as a dict, not a {type(policy).__name__}.",
                          call=call, hint='Return a dict: {"Version": "2012-10-17", "Statement": [...]}.')
    try:
        return iam.check_identity_policy(policy)
    except iam.PolicyError as exc:
        raise CheckFailed(f"That is not a policy IAM would accept: {exc}", call=call,
                          hint='Return a dict: {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                               '"Action": ..., "Resource": ...}, ...]}.') from None


def role_for(ctx, policy: dict) -> str:
    name = f"{ctx.lab.id}-{random_names.token_hex(4)}"
    arn = security.create_role(name, policy)
    ctx.on_cleanup(lambda: security.delete_role(name))
    return arn


class _RunScope:
    """Stands in for a check's context where scratch resources must outlive one check: they are removed at the end
    of the whole run (``labs.check``), with the run's other cleanups."""

    def __init__(self, ctx):
        self.lab, self._cleanups = ctx.lab, ctx.shared.setdefault("cleanups", [])

    def on_cleanup(self, fn) -> None:
        self._cleanups.append(fn)


def once_per_run(ctx, name: str, run):
    """``run(ctx, scope)`` once per run of checks for the student's current ``name`` function, then its result again:
    the checks of a task judge the same function run (a cold start of a real function takes a second or two, and
    a task has up to six checks). A run that raised is not kept, so every check reports the problem itself."""
    student_fn, key = ctx.namespace.get(name), ("once_per_run", name)
    kept = ctx.shared.get(key)
    if kept is None or kept[0] is not student_fn:
        kept = ctx.shared[key] = (student_fn, run(ctx, _RunScope(ctx)))
    return kept[1]


def run_thumbnail(ctx):
    """The real thumbnail function under the student's policy, on one uploaded photo: (invocation, report, names).
    Run once per run of checks (``once_per_run``)."""
    return once_per_run(ctx, "thumbnail_policy", _run_thumbnail)


def _run_thumbnail(ctx, scope):
    from .lab01 import image_bytes

    source, output = scratch_bucket(scope, "uploads"), scratch_bucket(scope, "thumbs")
    name = f"thumbnail-{random_names.token_hex(3)}"
    policy = student_policy(ctx, "thumbnail_policy", source, output, name)
    function = LambdaFunction(name, "lambdalab.handlers.thumbnail.handler", memory_mb=256, timeout_s=20,
                              environment={"OUTPUT_BUCKET": output}, role=role_for(scope, policy))
    scope.on_cleanup(function.shutdown)
    aws.client("s3").put_object(Bucket=source, Key="photos/cat.jpg", Body=image_bytes(400, 300))
    invocation = function.invoke(s3_event(source, ["photos/cat.jpg"]))
    return invocation, security.report(function), {"source": source, "output": output, "function": name,
                                                    "policy": policy}


def expect_it_works(ctx, invocation, report, names):
    if invocation.ok and keys_in(names["output"]) == ["photos/thumb-cat.jpg"]:
        return
    message = (invocation.error or {}).get("errorMessage", "")
    if report.denied and any(c.by == "function" for c in report.denied):
        first = next(c for c in report.denied if c.by == "function")
        ctx.fail("The thumbnail function was denied a call it needs.", expected=Plain(f"{first} allowed"),
                 actual=Plain(message or "AccessDenied"),
                 hint="The function reads the upload (s3:GetObject on the input bucket's objects) and writes the "
                      "thumbnail (s3:PutObject on the output bucket's objects): object ARNs end with /*.")
    ctx.fail("The thumbnail function did not write its thumbnail.", actual=Plain(message or "no thumbnail"))


def expect_no_broad_grants(ctx, report, hint):
    """Fail on the first Allow statement the report finds wider than the calls it served (wildcards, NotAction)."""
    for finding in report.broad:
        ctx.fail("A statement allows more than the function uses.", actual=Plain(str(finding)), hint=hint)


def allow_statements(policy):
    return [s for s in iam.statements(policy) if s["Effect"] == "Allow"]


def expect_denied(ctx, policy, calls, hint):
    for action, resource in calls:
        decision = iam.evaluate(policy, action, resource)
        if decision.allowed:
            ctx.fail(f"Your policy allows {action} on {resource}, which the function must not be able to do.",
                     expected=Plain("denied"), actual=Plain(decision.reason), hint=hint)


# --- task 1: the thumbnail function's policy ---------------------------------------------------------------------

@LAB.check("task1", points=3, timeout=60)
def the_function_works_under_your_policy(ctx):
    """the real thumbnail function runs under your policy and writes its thumbnail"""
    expect_it_works(ctx, *run_thumbnail(ctx))


@LAB.check("task1", points=2, timeout=60)
def no_wildcard_actions_and_only_reads_on_the_input(ctx):
    """no wildcard action or resource, no NotAction, and nothing but s3:GetObject on the input bucket"""
    invocation, report, names = run_thumbnail(ctx)
    expect_it_works(ctx, invocation, report, names)  # a policy that stops the function is not least privilege
    policy = names["policy"]
    for statement in allow_statements(policy):
        wild = [a for a in iam.as_list(statement.get("Action", [])) if "*" in a or "?" in a]
        if "NotAction" in statement or "NotResource" in statement or wild:
            ctx.fail("A statement allows more actions than it names.", actual=statement,
                     hint="Name each action the function uses (s3:GetObject, s3:PutObject, the three logs actions); "
                          "no s3:*, no NotAction, no NotResource.")
    expect_denied(ctx, policy, [("s3:PutObject", f"arn:aws:s3:::{names['source']}/photos/cat.jpg")],
                  "Only read the input bucket: a function that may write there can overwrite the originals (and "
                  "trigger itself).")
    expect_no_broad_grants(ctx, report, "Name the input bucket's objects (arn:aws:s3:::INPUT/*), the output "
                                        "bucket's objects (arn:aws:s3:::OUTPUT/*) and the function's own log group: "
                                        "arn:aws:s3:::* or arn:aws:s3:::INPUT* also covers other buckets.")


@LAB.check("task1", points=2, timeout=60)
def lambda_can_write_the_logs(ctx):
    """the role lets Lambda write the function's logs"""
    _, report, names = run_thumbnail(ctx)
    missing = sorted({c.action for c in report.denied if c.by == "Lambda"})
    if missing:
        ctx.fail("Lambda could not write the function's logs with this role.", expected=Plain(", ".join(LOG_ACTIONS)),
                 actual=Plain(f"denied: {', '.join(missing)}"),
                 hint=f"Add a statement allowing {', '.join(LOG_ACTIONS)} on "
                      f"arn:aws:logs:REGION:ACCOUNT:log-group:/aws/lambda/{names['function']}:*. On AWS a role "
                      "without them runs, but its logs never reach CloudWatch Logs.")


@LAB.check("task1", hidden=True, points=2, timeout=60)
def forbidden_calls_are_denied(ctx):
    """deleting originals or thumbnails, other buckets (look-alike names too), other services"""
    invocation, report, names = run_thumbnail(ctx)
    expect_it_works(ctx, invocation, report, names)
    src, out = f"arn:aws:s3:::{names['source']}", f"arn:aws:s3:::{names['output']}"
    other = f"arn:aws:s3:::someone-else-{ctx.rng.randint(1000, 9999)}"
    calls = [("s3:DeleteObject", f"{src}/photos/cat.jpg"), ("s3:DeleteObject", f"{out}/photos/thumb-cat.jpg"),
             ("s3:GetObject", f"{other}/secret.txt"), ("s3:PutObject", f"{other}/x.jpg"),
             ("s3:GetObject", f"{src}-archive/photos/cat.jpg"), ("s3:PutObject", f"{out}-public/x.jpg"),
             ("s3:PutBucketPolicy", src), ("s3:ListAllMyBuckets", "*"),
             ("dynamodb:Scan", "arn:aws:dynamodb:us-east-1:123456789012:table/users"),
             ("iam:PassRole", "arn:aws:iam::123456789012:role/admin")]
    expect_denied(ctx, names["policy"], calls, "Allow only s3:GetObject on the input bucket's objects, s3:PutObject "
                                               "on the output bucket's objects, and the logs actions.")


@LAB.check("task1", hidden=True, timeout=60)
def logs_only_for_this_function(ctx):
    """the logs permissions cover this function's log group only"""
    invocation, report, names = run_thumbnail(ctx)
    expect_it_works(ctx, invocation, report, names)
    group = f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/payroll-{ctx.rng.randint(10, 99)}"
    expect_denied(ctx, names["policy"], [("logs:PutLogEvents", f"{group}:log-stream:x")],
                  f"Name the function's own log group: arn:aws:logs:REGION:ACCOUNT:log-group:/aws/lambda/"
                  f"{names['function']}:* (the function name is the third argument).")


@LAB.check("task1", hidden=True, points=2, timeout=60)
def nothing_unused(ctx):
    """every permission granted is used by the function"""
    invocation, report, names = run_thumbnail(ctx)
    expect_it_works(ctx, invocation, report, names)
    if report.unused:
        ctx.fail("The policy grants permissions the function never used.", expected=Plain("none"),
                 actual=Plain("; ".join(str(g) for g in report.unused)),
                 hint="Remove what the thumbnail function does not call.")
    expect_no_broad_grants(ctx, report, "Name each action and resource the function uses: no wildcards, no "
                                        "NotAction or NotResource.")


# --- task 2: read an AccessDenied message ------------------------------------------------------------------------

def denial(service_error: str, operation: str, role: str, function: str, action: str, resource: str,
           explicit: bool) -> str:
    from .._call_recorder import denial_message

    return (f"An error occurred ({service_error}) when calling the {operation} operation: "
            + denial_message(f"arn:aws:iam::123456789012:role/{role}", function, "123456789012", action, resource,
                             explicit))


@LAB.check("task2", points=2)
def reads_the_example(ctx):
    """finds the action and the resource in the notebook's example"""
    got = ctx.call_as("missing_permission(<the example message>)", "missing_permission", EXAMPLE_DENIAL)
    ctx.expect_equal(got, {"action": "s3:PutObject", "resource": "arn:aws:s3:::photos-out/dogs/thumb-rex.jpg"},
                     call="missing_permission(<the example message>)",
                     hint="The action follows 'perform: ' and the resource follows 'on resource: ' (S3 puts it in "
                          "double quotes: leave them out).")


@LAB.check("task2", hidden=True, points=2)
def reads_other_services_and_explicit_denies(ctx):
    """messages from DynamoDB, SQS, Secrets Manager, and explicit denies"""
    n = ctx.rng.randint(100, 999)
    cases = [("AccessDeniedException", "PutItem", "dynamodb:PutItem",
              f"arn:aws:dynamodb:us-east-1:123456789012:table/audit-{n}"),
             ("AccessDenied", "SendMessage", "sqs:SendMessage", f"arn:aws:sqs:us-east-1:123456789012:queue-{n}"),
             ("AccessDeniedException", "GetSecretValue", "secretsmanager:GetSecretValue",
              f"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-{n}-AbCdEf"),
             ("AccessDenied", "DeleteObject", "s3:DeleteObject", f"arn:aws:s3:::photos-in-{n}/cats/tom.jpg")]
    for code, operation, action, resource in cases:
        for explicit in (False, True):
            message = denial(code, operation, f"role-{n}", f"fn-{n}", action, resource, explicit)
            ctx.expect_equal(ctx.call_as("missing_permission(<message>)", "missing_permission", message),
                             {"action": action, "resource": resource}, call=f"missing_permission({message!r})",
                             hint="The resource ends before ' because' or ' with an explicit deny', and S3's is in "
                                  "double quotes (leave them out); other services write it bare.")


# --- task 3: a policy for reading one secret ---------------------------------------------------------------------

def run_db_login(ctx):
    """The real db_login function under the student's secret policy: (invocation, report, names). Run once per run
    of checks (``once_per_run``)."""
    return once_per_run(ctx, "secret_reader_policy", _run_db_login)


def _run_db_login(ctx, scope):
    from ..security import secrets

    database = secrets.Database()
    secret_name = f"{ctx.lab.id}/db-{random_names.token_hex(3)}"
    arn = secrets.create_secret(secret_name, database)
    client = aws.client("secretsmanager")
    scope.on_cleanup(lambda: client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True))
    name = f"db-login-{random_names.token_hex(3)}"
    policy = student_policy(ctx, "secret_reader_policy", arn, name)
    function = LambdaFunction(name, "lambdalab.handlers.db_login.handler", role=role_for(scope, policy),
                              environment={"DB_SECRET_ID": secret_name, "DATABASE_PATH": database.path})
    scope.on_cleanup(function.shutdown)
    return function.invoke({}), security.report(function), {"arn": arn, "policy": policy, "function": name}


@LAB.check("task3", points=2, timeout=60)
def the_function_reads_its_secret(ctx):
    """the real db_login function reads its password and writes its logs"""
    invocation, report, names = run_db_login(ctx)
    if not invocation.ok:
        ctx.fail("The function could not read its secret.", actual=Plain(invocation.error.get("errorMessage", "")),
                 hint="Allow secretsmanager:GetSecretValue on the secret's ARN (the first argument).")
    missing = sorted({c.action for c in report.denied})
    if missing:
        ctx.fail("Some calls were denied.", actual=Plain(", ".join(missing)),
                 hint=f"Add the logs actions on the function's log group, /aws/lambda/{names['function']}.")


@LAB.check("task3", hidden=True, points=2, timeout=60)
def only_that_secret_and_only_reading(ctx):
    """no other secret (look-alike names too), no writing or deleting secrets, no wildcard action, nothing unused"""
    invocation, report, names = run_db_login(ctx)
    if not invocation.ok or report.denied:
        ctx.fail("The function could not read its secret and write its logs with this policy.",
                 actual=Plain((invocation.error or {}).get("errorMessage", "")
                              or ", ".join(sorted({c.action for c in report.denied}))),
                 hint="Pass the public check of task 3 first.")
    for statement in allow_statements(names["policy"]):
        wild = [a for a in iam.as_list(statement.get("Action", [])) if "*" in a or "?" in a]
        if "NotAction" in statement or "NotResource" in statement or wild:
            ctx.fail("A statement allows more actions than it names.", actual=statement,
                     hint="Name the one action, secretsmanager:GetSecretValue: secretsmanager:* also allows "
                          "PutSecretValue and DeleteSecret, and Get* allows GetResourcePolicy and any Get action "
                          "AWS adds later.")
    other = names["arn"].rsplit(":", 1)[0] + f":prod/payments-{ctx.rng.randint(10, 99)}-XyZ123"
    look_alike = names["arn"].rsplit("-", 1)[0] + "-admin-QwErTy"
    expect_denied(ctx, names["policy"], [("secretsmanager:GetSecretValue", other),
                                         ("secretsmanager:GetSecretValue", look_alike),
                                         ("secretsmanager:PutSecretValue", names["arn"]),
                                         ("secretsmanager:DeleteSecret", names["arn"]),
                                         ("kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/any")],
                  "Allow exactly secretsmanager:GetSecretValue on exactly this secret's ARN (the first argument): "
                  "a name followed by * also matches look-alikes such as prod/db-admin.")
    if report.unused:
        ctx.fail("The policy grants permissions the function never used.",
                 actual=Plain("; ".join(str(g) for g in report.unused)), hint="Remove them.")
