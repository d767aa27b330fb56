"""Transform a Kinesis clickstream and load it into a SQL database, exactly once (Kinesis Data Streams -> Lambda -> RDS).

Each record's data is a click as JSON, base64-encoded by Lambda:
``{"user": "u-42", "session": "s-7", "page": "/products/7", "ts": 1767225600.5}`` (``ts``: epoch seconds or ISO 8601;
other fields are ignored, so producers can add fields without breaking the function). The function decodes and
validates every record, then adds one click per record to ``page_clicks(page, minute, clicks)``, where ``minute`` is
the UTC minute of the click's own timestamp as text (``2026-01-01T00:00``).

**Exactly once.** Lambda delivers a batch at least once: again after a timeout that struck after the commit, again
after a reported failure, sometimes twice anyway. The function records every record it has applied,
``applied_records(stream, shard, sequence_number)``, in the same transaction as the counts, and skips records already
there. One row per record rather than a per-shard high-water mark, because with ParallelizationFactor > 1 the records
of one shard are processed out of order across partition keys. (On a busy stream, delete rows older than the stream's
retention now and then: no record older than that can come back.)

**Malformed records** (not base64, not JSON, no user/page/ts) will never succeed, so retrying them is useless:
- with ``MALFORMED_QUEUE_URL`` set (an SQS queue of the function's own), each is sent there with its reason and data,
  and every valid click of the batch is counted; the shard never blocks, whatever the mapping's settings;
- without it, they are reported in ``batchItemFailures`` (Lambda retries from the lowest one; the valid clicks after
  it are already applied, so the retry skips them). Map the function with ``MaximumRetryAttempts`` and an
  ``OnFailure`` destination, or one bad record blocks its shard until it expires.
Only what a retry can fix is reported as a failure: a record the queue would not take. A database error fails the
whole invocation (Lambda retries the batch; the applied records make that safe).

**Statelessness.** With ``OUTPUT_BUCKET``, each batch's transformed rows are also written to S3 as CSV, built in
memory (never a file in /tmp): ``<OUTPUT_PREFIX><shard>/<first>-<last>.csv``, only the rows newly applied.

**Tumbling window** (``TumblingWindowInSeconds`` on the mapping): counts build up in the ``state`` Lambda carries
between invocations; the window's final invocation loads them once (its marker: ``window <start>``).

Databases, chosen by ``DATABASE_URL``:
- ``sqlite:///<path>``: SQLite from the standard library (what the notebooks use; on Lambda a file in /tmp would
  belong to one execution environment only, so use it to learn, not to deploy).
- ``postgresql://host:port/dbname``: PostgreSQL, what Amazon RDS and Aurora run. Add ``?sslmode=require`` for RDS.
  The user name and password come from AWS Secrets Manager at runtime (``DATABASE_SECRET_ID``, the JSON RDS
  stores: ``{"username": ..., "password": ..., ...}``), cached for the life of the execution environment and fetched
  again when the password no longer works (rotation). Never put them in ``DATABASE_URL``.
  The driver is **pg8000**: pure Python, so it packages into a .zip or layer with ``pip install pg8000`` on any
  machine, with no compiler and no libpq matching Lambda's Amazon Linux (psycopg2 needs both, or a binary wheel built
  for the right platform).

Environment variables: ``DATABASE_URL`` (required), ``DATABASE_SECRET_ID`` (PostgreSQL), ``MALFORMED_QUEUE_URL``,
``OUTPUT_BUCKET`` and ``OUTPUT_PREFIX`` (default ``clickstream/``). Map the function with
``FunctionResponseTypes: ["ReportBatchItemFailures"]``. Deployable to AWS as it is: the standard library, boto3,
and pg8000 for PostgreSQL.
"""
import base64
import binascii
import contextlib
import csv
import io
import json
import logging
import math
import os
import sqlite3
import time
from collections import Counter
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import boto3

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

SECRET_MAX_AGE_S = 300  # fetch the secret again after this long (what the Lambda secrets extension does)
SQS_MESSAGE_LIMIT = 1024 * 1024  # a record's data goes with its reason only if the message fits
CSV_COLUMNS = ("sequence_number", "user", "session", "page", "ts", "minute")
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS page_clicks (page TEXT NOT NULL, minute TEXT NOT NULL, clicks INTEGER NOT NULL, "
    "PRIMARY KEY (page, minute))",
    "CREATE TABLE IF NOT EXISTS applied_records (stream TEXT NOT NULL, shard TEXT NOT NULL, "
    "sequence_number TEXT NOT NULL, PRIMARY KEY (stream, shard, sequence_number))",
)
ADD_CLICKS = ("INSERT INTO page_clicks (page, minute, clicks) VALUES (?, ?, ?) "
              "ON CONFLICT (page, minute) DO UPDATE SET clicks = page_clicks.clicks + excluded.clicks")

_clients = {}  # boto3 clients, made once per execution environment when first needed
_database = None  # the open connection, kept across warm invocations


class NotAKinesisEvent(ValueError):
    """The event is not a batch of Kinesis records."""


class ConfigurationError(Exception):
    """The function's environment variables are missing or wrong."""


class BadClick(Exception):
    """A record that is not a valid click; the message says why."""


def client(name):
    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]


def _init_clients() -> None:
    """Make the clients the configuration calls for during INIT, once per execution environment, so no invocation
    pays for them (a client takes tens of milliseconds to build)."""
    for variable, service in (("MALFORMED_QUEUE_URL", "sqs"), ("OUTPUT_BUCKET", "s3"),
                              ("DATABASE_SECRET_ID", "secretsmanager")):
        if os.environ.get(variable):
            with contextlib.suppress(Exception):  # no region yet, say: the first call makes it instead
                client(service)


_init_clients()


# --- the handler -------------------------------------------------------------------------------------------------

def handler(event, context):
    """Lambda entry point: validate and transform the batch, then load it (or carry it in a tumbling window)."""
    records = kinesis_records(event)
    settings = load_settings()
    clicks, malformed = [], []
    for record in records:
        try:
            clicks.append((record, parse_click(record)))
        except BadClick as why:
            logger.error("MALFORMED %s: %s", record["eventID"], why)
            malformed.append((record, str(why)))
    if "window" in event:
        return handle_window(event, clicks, malformed, settings)
    failures = database(settings).run(lambda db: load(db, clicks, malformed, settings))
    return {"batchItemFailures": [{"itemIdentifier": r["kinesis"]["sequenceNumber"]} for r in failures]}


def kinesis_records(event) -> list:
    """The event's records, or a clear error when this is not an event from a Kinesis event source mapping."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or any(not isinstance(r, dict) or "kinesis" not in r for r in records):
        sources = sorted({str(r.get("eventSource") or r.get("EventSource")) for r in records or []
                          if isinstance(r, dict)})
        got = f"records from {', '.join(sources)}" if sources else f"an event with keys {sorted(event or {})[:8]}"
        raise NotAKinesisEvent(
            f"This function reads Amazon Kinesis records (event['Records'][i]['kinesis']), but it got {got}. Connect "
            "it to a Kinesis stream with an event source mapping, or test it with a Kinesis test event.")
    return records


def load_settings() -> dict:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ConfigurationError(
            "Set DATABASE_URL to say where the clicks go: sqlite:///<path> (a local file) or "
            f"postgresql://host:5432/dbname (Amazon RDS), not {url!r}.")
    return {"url": url, "secret_id": os.environ.get("DATABASE_SECRET_ID"),
            "queue": os.environ.get("MALFORMED_QUEUE_URL"), "bucket": os.environ.get("OUTPUT_BUCKET"),
            "prefix": os.environ.get("OUTPUT_PREFIX", "clickstream/")}


# --- transform -----------------------------------------------------------------------------------------------------

def parse_click(record: dict) -> dict:
    """One Kinesis record -> ``{"user", "session", "page", "ts", "minute"}``; raises BadClick if it is malformed."""
    try:
        click = json.loads(base64.b64decode(record["kinesis"]["data"], validate=True))
    except (binascii.Error, ValueError) as exc:
        raise BadClick(f"data is not base64-encoded JSON ({exc})") from None
    if not isinstance(click, dict):
        raise BadClick(f"a click is a JSON object, not {type(click).__name__}")
    user, page = click.get("user"), click.get("page")
    if not isinstance(user, str) or not user.strip():
        raise BadClick("no user")
    if not isinstance(page, str) or not page.startswith("/"):
        raise BadClick(f"page must be a path like '/home', not {page!r}")
    moment = click_time(click.get("ts"))
    session = click.get("session")
    return {"user": user, "session": session if isinstance(session, str) else "", "page": page,
            "ts": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "minute": moment.strftime("%Y-%m-%dT%H:%M")}


def click_time(ts) -> datetime:
    """A click's ``ts`` (epoch seconds, or ISO 8601 text; no zone means UTC) as a UTC datetime."""
    if isinstance(ts, (int, float)) and not isinstance(ts, bool):
        if not math.isfinite(ts) or not 0 <= ts < 32503680000:  # year 3000
            raise BadClick(f"ts {ts!r} is not a time in epoch seconds")
        return datetime.fromtimestamp(ts, tz=timezone.utc)
    if isinstance(ts, str):
        try:
            moment = datetime.fromisoformat(ts)
        except ValueError:
            raise BadClick(f"ts {ts!r} is not ISO 8601 (like 2026-01-01T12:30:00Z)") from None
        return (moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment).astimezone(timezone.utc)
    raise BadClick("no ts (the click's time: epoch seconds or ISO 8601)" if ts is None else
                   f"ts must be epoch seconds or ISO 8601 text, not {type(ts).__name__}")


def _where(record) -> tuple:
    """(stream, shard, sequence number): a record's identity in applied_records."""
    stream = record.get("eventSourceARN", "").rpartition("/")[2]
    return stream, record["eventID"].rpartition(":")[0], record["kinesis"]["sequenceNumber"]


# --- load ----------------------------------------------------------------------------------------------------------

def load(db, clicks: list, malformed: list, settings: dict) -> list:
    """One transaction: skip what was applied before, set malformed records aside, add the counts, write the CSV,
    mark every record handled. Returns the records to report as failures."""
    done = db.applied([_where(r) for r, _ in clicks] + [_where(r) for r, _ in malformed])
    fresh = [(r, c) for r, c in clicks if _where(r) not in done]
    bad = [(r, why) for r, why in malformed if _where(r) not in done]
    failures = [r for r, _ in bad]
    if settings["queue"]:
        failures = set_aside(bad, settings["queue"])
    set_aside_ok = [r for r, _ in bad if r not in failures]
    if fresh and settings["bucket"]:
        write_csv(fresh, settings)
    counts = Counter((c["page"], c["minute"]) for _, c in fresh)
    db.add_clicks(counts)
    db.mark_applied([_where(r) for r, _ in fresh] + [_where(r) for r in set_aside_ok])
    already = len(clicks) + len(malformed) - len(fresh) - len(bad)  # so the three numbers add up to the batch
    logger.info("LOADED %d clicks (%d already applied, %d malformed) into %d page-minutes",
                len(fresh), already, len(bad), len(counts))
    return failures


def set_aside(bad: list, queue_url: str) -> list:
    """Send each malformed record, with its reason, to the function's own queue; returns those the queue refused."""
    refused = []
    for start in range(0, len(bad), 10):  # SendMessageBatch takes up to 10 messages
        chunk = bad[start:start + 10]
        entries = [{"Id": str(i), "MessageBody": malformed_message(r, why)} for i, (r, why) in enumerate(chunk)]
        try:
            answer = client("sqs").send_message_batch(QueueUrl=queue_url, Entries=entries)
        except Exception as exc:  # the queue is unreachable: a retry can fix that
            logger.error("could not set %d malformed records aside: %s", len(chunk), exc)
            refused += [r for r, _ in chunk]
            continue
        refused += [chunk[int(f["Id"])][0] for f in answer.get("Failed", [])]
    return refused


def malformed_message(record: dict, why: str) -> str:
    k = record["kinesis"]
    message = {"reason": why, "eventID": record["eventID"], "eventSourceARN": record.get("eventSourceARN"),
               "partitionKey": k["partitionKey"], "sequenceNumber": k["sequenceNumber"],
               "approximateArrivalTimestamp": k.get("approximateArrivalTimestamp"), "data": k["data"]}
    body = json.dumps(message)
    if len(body.encode()) > SQS_MESSAGE_LIMIT:  # read it from the stream by its sequence number while retained
        message.update(data=None, dataOmitted=f"{len(k['data'])} base64 characters: too big for an SQS message")
        body = json.dumps(message)
    return body


def write_csv(fresh: list, settings: dict) -> None:
    """The batch's transformed rows as CSV, built in memory and uploaded straight to S3 (no file in /tmp)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for record, click in fresh:
        writer.writerow([record["kinesis"]["sequenceNumber"]] + [click[c] for c in CSV_COLUMNS[1:]])
    _, shard, first = _where(fresh[0][0])
    last = fresh[-1][0]["kinesis"]["sequenceNumber"]
    key = f"{settings['prefix']}{shard}/{first}-{last}.csv"
    client("s3").put_object(Bucket=settings["bucket"], Key=key, Body=out.getvalue().encode(), ContentType="text/csv")


# --- tumbling window -----------------------------------------------------------------------------------------------

def handle_window(event: dict, clicks: list, malformed: list, settings: dict) -> dict:
    """Add the batch to the window's state; the final invocation loads the window's counts once."""
    counts = dict((event.get("state") or {}).get("clicks", {}))  # "minute page" -> clicks
    failures = [r for r, _ in malformed]
    if settings["queue"]:
        failures = set_aside(malformed, settings["queue"])
    if failures:  # Lambda retries from the lowest failure with this state: count only what comes before it
        lowest = min(int(r["kinesis"]["sequenceNumber"]) for r in failures)
        clicks = [(r, c) for r, c in clicks if int(r["kinesis"]["sequenceNumber"]) < lowest]
    for _, click in clicks:
        key = f"{click['minute']} {click['page']}"
        counts[key] = counts.get(key, 0) + 1
    if event.get("isFinalInvokeForWindow") and counts:
        marker = (event.get("eventSourceARN", "").rpartition("/")[2], event["shardId"],
                  f"window {event['window']['start']}")

        def load_window(db):
            if not db.applied([marker]):
                db.add_clicks(Counter({tuple(k.split(" ", 1)[::-1]): n for k, n in counts.items()}))
                db.mark_applied([marker])
        database(settings).run(load_window)
        logger.info("WINDOW %s..%s: %d clicks", event["window"]["start"], event["window"]["end"],
                    sum(counts.values()))
    return {"state": {"clicks": counts},
            "batchItemFailures": [{"itemIdentifier": r["kinesis"]["sequenceNumber"]} for r in failures]}


# --- the database --------------------------------------------------------------------------------------------------

def database(settings: dict) -> "Database":
    """The execution environment's database connection (opened on the first invocation, reused while warm)."""
    global _database
    if _database is None or _database.url != settings["url"] or _database.secret_id != settings["secret_id"]:
        if _database is not None:
            _database.close()
        _database = Database(settings["url"], settings["secret_id"])
    return _database


class Database:
    """SQLite or PostgreSQL behind the same few statements (written with ``?`` placeholders)."""

    def __init__(self, url: str, secret_id):
        self.url, self.secret_id = url, secret_id
        self.postgres = not url.startswith("sqlite:///")
        self.connection = None
        self._secret, self._secret_at = None, 0.0
        if self.postgres:
            parts = urlsplit(url)
            if parts.username or parts.password:
                raise ConfigurationError("Put no user name or password in DATABASE_URL: give "
                                         "postgresql://host:port/dbname and the secret in DATABASE_SECRET_ID.")
            if not secret_id:
                raise ConfigurationError("Set DATABASE_SECRET_ID to the Secrets Manager secret that holds the "
                                         "database's user name and password (the JSON RDS stores).")
            self.where = {"host": parts.hostname or "localhost", "port": parts.port or 5432,
                          "database": parts.path.lstrip("/") or None}
            self.sslmode = parse_qs(parts.query).get("sslmode", ["disable"])[0]
        else:
            self.path = url[len("sqlite:///"):]

    # connecting
    def credentials(self, fresh: bool = False) -> dict:
        """User name and password from Secrets Manager, cached for SECRET_MAX_AGE_S (or fetched now)."""
        if fresh or self._secret is None or time.monotonic() - self._secret_at > SECRET_MAX_AGE_S:
            value = client("secretsmanager").get_secret_value(SecretId=self.secret_id)["SecretString"]
            try:
                secret = json.loads(value)
                self._secret = {"user": secret["username"], "password": secret["password"]}
            except (ValueError, KeyError, TypeError):
                raise ConfigurationError(f"Secret {self.secret_id!r} must be JSON with username and password, as "
                                         "RDS stores it.") from None
            self._secret_at = time.monotonic()
        return self._secret

    def connect(self):
        if not self.postgres:
            connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")  # readers (a notebook's query) never wait on a writer
            connection.execute("PRAGMA synchronous=NORMAL")  # with WAL: safe, and no disk flush on every commit
        else:
            import pg8000.dbapi  # only PostgreSQL needs it

            ssl_context = None
            if self.sslmode in ("require", "verify-ca", "verify-full"):
                import ssl

                ssl_context = ssl.create_default_context()
                if self.sslmode == "require":
                    ssl_context.check_hostname, ssl_context.verify_mode = False, ssl.CERT_NONE
            try:
                connection = pg8000.dbapi.connect(**self.where, **self.credentials(), ssl_context=ssl_context,
                                                  timeout=10)
            except pg8000.dbapi.DatabaseError as exc:
                if _code(exc) != "28P01":  # not "password authentication failed"
                    raise
                logger.info("the database refused the cached password: fetching the secret again (rotated?)")
                connection = pg8000.dbapi.connect(**self.where, **self.credentials(fresh=True),
                                                  ssl_context=ssl_context, timeout=10)
        self.connection = connection
        with self.transaction():
            for statement in SCHEMA:
                self.execute(statement)

    def close(self):
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.close()
        self.connection = None

    def run(self, work):
        """``work(self)`` in one transaction; once more on a new connection if the old one was lost."""
        for attempt in (1, 2):
            try:
                if self.connection is None:
                    self.connect()
                with self.transaction():
                    return work(self)
            except Exception as exc:
                if attempt == 2 or not self.connection_lost(exc):
                    raise
                logger.info("the database connection was lost (%s): reconnecting", exc)
                self.close()

    def connection_lost(self, exc) -> bool:
        if not self.postgres:
            return False
        import pg8000.exceptions

        return isinstance(exc, pg8000.exceptions.InterfaceError) or _code(exc)[:2] in ("08", "57")

    @contextlib.contextmanager
    def transaction(self):
        if not self.postgres:
            self.connection.execute("BEGIN IMMEDIATE")  # take the write lock now: no deadlock with another writer
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):
                self.connection.rollback() if self.postgres else self.connection.execute("ROLLBACK")
            raise
        self.connection.commit() if self.postgres else self.connection.execute("COMMIT")

    # the statements
    def execute(self, sql: str, params=()):
        cursor = self.connection.cursor()
        cursor.execute(sql.replace("?", "%s") if self.postgres else sql, params)
        return cursor

    def applied(self, keys: list) -> set:
        """Which of these (stream, shard, sequence number) records were applied before."""
        found = set()
        for stream, shard in {(s, h) for s, h, _ in keys}:
            numbers = [n for s, h, n in keys if (s, h) == (stream, shard)]
            for start in range(0, len(numbers), 500):
                chunk = numbers[start:start + 500]
                rows = self.execute("SELECT sequence_number FROM applied_records WHERE stream = ? AND shard = ? "
                                    f"AND sequence_number IN ({', '.join('?' * len(chunk))})",
                                    [stream, shard, *chunk]).fetchall()
                found |= {(stream, shard, row[0]) for row in rows}
        return found

    def executemany(self, sql: str, rows: list) -> None:
        if rows:
            self.connection.cursor().executemany(sql.replace("?", "%s") if self.postgres else sql, rows)

    def add_clicks(self, counts: Counter) -> None:
        # one order for every writer: no deadlock between two PostgreSQL transactions updating the same rows
        self.executemany(ADD_CLICKS, [(page, minute, n) for (page, minute), n in sorted(counts.items())])

    def mark_applied(self, keys: list) -> None:
        # a duplicate here (a concurrent delivery of the same record) fails the transaction: nothing counts twice
        self.executemany("INSERT INTO applied_records (stream, shard, sequence_number) VALUES (?, ?, ?)", keys)


def _code(exc) -> str:
    """PostgreSQL's SQLSTATE from a pg8000 error ('' when there is none)."""
    detail = exc.args[0] if getattr(exc, "args", None) else None
    return detail.get("C", "") if isinstance(detail, dict) else ""
