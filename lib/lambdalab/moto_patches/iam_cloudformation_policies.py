"""An inline policy of a role created by CloudFormation must read back as JSON, as IAM returns it.

moto's CloudFormation hands the role's ``Policies[].PolicyDocument`` (a mapping) to the role as it is, so
GetRolePolicy answers with the mapping's Python repr (single quotes), which no JSON reader accepts: the course could
not read the policies of the roles deploy/template.yaml creates. IAM stores and returns the document as JSON.
"""
from __future__ import annotations

import json

from . import require

_MARK = "_lambdalab_policy_as_json"


def apply(server=None) -> None:
    from moto.iam.models import Role

    original = Role.put_policy
    if getattr(original, _MARK, False):
        return

    def put_policy(self, policy_name, policy_json):
        original(self, policy_name, policy_json if isinstance(policy_json, str) else json.dumps(policy_json))

    setattr(put_policy, _MARK, True)
    Role.put_policy = put_policy


def verify() -> None:
    from moto.iam.models import Role

    require(getattr(Role.put_policy, _MARK, False), __name__, "moto.iam.models.Role.put_policy is not wrapped")
