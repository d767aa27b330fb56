"""``report(function)``: every AWS call a function made, held against its execution role's policies.

Like IAM Access Analyzer's policy generation (which reads CloudTrail), it works from what the function really did:

- ``calls``: each action on each resource, how often, allowed or not (the Lambda service's own log writes included:
  they use the role too);
- ``denied``: the calls the policies do not allow;
- ``unused``: each (action, resource) the policies grant that no call used;
- ``broad``: statements with wildcards (or NotAction / NotResource) that the observed calls show could be narrower;
- ``minimal_policy``: a policy allowing exactly the observed calls on the narrowest resources a policy should name
  (an S3 bucket's objects as ``bucket/*``, the function's log group as ``log-group:/aws/lambda/NAME:*``).

Only what the function did while recorded counts: a code path that did not run is not in the minimal policy.
"""
from __future__ import annotations

import collections
import json
from dataclasses import dataclass, field
from html import escape

from .. import aws
from . import enforcement, roles
from . import policy as iam

LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")


@dataclass(frozen=True)
class Call:
    """One action on one resource, as the function used it."""

    action: str
    resource: str
    count: int
    allowed: bool
    by: str = "function"  # "function" (the handler's code) or "Lambda" (log delivery under the role)

    def __str__(self):
        return f"{self.action} on {self.resource}"


@dataclass(frozen=True)
class Grant:
    """One action on one resource pattern that a policy statement allows."""

    action: str
    resource: str

    def __str__(self):
        return f"{self.action} on {self.resource}"


@dataclass(frozen=True)
class Broad:
    """A statement wider than the observed calls need: what is wide, what it was used for, what would do."""

    statement: dict
    wide: tuple
    used_for: tuple
    suggestion: tuple

    def __str__(self):
        return f"{', '.join(self.wide)} (used only for: {'; '.join(self.used_for)})"


@dataclass
class Report:
    function_name: str
    role_arn: str
    policies: list
    calls: list
    denied: list
    unused: list
    broad: list
    minimal_policy: dict
    environments: int
    records: list = field(default_factory=list, repr=False)

    def __repr__(self):
        return (f"<Report {self.function_name} as {self.role_arn}: {sum(c.count for c in self.calls)} calls, "
                f"{len(self.denied)} denied, {len(self.unused)} unused, {len(self.broad)} broad>")

    @property
    def least_privilege(self) -> bool:
        """True when the policies allow every observed call and grant nothing more (no unused, nothing broad)."""
        return not (self.denied or self.unused or self.broad)

    def count(self, action: str, *, per_environment: bool = False):
        """How many times the function called ``action`` (in all, or per execution environment)."""
        found = [r for r in self.records if r.get("kind") == "call" and r["action"].lower() == action.lower()]
        if not per_environment:
            return len(found)
        counts = {r["environment"]: 0 for r in self.records if r.get("kind") == "environment"}
        for r in found:
            counts[r["environment"]] = counts.get(r["environment"], 0) + 1
        return counts

    def text(self) -> str:
        lines = [f"{self.function_name} as {self.role_arn}: {sum(c.count for c in self.calls)} calls in "
                 f"{self.environments} environment(s)"]
        for c in self.calls:
            lines.append(f"  {'allowed' if c.allowed else 'DENIED '}  {c.count:>3} x {c}"
                         + ("  (by Lambda, for the logs)" if c.by != "function" else ""))
        for title, items in (("denied", self.denied), ("unused", self.unused), ("broad", self.broad)):
            lines.append(f"{title}: " + ("none" if not items else ""))
            lines += [f"  - {item}" for item in items]
        lines.append("minimal policy:")
        lines.append(json.dumps(self.minimal_policy, indent=2))
        return "\n".join(lines)

    __str__ = text

    def _repr_html_(self):
        rows = "".join(
            f"<tr><td style='color:{'#1b7f3b' if c.allowed else '#b3261e'}'>{'allowed' if c.allowed else 'denied'}"
            f"</td><td>{c.count}</td><td><code>{escape(c.action)}</code></td><td><code>{escape(c.resource)}</code>"
            f"</td><td>{'Lambda (logs)' if c.by != 'function' else 'handler'}</td></tr>" for c in self.calls)

        def items(title, values, colour):
            body = "".join(f"<li><code>{escape(str(v))}</code></li>" for v in values) or "<li>none</li>"
            return f"<p><b style='color:{colour if values else '#1b7f3b'}'>{title}</b></p><ul>{body}</ul>"

        verdict = ("least privilege: every call allowed, nothing more granted" if self.least_privilege
                   else "not least privilege")
        return (f"<div><b>{escape(self.function_name)}</b> as <code>{escape(self.role_arn)}</code>: {verdict}"
                f"<table><tr><th>verdict</th><th>calls</th><th>action</th><th>resource</th><th>by</th></tr>{rows}"
                f"</table>{items('denied', self.denied, '#b3261e')}{items('unused', self.unused, '#a15c00')}"
                f"{items('broad', self.broad, '#a15c00')}<p><b>minimal policy</b></p>"
                f"<pre>{escape(json.dumps(self.minimal_policy, indent=2))}</pre></div>")


def report(function) -> Report:
    """What ``function`` did with its execution role (see the module docstring). Invoke it first."""
    if not enforcement.enforced(function):
        raise ValueError(f"{function.name} runs with the course's default role, which is not enforced or recorded. "
                         "Create a role with security.create_role(name, policy) and pass role=<its ARN> to "
                         "LambdaFunction (or function.update(role=...)).")
    policies = roles.role_policies(function.role)
    records = [r for r in enforcement.recorded(function) if r.get("role_arn") == function.role_arn]
    calls = _calls(function, records, policies)
    observed = [(c.action, c.resource) for c in calls]
    minimal = minimal_policy(observed)
    return Report(
        function_name=function.name, role_arn=function.role_arn, policies=policies, calls=calls,
        denied=[c for c in calls if not c.allowed], unused=unused_grants(policies, observed),
        broad=broad_statements(policies, observed, minimal), minimal_policy=minimal,
        environments=sum(1 for r in records if r.get("kind") == "environment"), records=records)


def _calls(function, records, policies) -> list[Call]:
    counts = collections.Counter()
    verdicts = {}
    for r in records:
        if r.get("kind") == "call":
            counts[(r["action"], r["resource"], "function")] += 1
            verdicts[(r["action"], r["resource"])] = r["allowed"]
    b = aws.backend()
    group = f"arn:aws:logs:{b.region}:{b.account_id}:log-group:{function.log_group}"
    for action, resource in enforcement.event_source_calls(function):  # Lambda's poller, with the role
        counts[(action, resource, "Lambda")] += 1
    environments = [r for r in records if r.get("kind") == "environment"]
    if environments:  # Lambda writes each environment's logs with the role's permissions
        counts[("logs:CreateLogGroup", f"{group}:log-stream:", "Lambda")] += 1
        for r in environments:
            stream = f"{group}:log-stream:{r.get('log_stream', '')}"
            counts[("logs:CreateLogStream", stream, "Lambda")] += 1
            counts[("logs:PutLogEvents", stream, "Lambda")] += 1
    calls = []
    for (action, resource, by), count in counts.items():
        allowed = verdicts.get((action, resource))
        if allowed is None:
            allowed = iam.evaluate(policies, action, resource).allowed if policies else False
        calls.append(Call(action, resource, count, allowed, by))
    return sorted(calls, key=lambda c: (c.by != "function", c.action, c.resource))


def scope(resource: str) -> str:
    """The narrowest resource a policy should name for a call on ``resource``: an S3 object -> its bucket's ``/*``,
    a log stream -> its log group's ``:*``; anything else as it is."""
    if resource.startswith("arn:aws:s3:::") and "/" in resource:
        return resource.split("/", 1)[0] + "/*"
    if ":log-group:" in resource and ":log-stream:" in resource:
        return resource.split(":log-stream:", 1)[0] + ":*"
    return resource


def minimal_policy(observed) -> dict:
    """A policy allowing exactly ``observed`` (action, resource) pairs on scoped resources, one statement per set of
    actions that share the same resources."""
    actions_by_resource = collections.defaultdict(set)
    for action, resource in observed:
        actions_by_resource[scope(resource)].add(action)
    grouped = collections.defaultdict(list)
    for resource, actions in actions_by_resource.items():
        grouped[tuple(sorted(actions))].append(resource)
    statements, taken = [], set()
    for actions, resources in sorted(grouped.items()):
        statements.append({"Sid": _sid(actions, taken), "Effect": "Allow",
                           "Action": actions[0] if len(actions) == 1 else list(actions),
                           "Resource": sorted(resources)[0] if len(resources) == 1 else sorted(resources)})
    return {"Version": iam.VERSION, "Statement": statements}


def _sid(actions, taken) -> str:
    """A statement id from what it allows: "S3GetObject" for one action, "Logs" for several of one service."""
    if len(actions) == 1:
        service, _, operation = actions[0].partition(":")
        base = service.capitalize() + operation.replace("*", "All")
    else:
        base = "".join(sorted({a.partition(":")[0].capitalize() for a in actions}))
    sid, n = base, 1
    while sid in taken:
        n += 1
        sid = f"{base}{n}"
    taken.add(sid)
    return sid


def _allows(statement, action, resource) -> bool:
    return (statement["Effect"] == "Allow" and iam.action_matches(statement, action)
            and iam.resource_matches(statement, resource))


def unused_grants(policies, observed) -> list[Grant]:
    """Each (action, resource) an Allow statement names that no observed call used."""
    unused = []
    for document in policies:
        for statement in iam.statements(iam.load(document)):
            if statement["Effect"] != "Allow" or "Action" not in statement:
                continue
            resources = iam.as_list(statement.get("Resource", "*")) if "Resource" in statement else ["*"]
            for action in iam.as_list(statement["Action"]):
                for resource in resources:
                    used = any(iam.matches(action, a, ignore_case=True) and iam.matches(resource, r)
                               for a, r in observed)
                    if not used:
                        unused.append(Grant(action, resource))
    return unused


def broad_statements(policies, observed, minimal) -> list[Broad]:
    """Allow statements with wildcards (or NotAction / NotResource) wider than the observed calls they served. A
    wildcard resource is fine when a resource of the minimal policy already covers it as written (``bucket/logs/*``
    within ``bucket/*``)."""
    narrow = {r for s in minimal["Statement"] for r in iam.as_list(s["Resource"])}
    found = []
    for document in policies:
        for statement in iam.statements(iam.load(document)):
            served = [(a, r) for a, r in observed if _allows(statement, a, r)]
            if not served:
                continue
            wide = []
            if "NotAction" in statement:
                wide.append("NotAction (allows every other action)")
            wide += [f"action {a}" for a in iam.as_list(statement.get("Action", [])) if "*" in a or "?" in a]
            if "NotResource" in statement:
                wide.append("NotResource (allows every other resource)")
            wide += [f"resource {r}" for r in iam.as_list(statement.get("Resource", []))
                     if ("*" in r or "?" in r) and not any(iam.matches(n, r) for n in narrow)]
            if wide:
                suggestion = tuple(s for s in minimal["Statement"]
                                   if any(a in iam.as_list(s["Action"]) and scope(r) in iam.as_list(s["Resource"])
                                          for a, r in served))
                found.append(Broad(statement, tuple(wide), tuple(sorted({f"{a} on {scope(r)}" for a, r in served})),
                                   suggestion))
    return found
