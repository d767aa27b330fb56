"""Moving a secret's AWSCURRENT label (the last step of a rotation) must change what GetSecretValue returns.

moto moves the labels but keeps answering GetSecretValue (no VersionStage) with the version it called current
before, so after a rotation a function would go on reading the old password. Secrets Manager returns the version
that carries AWSCURRENT.
"""
from __future__ import annotations

from . import require

_MARK = "_lambdalab_follows_awscurrent"


def apply(server=None) -> None:
    from moto.secretsmanager.models import SecretsManagerBackend

    original = SecretsManagerBackend.update_secret_version_stage
    if getattr(original, _MARK, False):
        return

    def update_secret_version_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
        result = original(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].default_version_id = move_to_version_id
        return result

    setattr(update_secret_version_stage, _MARK, True)
    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage


def verify() -> None:
    from moto.secretsmanager.models import SecretsManagerBackend

    require(getattr(SecretsManagerBackend.update_secret_version_stage, _MARK, False), __name__,
            "SecretsManagerBackend.update_secret_version_stage is not wrapped")
