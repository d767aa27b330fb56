"""Log in to a database with credentials kept in AWS Secrets Manager, read once per execution environment and cached.

The secret is a JSON document ``{"username": ..., "password": ...}`` (the shape Secrets Manager uses for database
credentials). Fetching it on every invocation would add a network call (and its cost) to each one, so the value is
cached in the environment for ``SECRET_TTL_SECONDS``, as the AWS Parameters and Secrets Lambda Extension (300 s by
default) and Powertools' ``parameters.get_secret`` (``max_age``) do. When the database refuses a cached password
(the secret was rotated meanwhile), the function fetches the secret again once and retries: the usual way to live
with caching and rotation together.

The database here is a SQLite file (``DATABASE_PATH``) holding each user's password as a SHA-256 digest; on AWS it
would be Amazon RDS, reached with a database driver. The function never logs or returns the password: it reports the
secret's version ID instead.

Environment variables
    DB_SECRET_ID          required: the secret's name or ARN.
    DATABASE_PATH         required: the SQLite file standing for the database.
    SECRET_TTL_SECONDS    how long a fetched secret is reused; default 300.
"""
import hashlib
import json
import logging
import os
import sqlite3
import time

import boto3

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

secrets = boto3.client("secretsmanager")  # created once per execution environment
_cache = {}  # secret id -> (fetched at, version id, credentials): lives as long as the execution environment


class LoginFailed(Exception):
    """The database refused the credentials, even freshly read from Secrets Manager."""


def get_credentials(secret_id, ttl_s, refresh=False):
    """(credentials, version id, whether it came from the cache); reads Secrets Manager only when the cached value
    is missing, older than ``ttl_s`` or ``refresh`` is asked for."""
    cached = _cache.get(secret_id)
    if cached and not refresh and time.monotonic() - cached[0] < ttl_s:
        return cached[2], cached[1], True
    response = secrets.get_secret_value(SecretId=secret_id)
    credentials = json.loads(response["SecretString"])
    _cache[secret_id] = (time.monotonic(), response["VersionId"], credentials)
    return credentials, response["VersionId"], False


def log_in(database_path, credentials):
    """True when the database accepts this username and password."""
    digest = hashlib.sha256(credentials["password"].encode()).hexdigest()
    with sqlite3.connect(database_path) as db:
        row = db.execute("SELECT password_sha256 FROM users WHERE username = ?", (credentials["username"],)).fetchone()
    return row is not None and row[0] == digest


def handler(event, context):
    secret_id, database = os.environ["DB_SECRET_ID"], os.environ["DATABASE_PATH"]
    ttl_s = float(os.environ.get("SECRET_TTL_SECONDS", "300"))
    credentials, version, cached = get_credentials(secret_id, ttl_s)
    refreshed = False
    if not log_in(database, credentials):
        logger.info("The database refused secret version %s; reading the secret again", version)
        credentials, version, cached = get_credentials(secret_id, ttl_s, refresh=True)
        refreshed = True
        if not log_in(database, credentials):
            raise LoginFailed(f"The database refused the credentials of secret version {version} for user "
                              f"{credentials['username']!r}: is a rotation half done?")
    return {"user": credentials["username"], "secret_version": version, "from_cache": cached,
            "refreshed_after_refusal": refreshed}
