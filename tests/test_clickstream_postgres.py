"""The clickstream function loading into a real PostgreSQL (what Amazon RDS runs), credentials from Secrets Manager.

Runs when LAMBDALAB_TEST_POSTGRES_URL names a database (postgresql://user:password@host:port/db; .ci/postgres starts
one and prints it). Skipped otherwise, except under LAMBDALAB_REQUIRE_POSTGRES=1 (set by CI), where it fails.
"""
import json
import os
from urllib.parse import urlsplit

import pytest

from lambdalab import aws, database, producer
from lambdalab.runtime import LambdaFunction
from lambdalab.triggers import connect_kinesis

RBIF = ["ReportBatchItemFailures"]


def _server():
    url = os.environ.get("LAMBDALAB_TEST_POSTGRES_URL", "")
    reason = None
    if not url:
        reason = "LAMBDALAB_TEST_POSTGRES_URL is not set (run `bash .ci/postgres` as root to start PostgreSQL)"
    else:
        try:
            _connect(urlsplit(url), urlsplit(url).password).close()
        except Exception as exc:
            reason = f"PostgreSQL at {url} does not answer ({exc})"
    if reason and os.environ.get("LAMBDALAB_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"LAMBDALAB_REQUIRE_POSTGRES=1 but {reason}")
    if reason:
        pytest.skip(reason)
    return urlsplit(url)


def _connect(parts, password):
    import pg8000.dbapi

    return pg8000.dbapi.connect(user=parts.username, password=password, host=parts.hostname,
                                port=parts.port or 5432, database=parts.path.lstrip("/"), timeout=10)


def _sql(parts, password, *statements):
    connection = _connect(parts, password)
    try:
        cursor = connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        connection.commit()
    finally:
        connection.close()


@pytest.fixture
def pg(backend):
    """Empty tables, the RDS-shaped secret in Secrets Manager, a 2-shard stream, and a function factory."""
    parts = _server()
    _sql(parts, parts.password, "DROP TABLE IF EXISTS page_clicks", "DROP TABLE IF EXISTS applied_records")
    secrets = aws.client("secretsmanager")
    secret = {"engine": "postgres", "host": parts.hostname, "port": parts.port or 5432,
              "dbname": parts.path.lstrip("/"), "username": parts.username, "password": parts.password}
    arn = secrets.create_secret(Name="rds/clicks", SecretString=json.dumps(secret))["ARN"]
    aws.client("kinesis").create_stream(StreamName="clicks", ShardCount=2)
    queue = aws.client("sqs").create_queue(QueueName="malformed")["QueueUrl"]
    url = f"postgresql://{parts.hostname}:{parts.port or 5432}{parts.path}"  # no credentials in the URL
    functions = []

    def function():
        f = LambdaFunction(f"clicks-pg-{len(functions)}", "lambdalab.handlers.clickstream.handler", timeout_s=20,
                           environment={"DATABASE_URL": url, "DATABASE_SECRET_ID": arn, "MALFORMED_QUEUE_URL": queue})
        functions.append(f)
        return f

    yield {"parts": parts, "secret": secret, "arn": arn, "url": url, "function": function}
    for f in functions:
        f.shutdown()


def test_the_stream_loads_into_postgresql_exactly_once(pg):
    truth = producer.send_clicks("clicks", 500, rate_per_s=50, malformed=0.05, hot_key=0.3, seed=11)
    f = pg["function"]()
    result = connect_kinesis("clicks", f, batch_size=40, parallelization_factor=3,
                             function_response_types=RBIF).drain()
    assert result.ok and result.peak_concurrency > 2
    assert database.page_clicks(pg["url"], secret_id=pg["arn"]) == truth.page_minutes
    for batch in result.batches[:4]:  # delivered again: nothing changes
        assert f.invoke({"Records": [r.event for r in batch.records]}).ok
    assert database.page_clicks(pg["url"], secret_id=pg["arn"]) == truth.page_minutes
    rows = database.query(pg["url"], "SELECT COUNT(*) FROM applied_records", secret_id=pg["arn"])
    assert rows[0][0] == truth.records  # every record handled once: counted, or set aside


def test_a_password_rotated_between_two_batches_is_fetched_again(pg):
    parts, old = pg["parts"], pg["parts"].password
    f = pg["function"]()
    mapping = connect_kinesis("clicks", f, batch_size=50, function_response_types=RBIF)
    first = producer.send_clicks("clicks", 120, seed=1)
    assert mapping.drain().ok
    new = old + "-rotated"
    try:
        # rotation: the database gets the new password, the secret's AWSCURRENT version says so, and the function's
        # open connections end (as when RDS restarts or the connection idles out)
        _sql(parts, old, f"ALTER ROLE {parts.username} PASSWORD '{new}'")
        aws.client("secretsmanager").put_secret_value(SecretId=pg["arn"],
                                                      SecretString=json.dumps({**pg["secret"], "password": new}))
        _sql(parts, new, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         f"WHERE usename = '{parts.username}' AND pid <> pg_backend_pid()")
        second = producer.send_clicks("clicks", 120, seed=2)
        result = mapping.drain()
        assert result.ok and not result.retries  # the same warm environment reconnected within the invocation
        assert all(not b.invocation.cold_start for b in result.batches)
        logs = "".join(b.invocation.logs for b in result.batches)
        assert "connection was lost" in logs and "fetching the secret again" in logs
        assert database.page_clicks(pg["url"], secret_id=pg["arn"]) == first.page_minutes + second.page_minutes
    finally:
        _sql(parts, new if _password_works(parts, new) else old, f"ALTER ROLE {parts.username} PASSWORD '{old}'")


def _password_works(parts, password) -> bool:
    try:
        _connect(parts, password).close()
        return True
    except Exception:
        return False
