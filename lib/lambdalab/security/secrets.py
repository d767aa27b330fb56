"""A database password in AWS Secrets Manager, and its rotation, step by step (for ``lambdalab.handlers.db_login``).

``Database`` stands for the database (a SQLite file of users and password digests). ``create_secret`` makes a
password, gives it to the database and stores it in Secrets Manager. ``Rotation`` runs the four steps a rotation
function runs, one call each, so a notebook can stop between them:

1. ``create_secret``: a new version with a new password, labelled **AWSPENDING**;
2. ``set_secret``: the database's password is changed to the pending one;
3. ``test_secret``: a log-in with the pending credentials must succeed;
4. ``finish_secret``: **AWSCURRENT** moves to the new version; Secrets Manager labels the old one **AWSPREVIOUS**.

Nothing here prints, returns or logs a password: ``versions`` shows version IDs and staging labels only.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets as random_source
import sqlite3
import tempfile
import uuid
from dataclasses import dataclass
from html import escape

from .. import aws

STAGES = ("AWSCURRENT", "AWSPREVIOUS", "AWSPENDING")


class Database:
    """A SQLite file standing for the database the function logs in to: one row per user, the password's SHA-256."""

    def __init__(self, path: str | None = None):
        self.path = path or os.path.join(tempfile.mkdtemp(prefix="lambdalab-db-"), "app.sqlite")
        with sqlite3.connect(self.path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS users (username TEXT PRIMARY KEY, password_sha256 TEXT)")

    def set_password(self, username: str, password: str) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute("INSERT OR REPLACE INTO users VALUES (?, ?)", (username, _digest(password)))

    def accepts(self, username: str, password: str) -> bool:
        with sqlite3.connect(self.path) as db:
            row = db.execute("SELECT password_sha256 FROM users WHERE username = ?", (username,)).fetchone()
        return row is not None and row[0] == _digest(password)

    def __repr__(self):
        return f"Database({os.path.basename(self.path)!r})"


def _digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def new_password() -> str:
    return random_source.token_urlsafe(24)


def create_secret(name: str, database: Database, username: str = "app") -> str:
    """Store new credentials for ``username`` in Secrets Manager as ``name`` and give the database the password;
    returns the secret's ARN. Run again, it starts over with a fresh password (the notebook can run twice)."""
    client = aws.client("secretsmanager")
    password = new_password()
    value = json.dumps({"username": username, "password": password})
    try:
        arn = client.create_secret(Name=name, SecretString=value,
                                   Description=f"database credentials of {username}")["ARN"]
    except client.exceptions.ResourceExistsException:
        client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        arn = client.create_secret(Name=name, SecretString=value,
                                   Description=f"database credentials of {username}")["ARN"]
    database.set_password(username, password)
    return arn


@dataclass
class Versions:
    """A secret's versions and their staging labels (never their values)."""

    secret: str
    rows: list  # (version id, labels)

    def labels(self, version_id: str) -> list:
        return next((labels for v, labels in self.rows if v == version_id), [])

    def holding(self, stage: str) -> str | None:
        """The version ID that carries ``stage`` (AWSCURRENT, AWSPREVIOUS, AWSPENDING), or None."""
        return next((v for v, labels in self.rows if stage in labels), None)

    def __str__(self):
        return "\n".join(f"{v[:8]}  {', '.join(labels) or '(no label)'}" for v, labels in self.rows)

    def _repr_html_(self):
        cells = "".join(f"<tr><td><code>{escape(v[:8])}</code></td>"
                        + "".join(f"<td>{'&#10003;' if s in labels else ''}</td>" for s in STAGES) + "</tr>"
                        for v, labels in self.rows)
        return (f"<table><caption>{escape(self.secret)}: versions and staging labels</caption><tr><th>version</th>"
                + "".join(f"<th>{s}</th>" for s in STAGES) + f"</tr>{cells}</table>")


def versions(secret_id: str) -> Versions:
    """The secret's versions, oldest first, with their staging labels."""
    client = aws.client("secretsmanager")
    found = client.list_secret_version_ids(SecretId=secret_id, IncludeDeprecated=True)["Versions"]
    found.sort(key=lambda v: v.get("CreatedDate") or 0)
    return Versions(secret_id, [(v["VersionId"], sorted(v.get("VersionStages", []))) for v in found])


class Rotation:
    """One rotation of a database secret, a step at a time (what a rotation Lambda function does when Secrets
    Manager calls it with Step = createSecret, setSecret, testSecret, finishSecret)."""

    def __init__(self, secret_id: str, database: Database):
        self.secret_id, self.database = secret_id, database
        self.client = aws.client("secretsmanager")
        self.token = None

    def _credentials(self, stage: str, version_id: str | None = None) -> dict:
        extra = {"VersionId": version_id} if version_id else {"VersionStage": stage}
        return json.loads(self.client.get_secret_value(SecretId=self.secret_id, **extra)["SecretString"])

    def create_secret(self) -> Versions:
        """Step 1: a new version with a new password, labelled AWSPENDING."""
        current = self._credentials("AWSCURRENT")
        self.token = str(uuid.uuid4())  # the ClientRequestToken Secrets Manager hands a rotation function
        self.client.put_secret_value(SecretId=self.secret_id, ClientRequestToken=self.token,
                                     SecretString=json.dumps({**current, "password": new_password()}),
                                     VersionStages=["AWSPENDING"])
        return versions(self.secret_id)

    def set_secret(self) -> Versions:
        """Step 2: change the password in the database to the pending one (single-user rotation: from now until
        finish_secret, the AWSCURRENT password no longer works)."""
        pending = self._credentials("AWSPENDING", self.token)
        self.database.set_password(pending["username"], pending["password"])
        return versions(self.secret_id)

    def test_secret(self) -> Versions:
        """Step 3: the pending credentials must log in."""
        pending = self._credentials("AWSPENDING", self.token)
        if not self.database.accepts(pending["username"], pending["password"]):
            raise RuntimeError("testSecret failed: the database refuses the pending credentials. Run set_secret() "
                               "first.")
        return versions(self.secret_id)

    def finish_secret(self) -> Versions:
        """Step 4: move AWSCURRENT to the new version (the old one becomes AWSPREVIOUS)."""
        current = versions(self.secret_id).holding("AWSCURRENT")
        self.client.update_secret_version_stage(SecretId=self.secret_id, VersionStage="AWSCURRENT",
                                                MoveToVersionId=self.token, RemoveFromVersionId=current)
        return versions(self.secret_id)

    def run(self) -> Versions:
        """All four steps."""
        self.create_secret()
        self.set_secret()
        self.test_secret()
        return self.finish_secret()
