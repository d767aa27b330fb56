"""Lab 3 checks: the core of the Kinesis clickstream function (notebook: solutions/lab03_clickstream.ipynb).

Task 1 ``decode_click(record)``, task 2 ``transform(click)``, task 3 ``handler(event, context)`` (which calls the
notebook's given ``save_clicks(rows)``). Public checks use fixed records; hidden checks use clicks drawn from the
grading run's seed, a poison pill among good records, a batch delivered again, a record with an unexpected field, and
the handler running as a Lambda function behind a real Kinesis event source mapping, compared with the producer's
ground truth.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import tempfile
from collections import Counter
from datetime import datetime, timezone

from .core import Lab, Plain
from .helpers import call_handler, invoke_in_runtime

LAB = Lab("lab03", "Lab 3: the clickstream function", "lab03_clickstream",
          hidden_summary="clicks you have not seen (other pages, ISO 8601 times with offsets), a poison pill among "
                         "good records, a batch delivered twice, a record with an unexpected field, and your handler "
                         "running as a Lambda function behind a Kinesis stream.")
LAB.task("task1", "Task 1: decode the record", ["decode_click"])
LAB.task("task2", "Task 2: validate and transform", ["transform"])
LAB.task("task3", "Task 3: the handler and its partial batch response", ["handler"])

STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/lab03-clicks"
EXAMPLE = {"user": "user-042", "session": "user-042-s1", "page": "/products/7", "ts": 1767225645.5}
PAGES = ("/home", "/search", "/products/1", "/products/2", "/cart", "/checkout", "/café/menü")


# --- helpers -----------------------------------------------------------------------------------------------------

def record(data, seq: int, shard: str = "shardId-000000000000", key: str = "user-042") -> dict:
    """One Kinesis record as Lambda delivers it; ``data`` is a dict (JSON), bytes, or already-base64 text."""
    if isinstance(data, dict):
        data = json.dumps(data).encode()
    encoded = data if isinstance(data, str) else base64.b64encode(data).decode()
    number = sequence_number(seq)
    return {"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": key, "sequenceNumber": number,
                        "data": encoded, "approximateArrivalTimestamp": 1767225600.123},
            "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"{shard}:{number}",
            "eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::123456789012:role/lab03",
            "awsRegion": "us-east-1", "eventSourceARN": STREAM_ARN}


def minute(ts) -> str:
    """The expected answer: the UTC minute of an epoch or ISO 8601 time, as YYYY-MM-DDTHH:MM."""
    if isinstance(ts, str):
        moment = datetime.fromisoformat(ts)
        moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
    else:
        moment = datetime.fromtimestamp(ts, tz=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M")


def random_click(rng, **changes) -> dict:
    user = f"user-{rng.randint(0, 999):03d}"
    click = {"user": user, "session": f"{user}-s{rng.randint(1, 9)}", "page": rng.choice(PAGES),
             "ts": round(rng.uniform(1.7e9, 1.8e9), 3)}
    click.update(changes)
    return click


def scratch_database(ctx) -> str:
    """A fresh folder with a database path for the handler (DATABASE_PATH), deleted after the check."""
    folder = tempfile.mkdtemp(prefix="lab03-")
    ctx.on_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    return os.path.join(folder, "clicks.sqlite")


def counts_in(path: str) -> Counter:
    if not os.path.exists(path):
        return Counter()
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT page, minute, clicks FROM page_clicks").fetchall()
    except sqlite3.OperationalError:
        rows = []
    finally:
        connection.close()
    return Counter({(page, m): n for page, m, n in rows})


def table(counts: Counter) -> dict:
    """Counts as {"page @ minute": clicks}, sorted, the way a check shows them."""
    return {f"{page} @ {m}": n for (page, m), n in sorted(counts.items())}


def expected_counts(clicks) -> Counter:
    return Counter((c["page"], minute(c["ts"])) for c in clicks)


def raises_value_error(ctx, name: str, arg, shown: str, hint: str) -> None:
    """The student's function must raise ValueError (or a subclass, like json.JSONDecodeError) for ``arg``."""
    fn = ctx.get(name)
    try:
        result = fn(arg) if callable(fn) else None
    except ValueError:
        return
    except Exception:  # noqa: BLE001 - call again through the course's reporting (not written yet, other errors)
        result = ctx.call_as(shown, name, arg)
    ctx.fail("A malformed input should raise ValueError, so the handler can tell it from a good one.", call=shown,
             expected=Plain("ValueError raised"), actual=result, hint=hint)


def expect_row(ctx, got, want: tuple, call: str, hint: str) -> None:
    """transform's answer must equal the tuple ``(page, minute)``; a list of the right values is told so plainly
    (printed, a list and a tuple look almost alike)."""
    if isinstance(got, list) and tuple(got) == want:
        ctx.fail("The values are right but the type is not: return a tuple (page, minute), not a list.", call=call,
                 expected=want, actual=got, hint="`return page, minute` returns a tuple.")
    ctx.expect_equal(got, want, call=call, hint=hint)


def sequence_number(n: int) -> str:
    return f"4959{n:052d}"


def check_response(ctx, response, failed: list, call: str) -> None:
    want = {"batchItemFailures": [{"itemIdentifier": sequence_number(n)} for n in failed]}
    if not isinstance(response, dict):
        ctx.fail("The handler must return the partial batch response, a dict.", call=call, expected=want,
                 actual=response, hint='End with `return {"batchItemFailures": failures}` (an empty list when '
                                       "every record was good).")
    ctx.expect_equal(response, want, call=call, message="The partial batch response does not name the right records.",
                     hint="Report each malformed record once, as {\"itemIdentifier\": record[\"kinesis\"]"
                          "[\"sequenceNumber\"]}: the sequence number, not the eventID or an index.")


def run_handler(ctx, records: list, path: str):
    return call_handler(ctx, "handler", {"Records": records}, {"DATABASE_PATH": path})


# --- task 1: decode_click ------------------------------------------------------------------------------------------

@LAB.check("task1")
def decodes_the_example(ctx):
    """decode_click returns the click of a record as a dict"""
    got = ctx.call_as("decode_click(<record of the example click>)", "decode_click", record(EXAMPLE, 1))
    ctx.expect_equal(got, EXAMPLE, call="decode_click(<record of the example click>)",
                     hint="record['kinesis']['data'] is base64 text: base64.b64decode it, then json.loads.")


@LAB.check("task1")
def refuses_a_record_that_is_not_json(ctx):
    """a record whose data is not JSON raises ValueError"""
    raises_value_error(ctx, "decode_click", record(b"{\"user\": \"u1\", \"page\": \"/ho", 2),
                       "decode_click(<record with a cut-off JSON text>)",
                       "json.loads raises json.JSONDecodeError (a ValueError) on its own: let it propagate.")


@LAB.check("task1", hidden=True)
def decodes_clicks_it_has_never_seen(ctx):
    """random clicks, pages with accents, extra fields"""
    for n in range(10):
        click = random_click(ctx.rng, referrer=ctx.rng.choice([None, "/home"]))
        ctx.expect_equal(ctx.call_as("decode_click(<record>)", "decode_click", record(click, n)), click,
                         call=f"decode_click(<record of {click}>)",
                         hint="Return the whole decoded object: validating is task 2's job.")


@LAB.check("task1", hidden=True)
def refuses_what_is_not_a_click_object(ctx):
    """data that is not base64, not UTF-8, or JSON that is not an object raises ValueError"""
    for shown, data in (("not base64", "this is not base64!"), ("a JSON list", b'["user-1", "/home"]'),
                        ("a JSON string", b'"hello"'), ("bytes that are not text", b"\xff\xfe\x00")):
        raises_value_error(ctx, "decode_click", record(data, 3), f"decode_click(<record whose data is {shown}>)",
                           "Decode with base64.b64decode(data, validate=True); after json.loads, raise "
                           "ValueError unless the result is a dict.")


# --- task 2: transform ---------------------------------------------------------------------------------------------

@LAB.check("task2")
def transforms_the_example(ctx):
    """an epoch-seconds time becomes its UTC minute"""
    expect_row(ctx, ctx.call("transform", dict(EXAMPLE)), ("/products/7", "2026-01-01T00:00"),
               call=f"transform({EXAMPLE})",
               hint="datetime.fromtimestamp(ts, tz=timezone.utc).strftime('%Y-%m-%dT%H:%M')")


@LAB.check("task2")
def reads_iso_8601_times(ctx):
    """an ISO 8601 time with Z becomes its minute"""
    click = {**EXAMPLE, "ts": "2026-03-04T05:06:59.999Z"}
    expect_row(ctx, ctx.call("transform", click), ("/products/7", "2026-03-04T05:06"), call=f"transform({click})",
               hint="datetime.fromisoformat(ts) reads ISO 8601 (with Z, on Python 3.11+); convert it to UTC "
                          "with .astimezone(timezone.utc).")


@LAB.check("task2")
def refuses_a_click_without_a_page(ctx):
    """a click with no page raises ValueError"""
    click = {k: v for k, v in EXAMPLE.items() if k != "page"}
    raises_value_error(ctx, "transform", click, f"transform({click})",
                       "Check the fields first: raise ValueError('no page') when page is missing or does not start "
                       "with '/'.")


@LAB.check("task2", hidden=True)
def handles_times_it_has_never_seen(ctx):
    """random epoch times, ISO times with offsets and without a zone (UTC)"""
    for _ in range(10):
        ts = round(ctx.rng.uniform(1.6e9, 1.9e9), 3)
        moment = datetime.fromtimestamp(ts, tz=timezone.utc)
        forms = [ts, int(ts), moment.strftime("%Y-%m-%dT%H:%M:%SZ"), moment.replace(tzinfo=None).isoformat(),
                 moment.astimezone(timezone.utc).astimezone(
                     datetime.fromisoformat("2000-01-01T00:00:00+05:30").tzinfo).isoformat()]
        for form in forms:
            click = random_click(ctx.rng, ts=form)
            expect_row(ctx, ctx.call("transform", click), (click["page"], minute(form)), call=f"transform({click})",
                       hint="Times with an offset (+05:30) are converted to UTC; a time without a zone is UTC.")


@LAB.check("task2", hidden=True)
def ignores_unexpected_fields(ctx):
    """a click with fields the function does not know is still a click"""
    click = random_click(ctx.rng, device="phone", experiment={"id": 7}, ip="203.0.113.9")
    expect_row(ctx, ctx.call("transform", click), (click["page"], minute(click["ts"])), call=f"transform({click})",
               hint="Read only the fields you need; a producer may add fields at any time.")


@LAB.check("task2", hidden=True)
def refuses_every_kind_of_malformed_click(ctx):
    """no user, an empty user, a page that is not a path, no time, a time that is not a time (text, true)"""
    base = random_click(ctx.rng)
    broken = [{k: v for k, v in base.items() if k != "user"}, {**base, "user": " "}, {**base, "page": "home"},
              {**base, "page": 42}, {k: v for k, v in base.items() if k != "ts"}, {**base, "ts": "yesterday"},
              {**base, "ts": None}, {**base, "ts": True}]
    for click in broken:
        raises_value_error(ctx, "transform", click, f"transform({click})",
                           "Raise ValueError with the reason for each: no user, a page that is not a path like "
                           "'/home', no ts, a ts that is neither a number nor ISO 8601 text (JSON true is a bool, "
                           "and isinstance(True, int) is True: rule bool out).")


# --- task 3: handler -----------------------------------------------------------------------------------------------

@LAB.check("task3", points=2)
def counts_a_clean_batch(ctx):
    """three good clicks are saved, per page and minute"""
    path = scratch_database(ctx)
    clicks = [dict(EXAMPLE), {**EXAMPLE, "page": "/cart"}, {**EXAMPLE, "ts": EXAMPLE["ts"] + 60}]
    response, _ = run_handler(ctx, [record(c, n) for n, c in enumerate(clicks, 1)], path)
    check_response(ctx, response, [], "handler(<3 good records>, context)")
    ctx.expect_equal(table(counts_in(path)), table(expected_counts(clicks)), message="The database has the wrong counts.",
                     hint="Collect (record['eventID'], page, minute) for every good record, then call "
                          "save_clicks(rows) once.")


@LAB.check("task3", points=2)
def reports_a_bad_record_by_its_sequence_number(ctx):
    """a malformed record is reported in batchItemFailures; the good one is saved"""
    path = scratch_database(ctx)
    response, logs = run_handler(ctx, [record(EXAMPLE, 1), record(b"{broken", 2)], path)
    check_response(ctx, response, [2], "handler(<a good record, then a broken one>, context)")
    ctx.expect_equal(table(counts_in(path)), table(expected_counts([EXAMPLE])),
                     message="The good record was not saved.", hint="Save the good records even when some fail.")


@LAB.check("task3", hidden=True, points=2)
def a_poison_pill_among_good_records(ctx):
    """a poison pill in the middle of a batch: every good click counted, only the pill reported"""
    path = scratch_database(ctx)
    clicks = [random_click(ctx.rng) for _ in range(12)]
    pill = ctx.rng.randint(3, 9)
    records = [record(c, n) for n, c in enumerate(clicks, 1)]
    records[pill - 1] = record(b"\x00not a click", pill)
    response, logs = run_handler(ctx, records, path)
    check_response(ctx, response, [pill], "handler(<12 records, one a poison pill>, context)")
    good = [c for n, c in enumerate(clicks, 1) if n != pill]
    ctx.expect_equal(table(counts_in(path)), table(expected_counts(good)),
                     message="The good records around the poison pill were not all counted.",
                     hint="Do not stop at the first bad record: handle it with try/except ValueError and go on.")
    if records[pill - 1]["kinesis"]["sequenceNumber"] not in logs and records[pill - 1]["eventID"] not in logs:
        ctx.fail("The log does not say which record was malformed.", actual=Plain(logs.strip()[-300:] or "(nothing)"),
                 hint="logger.warning('malformed record %s: %s', record['eventID'], error) before going on.")


@LAB.check("task3", hidden=True, points=1)
def a_batch_delivered_again_counts_once(ctx):
    """the same batch delivered twice, then again from its failed record: nothing counted twice"""
    path = scratch_database(ctx)
    clicks = [random_click(ctx.rng) for _ in range(8)]
    records = [record(c, n) for n, c in enumerate(clicks, 1)] + [record(b"[1, 2]", 9)]
    records += [record(c, n) for n, c in enumerate([random_click(ctx.rng) for _ in range(3)], 10)]
    for shown, batch in (("the batch", records), ("the same batch again", records),
                         ("the retry from the failed record", records[8:])):
        response, _ = run_handler(ctx, batch, path)
        check_response(ctx, response, [9], f"handler(<{shown}>, context)")
    good = clicks + [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in records[9:]]
    ctx.expect_equal(table(counts_in(path)), table(expected_counts(good)),
                     message="A click was counted twice when Lambda delivered its batch again.",
                     hint="Give save_clicks the record's eventID with each row: it skips the eventIDs it has seen.")


@LAB.check("task3", hidden=True, points=1)
def a_record_with_an_unexpected_field_counts(ctx):
    """a click with an extra field is counted like any other"""
    path = scratch_database(ctx)
    clicks = [random_click(ctx.rng), random_click(ctx.rng, coupon="SPRING", cart={"items": 3})]
    response, _ = run_handler(ctx, [record(c, n) for n, c in enumerate(clicks, 1)], path)
    check_response(ctx, response, [], "handler(<2 records, one with extra fields>, context)")
    ctx.expect_equal(table(counts_in(path)), table(expected_counts(clicks)),
                     hint="Extra fields are not an error: use only user, page and ts.")


@LAB.check("task3", hidden=True, points=2, timeout=120)
def runs_behind_a_kinesis_stream(ctx):
    """as a Lambda function behind a real stream: the database equals what the producer sent"""
    from .. import aws, producer
    from ..runtime import LambdaFunction
    from ..triggers import connect_kinesis

    path = scratch_database(ctx)
    stream = f"lab03-{ctx.rng.randint(0, 10**8)}"
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    ctx.on_cleanup(lambda: kinesis.delete_stream(StreamName=stream))
    truth = producer.send_clicks(stream, 200, malformed=0.03, seed=ctx.rng.randint(0, 999))
    invoke_in_runtime(ctx, "handler", {"Records": []}, {"DATABASE_PATH": path})  # ships the handler, or says why not
    function = LambdaFunction(f"lab03-check-{ctx.rng.randint(0, 10**6)}", ctx.get("handler"), timeout_s=10,
                              environment={"DATABASE_PATH": path})
    ctx.on_cleanup(function.shutdown)
    result = connect_kinesis(stream, function, batch_size=25, parallelization_factor=2,
                             function_response_types=["ReportBatchItemFailures"], maximum_retry_attempts=1).drain()
    errors = [b.detail for b in result.batches if b.outcome in ("error", "timeout", "invalid")]
    if errors:
        ctx.fail(f"The function failed in Lambda: {errors[0]}",
                 hint="Return the partial batch response instead of raising for a malformed record.")
    ctx.expect_equal(table(counts_in(path)), table(truth.page_minutes),
                     message="The database does not match the clicks the producer sent.",
                     hint="Every valid click once: report malformed records, save the good ones with their eventID.")
