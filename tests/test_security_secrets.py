"""A database password from Secrets Manager: one GetSecretValue per execution environment (measured by the call
recorder), the cache's TTL, rotation step by step with what a cached value does, and no secret value in any output
the course's own code produces."""
import json
import os
import time

import pytest

from lambdalab import aws, security
from lambdalab.moto_patches import MotoPatchError, secrets_current
from lambdalab.runtime import LambdaFunction
from lambdalab.security import enforcement, secrets

GET = "secretsmanager:GetSecretValue"


@pytest.fixture
def db_function(backend):
    database = secrets.Database()
    arn = secrets.create_secret("prod/db", database)
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": GET, "Resource": arn}, security.logs_statement("db-login")]}
    made = []

    def make(ttl="300"):
        function = LambdaFunction("db-login", "lambdalab.handlers.db_login.handler",
                                  role=security.create_role("db-login-role", policy),
                                  environment={"DB_SECRET_ID": "prod/db", "DATABASE_PATH": database.path,
                                               "SECRET_TTL_SECONDS": ttl})
        made.append(function)
        return function

    yield {"make": make, "database": database, "arn": arn}
    for function in made:
        function.shutdown()


def all_passwords(secret_id):
    client = aws.client("secretsmanager")
    found = []
    for version in client.list_secret_version_ids(SecretId=secret_id, IncludeDeprecated=True)["Versions"]:
        value = client.get_secret_value(SecretId=secret_id, VersionId=version["VersionId"])["SecretString"]
        found.append(json.loads(value)["password"])
    return found


def test_one_get_secret_value_per_execution_environment(db_function):
    function = db_function["make"]()
    answers = [function.invoke({}).response for _ in range(4)]
    assert [a["from_cache"] for a in answers] == [False, True, True, True]
    answers += [i.response for i in function.invoke_concurrently([{}, {}, {}])]
    assert all(a["user"] == "app" for a in answers)
    report = security.report(function)
    per_environment = report.count(GET, per_environment=True)
    assert len(per_environment) == function.environments == 3
    assert list(per_environment.values()) == [1, 1, 1]
    assert report.least_privilege, report.text()


def test_the_cache_expires_after_its_ttl(db_function):
    function = db_function["make"](ttl="0.3")
    assert not function.invoke({}).response["from_cache"]
    assert function.invoke({}).response["from_cache"]
    time.sleep(0.4)
    assert not function.invoke({}).response["from_cache"]
    assert security.report(function).count(GET) == 2 and function.environments == 1


def test_rotation_step_by_step_and_what_a_cached_value_does(db_function):
    function = db_function["make"]()
    first = function.invoke({}).response["secret_version"]
    rotation = secrets.Rotation("prod/db", db_function["database"])

    labels = rotation.create_secret()
    assert labels.holding("AWSCURRENT") == first and labels.holding("AWSPENDING") == rotation.token
    assert function.invoke({}).response == {"user": "app", "secret_version": first, "from_cache": True,
                                            "refreshed_after_refusal": False}  # the old password still works

    rotation.set_secret()  # the database now has the pending password: AWSCURRENT's no longer works
    broken = function.invoke({})
    assert broken.error["errorType"] == "LoginFailed" and "is a rotation half done?" in broken.error["errorMessage"]

    rotation.test_secret()
    labels = rotation.finish_secret()
    assert labels.holding("AWSCURRENT") == rotation.token and labels.holding("AWSPREVIOUS") == first
    assert labels.labels(rotation.token) == ["AWSCURRENT", "AWSPENDING"]  # as AWS leaves it after a rotation
    healed = function.invoke({}).response
    assert healed == {"user": "app", "secret_version": rotation.token, "from_cache": False,
                      "refreshed_after_refusal": True}
    assert function.invoke({}).response["from_cache"]
    counts = security.report(function).count(GET, per_environment=True)
    assert list(counts.values()) == [3]  # cold start, the refused refresh mid-rotation, the refresh after it


def test_test_secret_refuses_credentials_the_database_does_not_have(db_function):
    rotation = secrets.Rotation("prod/db", db_function["database"])
    rotation.create_secret()
    with pytest.raises(RuntimeError, match="Run set_secret"):
        rotation.test_secret()


def test_moto_patch_makes_get_secret_value_follow_awscurrent(backend, monkeypatch):
    client = aws.client("secretsmanager")
    client.create_secret(Name="s", SecretString="one")
    old = client.get_secret_value(SecretId="s")["VersionId"]
    client.put_secret_value(SecretId="s", SecretString="two", VersionStages=["AWSPENDING"], ClientRequestToken="t" * 32)
    client.update_secret_version_stage(SecretId="s", VersionStage="AWSCURRENT", MoveToVersionId="t" * 32,
                                       RemoveFromVersionId=old)
    assert client.get_secret_value(SecretId="s")["SecretString"] == "two"
    assert client.get_secret_value(SecretId="s", VersionStage="AWSPREVIOUS")["SecretString"] == "one"
    from moto.secretsmanager.models import SecretsManagerBackend

    monkeypatch.setattr(SecretsManagerBackend, "update_secret_version_stage", lambda *a: None)
    with pytest.raises(MotoPatchError, match="secrets_current"):
        secrets_current.verify()


def test_reading_the_secret_needs_the_permission(db_function):
    function = db_function["make"]()
    security.create_role("db-login-role", {"Version": "2012-10-17", "Statement": [
        security.logs_statement("db-login")]})
    function.update(role="db-login-role")
    failed = function.invoke({})
    assert failed.error["errorType"] == "ClientError"  # botocore models no AccessDeniedException for this service
    assert failed.error["errorMessage"].startswith("An error occurred (AccessDeniedException) when calling the "
                                                   "GetSecretValue operation: User: arn:aws:sts::123456789012:"
                                                   "assumed-role/db-login-role/db-login ")
    assert (f"is not authorized to perform: {GET} on resource: {db_function['arn']} because no identity-based "
            f"policy allows the {GET} action") in failed.error["errorMessage"]


def test_no_secret_value_appears_in_anything_the_course_shows(db_function):
    function = db_function["make"]()
    invocations = [function.invoke({}) for _ in range(2)]
    rotation = secrets.Rotation("prod/db", db_function["database"])
    shown = [rotation.create_secret(), rotation.set_secret()]
    invocations.append(function.invoke({}))  # fails: its error message must not carry the password either
    shown += [rotation.test_secret(), rotation.finish_secret()]
    invocations.append(function.invoke({}))
    report = security.report(function)
    texts = [repr(function), repr(db_function["database"]), report.text(), report._repr_html_(), repr(report),
             function.logs(limit=1000)]
    texts += [str(v) + v._repr_html_() + repr(v) for v in shown]
    texts += [i.logs + i.report + json.dumps(i.response) + json.dumps(i.error) + repr(i) + i._repr_html_()
              for i in invocations]
    folder = enforcement._folders[function]
    texts += [open(os.path.join(folder, name)).read() for name in os.listdir(folder)]
    passwords = all_passwords("prod/db")
    assert len(passwords) == 2 and all(len(p) >= 24 for p in passwords)
    for password in passwords:
        assert not any(password in text for text in texts)
