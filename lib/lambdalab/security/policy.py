"""IAM policy evaluation, following IAM's rules: an explicit Deny wins, then an Allow, otherwise denied by default.

Why the course has its own evaluator (standard library only, so Lambda workers can load it cheaply):

- moto's ``moto.iam.access_control.IAMPolicy`` takes JSON text only, ignores ``Condition`` in identity policies and
  treats every statement with ``NotResource`` (Allow *or* Deny) as permitting: wrong answers a learner would see.
- policy_sentry 0.15 (action -> resource-type catalogue, policies written from access-level templates) and
  parliament 1.6 (linting) answer other questions: neither evaluates a request against a policy. They would bring a
  catalogue of every AWS action (policy_sentry's wheel alone is 1.1 MB compressed) plus orjson, schema, json-cfg and
  requests, for the dozen actions the course's functions use; the minimal policy here comes from observed calls
  (``reporting``), as IAM Access Analyzer's does, not from templates.

What is covered: ``Action``/``NotAction`` (case-insensitive, ``*`` and ``?``), ``Resource``/``NotResource``
(case-sensitive wildcards), ``Principal``/``NotPrincipal`` for resource-based and trust policies, and ``Condition``
with the String*, Arn*, Bool, Null and Numeric operators (``...IfExists`` too). A negated operator is true when the
key is missing from the request, as on AWS. Policy variables (``${aws:username}``) are not expanded.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

VERSION = "2012-10-17"
STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal",
                  "Condition"}


class PolicyError(ValueError):
    """A policy document IAM would refuse; the message says what to change."""


@dataclass(frozen=True)
class Decision:
    """The verdict for one request: allowed or not, and which statement decided it (None: denied by default)."""

    allowed: bool
    explicit_deny: bool = False
    statement: dict | None = None

    @property
    def reason(self) -> str:
        if self.allowed:
            return f"allowed by statement {_label(self.statement)}"
        if self.explicit_deny:
            return f"explicitly denied by statement {_label(self.statement)}"
        return "no statement allows it (implicit deny)"


def _label(statement) -> str:
    return repr(statement.get("Sid")) if statement and statement.get("Sid") else json.dumps(statement)


def load(policy) -> dict:
    """A policy document as a dict, from a dict or JSON text; checked for the shape IAM requires."""
    if isinstance(policy, (str, bytes)):
        try:
            policy = json.loads(policy)
        except ValueError as exc:
            raise PolicyError(f"The policy is not valid JSON ({exc}). Write it as a Python dict instead.") from None
    if not isinstance(policy, dict) or "Statement" not in policy:
        raise PolicyError('A policy is a dict like {"Version": "2012-10-17", "Statement": [...]}; this one has no '
                          "Statement.")
    try:
        json.dumps(policy)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"A policy is JSON, and this one cannot be written as JSON ({exc}): use lists, not sets "
                          "or tuples of other objects, and strings for actions and ARNs.") from None
    for statement in statements(policy):
        check_statement(statement)
    return policy


def check_identity_policy(policy) -> dict:
    """``load``, plus what IAM requires of an identity-based policy (a role's permissions): every statement names
    its resources (``Resource`` or ``NotResource``) and no ``Principal`` (the role itself is the principal)."""
    policy = load(policy)
    for statement in statements(policy):
        if "Resource" not in statement and "NotResource" not in statement:
            raise PolicyError(f"Statement {_label(statement)} names no Resource; IAM refuses a role's permissions "
                              "policy without one (MalformedPolicyDocument: Policy statement must contain "
                              "resources). Add \"Resource\": the ARNs the actions apply to.")
        if "Principal" in statement or "NotPrincipal" in statement:
            raise PolicyError(f"Statement {_label(statement)} names a Principal; a role's permissions policy has "
                              "none (the role is the principal). Principal belongs in trust and resource-based "
                              "policies.")
    return policy


def statements(policy: dict) -> list[dict]:
    found = policy.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def check_statement(statement) -> None:
    if not isinstance(statement, dict):
        raise PolicyError(f"Each statement must be a dict, not {statement!r}.")
    unknown = set(statement) - STATEMENT_KEYS
    if unknown:
        raise PolicyError(f"Statement {_label(statement)} has unknown keys {sorted(unknown)}; IAM knows "
                          f"{sorted(STATEMENT_KEYS)} (the names are case-sensitive).")
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise PolicyError(f"Statement {_label(statement)}: Effect must be \"Allow\" or \"Deny\", not "
                          f"{statement.get('Effect')!r}.")
    if ("Action" in statement) == ("NotAction" in statement):
        raise PolicyError(f"Statement {_label(statement)} needs exactly one of Action or NotAction.")
    for key in ("Action", "NotAction"):
        for action in as_list(statement.get(key, [])):
            if not isinstance(action, str) or (action != "*" and ":" not in action):
                raise PolicyError(f"Statement {_label(statement)}: {action!r} is not an action; write "
                                  "'service:Operation', e.g. 's3:GetObject'.")


    for operator in statement.get("Condition") or {}:
        op = operator[: -len("IfExists")] if operator.endswith("IfExists") else operator
        if op != "Null" and _string(_NEGATED.get(op, op)) is None:
            raise PolicyError(f"Condition operator {operator!r} is not one the course evaluates; use a String, "
                              "Arn, Bool, Null or Numeric operator.")


def as_list(value) -> list:
    return [value] if isinstance(value, str) else list(value or [])


@lru_cache(maxsize=4096)
def _pattern(glob: str, ignore_case: bool) -> re.Pattern:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)  # only * and ?
    return re.compile(regex + r"\Z", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def matches(glob: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcard match: ``*`` any run of characters (``/`` and ``:`` included), ``?`` one character."""
    if "*" not in glob and "?" not in glob:
        return glob.lower() == value.lower() if ignore_case else glob == value
    return bool(_pattern(glob, ignore_case).match(value))


def action_matches(statement: dict, action: str) -> bool:
    if "Action" in statement:
        return any(matches(p, action, ignore_case=True) for p in as_list(statement["Action"]))
    return not any(matches(p, action, ignore_case=True) for p in as_list(statement["NotAction"]))


def resource_matches(statement: dict, resource: str) -> bool:
    if "Resource" in statement:
        return any(matches(p, resource) for p in as_list(statement["Resource"]))
    if "NotResource" in statement:
        return not any(matches(p, resource) for p in as_list(statement["NotResource"]))
    return True  # resource-based and trust policies may leave Resource out: the resource is the policy's owner


def principal_matches(statement: dict, principal: str | None) -> bool:
    if principal is None or ("Principal" not in statement and "NotPrincipal" not in statement):
        return True
    key = "Principal" if "Principal" in statement else "NotPrincipal"
    value = statement[key]
    names = ["*"] if value == "*" else [n for v in value.values() for n in as_list(v)]
    found = any(n == "*" or matches(n, principal) or _account_root(n, principal) for n in names)
    return found if key == "Principal" else not found


def _account_root(name: str, principal: str) -> bool:
    """"123456789012" or arn:aws:iam::123456789012:root stands for every principal of that account."""
    account = name if name.isdigit() else (name.split(":")[4] if name.endswith(":root") else None)
    return account is not None and f":{account}:" in principal


# --- conditions ----------------------------------------------------------------------------------------------------

def _string(op):
    return {
        "StringEquals": lambda want, got: got == want,
        "StringEqualsIgnoreCase": lambda want, got: got.lower() == want.lower(),
        "StringLike": lambda want, got: matches(want, got),
        "ArnEquals": lambda want, got: got == want,
        "ArnLike": lambda want, got: matches(want, got),
        "Bool": lambda want, got: str(got).lower() == str(want).lower(),
        "NumericEquals": lambda want, got: float(got) == float(want),
        "NumericLessThan": lambda want, got: float(got) < float(want),
        "NumericLessThanEquals": lambda want, got: float(got) <= float(want),
        "NumericGreaterThan": lambda want, got: float(got) > float(want),
        "NumericGreaterThanEquals": lambda want, got: float(got) >= float(want),
    }.get(op)


_NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
            "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
            "NumericNotEquals": "NumericEquals"}


def conditions_hold(statement: dict, context: dict) -> bool:
    """Every operator, every key within it, and any one value per key (AND, AND, OR), as IAM evaluates them."""
    lowered = {k.lower(): v for k, v in (context or {}).items()}
    for operator, block in (statement.get("Condition") or {}).items():
        if_exists = operator.endswith("IfExists")
        op = operator[: -len("IfExists")] if if_exists else operator
        for key, wanted in block.items():
            present = key.lower() in lowered
            got = lowered.get(key.lower())
            wanted = [wanted] if not isinstance(wanted, list) else wanted
            if op == "Null":
                if not any((str(w).lower() == "true") != present for w in wanted):
                    return False
                continue
            if not present:
                if if_exists or op in _NEGATED:
                    continue
                return False
            base = _string(_NEGATED.get(op, op))  # known: load() checked every operator
            values = got if isinstance(got, list) else [got]
            hit = any(base(str(w), str(v)) for w in wanted for v in values)
            if hit == (op in _NEGATED):
                return False
    return True


# --- evaluation ----------------------------------------------------------------------------------------------------

def evaluate(policies, action: str, resource: str = "*", context: dict | None = None,
             principal: str | None = None) -> Decision:
    """Decide whether ``policies`` (one document or a list) allow ``action`` on ``resource``.

    ``context`` holds the request's condition keys (``{"aws:SourceArn": ...}``); ``principal`` is who asks, for
    resource-based and trust policies (``"s3.amazonaws.com"`` or an ARN).
    """
    documents = [policies] if isinstance(policies, (dict, str, bytes)) else list(policies)
    allow = None
    for document in documents:
        for statement in statements(load(document)):
            if not (action_matches(statement, action) and resource_matches(statement, resource)
                    and principal_matches(statement, principal) and conditions_hold(statement, context or {})):
                continue
            if statement["Effect"] == "Deny":
                return Decision(False, True, statement)
            allow = allow or statement
    return Decision(True, False, allow) if allow else Decision(False)


def allows(policies, action: str, resource: str = "*", context: dict | None = None) -> bool:
    return evaluate(policies, action, resource, context).allowed
