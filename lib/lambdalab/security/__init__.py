"""Execution roles, least privilege enforced, and secrets: the course's ``lambdalab.security``.

- ``create_role(name, policy)`` makes an IAM role Lambda can assume and returns its ARN;
  ``LambdaFunction(..., role=arn)`` then runs the handler's AWS calls under that role (``roles``, ``enforcement``).
- ``report(function)`` holds every call the function made against its role's policies: ``calls``, ``denied``,
  ``unused``, ``broad`` and a ``minimal_policy`` (``reporting``).
- ``evaluate(policy, action, resource)`` is IAM's decision for one request (``policy``).
- ``secrets``: a database password in Secrets Manager and its rotation, step by step.

Submodules load on first use, so a Lambda worker that needs only the evaluator imports nothing else.
"""
import importlib

_NAMES = {
    "create_role": "roles", "delete_role": "roles", "role_policies": "roles", "trust_policy": "roles",
    "lambda_trust_policy": "roles", "logs_statement": "roles", "RoleNotFound": "roles",
    "report": "reporting", "Report": "reporting",
    "evaluate": "policy", "Decision": "policy", "PolicyError": "policy",
}
__all__ = sorted(_NAMES) + ["policy", "roles", "enforcement", "reporting", "secrets"]


def __getattr__(name):
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    if name in ("policy", "roles", "enforcement", "reporting", "secrets"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'lambdalab.security' has no attribute {name!r}")
