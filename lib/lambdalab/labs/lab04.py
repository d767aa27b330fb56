"""Lab 4 checks: EventBridge event patterns for routing requirements (notebook: solutions/lab04_event_patterns.ipynb).

Task 1 ``zip_pattern(bucket)``: S3 "Object Created" events for .zip files over 1 MB in one bucket.
Task 2 ``orders_pattern()``: orders from two Regions, except test accounts.
Task 3 ``alert_pattern()``: payments that need a person ($or of a large amount and a failed status, rehearsals out).
Each check runs the student's pattern against events through the pattern sandbox (the matcher the emulated rules use)
and, on a miss, shows the sandbox's reasons. Hidden checks use bucket names, sizes, accounts and amounts drawn from the
grading run's seed, boundary values, and a real upload through an EventBridge rule to a Lambda function.
"""
from __future__ import annotations

import secrets
import uuid

from .core import Lab, Plain

LAB = Lab("lab04", "Lab 4: event patterns", "lab04_event_patterns",
          hidden_summary="other buckets, sizes at the 1 MB boundary, look-alike keys, Regions and accounts that "
                         "resemble the right ones, amounts at the 10,000 boundary, and a real upload through an "
                         "EventBridge rule to a Lambda function.")
LAB.task("task1", "Task 1: large .zip uploads", ["zip_pattern"])
LAB.task("task2", "Task 2: orders from two Regions, no test accounts", ["orders_pattern"])
LAB.task("task3", "Task 3: payments that need a person", ["alert_pattern"])

MB = 1024 * 1024
SHOP, PAYMENTS = "com.example.shop", "com.example.payments"
ORDER_REGIONS = ("us-east-1", "eu-west-1")


# --- events (EventBridge's envelope, as the rules receive them) --------------------------------------------------

def envelope(source: str, detail_type: str, detail: dict, region: str = "us-east-1", resources=()) -> dict:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
            "account": "123456789012", "time": "2026-03-14T09:30:05Z", "region": region,
            "resources": list(resources), "detail": detail}


def s3_event(bucket: str, key: str, size: int, detail_type: str = "Object Created", source: str = "aws.s3") -> dict:
    """An S3 event as S3 sends it to EventBridge (detail.object.key is not URL-encoded)."""
    detail = {"version": "0", "bucket": {"name": bucket},
              "object": {"key": key, "size": size, "etag": secrets.token_hex(16), "sequencer": "00617F08299329D189"},
              "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012", "source-ip-address": "203.0.113.25",
              "reason": "PutObject"}
    return envelope(source, detail_type, detail, resources=[f"arn:aws:s3:::{bucket}"])


def order_event(region: str, account_id: str, detail_type: str = "Order Placed", source: str = SHOP) -> dict:
    return envelope(source, detail_type, {"order-id": f"o-{secrets.randbelow(10**6)}", "total": 42.5,
                                          "customer": {"account-id": account_id, "tier": "gold"}}, region=region)


def payment_event(amount, status: str, source: str = PAYMENTS, **extra) -> dict:
    return envelope(source, "Payment Processed", {"payment-id": f"p-{secrets.randbelow(10**6)}", "amount": amount,
                                                  "currency": "EUR", "status": status, **extra})


# --- the check every task uses -----------------------------------------------------------------------------------

def pattern_of(ctx, name: str, *args) -> dict:
    """The student's pattern: a dict EventBridge accepts (the check fails with EventBridge's reason otherwise)."""
    from ..triggers.patterns import InvalidEventPatternException, compile_pattern

    call = f"{name}({', '.join(repr(a) for a in args)})"
    pattern = ctx.call(name, *args)
    if not isinstance(pattern, dict):
        ctx.fail(f"{name} should return the event pattern as a dict, not a {type(pattern).__name__}.", call=call,
                 hint="Return a dict such as {\"source\": [\"aws.s3\"], \"detail\": {...}}; every value in it is an "
                      "array or another dict.")
    try:
        compile_pattern(pattern)
    except InvalidEventPatternException as exc:
        ctx.fail(f"EventBridge refuses this pattern: {exc.reason.rstrip('.')}.", call=call, actual=pattern,
                 hint="Each field's value is an array (of values or operator objects like {\"suffix\": \".zip\"}), "
                      "never a bare string or number; notebook 05 shows every operator.")
    return pattern


def expect_verdicts(ctx, pattern: dict, cases, call: str, hints: dict | None = None) -> None:
    """Run ``pattern`` against each (label, event, should_match) through the sandbox; fail on the first wrong one."""
    from ..triggers.patterns import test_pattern

    for label, event, should_match in cases:
        result = test_pattern(pattern, event)
        if result.matches == should_match:
            continue
        hint = (hints or {}).get(label)
        if should_match:
            ctx.fail(f"The rule would not deliver {label}, but it should.", call=call,
                     expected=Plain("a match"), actual=Plain("no match: " + "; ".join(result.reasons)),
                     hint=hint or "Each reason names the field that failed: loosen that part of the pattern.")
        ctx.fail(f"The rule would deliver {label}, but it should not.", call=call, expected=Plain("no match"),
                 actual=Plain("a match"), hint=hint or "Add a condition that this event fails.")


# --- task 1: zip_pattern ------------------------------------------------------------------------------------------

ZIP_HINTS = {
    "a .pdf file": 'Match the key\'s end: "key": [{"suffix": ".zip"}] inside "detail": {"object": {...}}.',
    "a .zip of 200 KB": 'Add the size: "size": [{"numeric": [">", 1048576]}] next to "key".',
    "a .zip of exactly 1 MB": '"Over 1 MB" means more than 1,048,576 bytes: use ">" rather than ">=".',
    "a large .zip in another bucket": 'Name the bucket: "detail": {"bucket": {"name": [bucket]}, ...}, using the '
                                      "function's argument, not a fixed name.",
    "sales.zip.tmp": "The key must end in .zip: a suffix, not a prefix or a wildcard with a trailing *.",
    "an Object Restore Completed event": 'Only new objects: "detail-type": ["Object Created"].',
    "the same event from another source": 'Only S3\'s own events: "source": ["aws.s3"].',
    "a key ending in .ZIP": "S3 keys are case-sensitive and the requirement says .zip in lower case: a plain "
                            "suffix, not equals-ignore-case.",
}


def zip_cases(bucket: str, other: str, over: int, small: int) -> list:
    return [
        ("q3/sales.zip of 3 MB", s3_event(bucket, "q3/sales.zip", 3 * MB), True),
        ("a .zip just over 1 MB", s3_event(bucket, "archive 2026.zip", MB + 1), True),
        (f"a .zip of {over:,} bytes", s3_event(bucket, "exports/data.zip", over), True),
        ("a .pdf file", s3_event(bucket, "q3/notes.pdf", 3 * MB), False),
        ("a .zip of 200 KB", s3_event(bucket, "small.zip", small), False),
        ("a .zip of exactly 1 MB", s3_event(bucket, "edge.zip", MB), False),
        ("a large .zip in another bucket", s3_event(other, "q3/sales.zip", 3 * MB), False),
        ("sales.zip.tmp", s3_event(bucket, "sales.zip.tmp", 3 * MB), False),
        ("an Object Restore Completed event", s3_event(bucket, "old.zip", 3 * MB, "Object Restore Completed"),
         False),
    ]


@LAB.check("task1", points=2)
def zip_pattern_routes_the_examples(ctx):
    """matches the large .zip uploads to reports-inbox, and nothing else in the examples"""
    pattern = pattern_of(ctx, "zip_pattern", "reports-inbox")
    expect_verdicts(ctx, pattern, zip_cases("reports-inbox", "public-site", 5 * MB, 200 * 1024),
                    'zip_pattern("reports-inbox")', ZIP_HINTS)


@LAB.check("task1", points=1)
def zip_pattern_uses_its_argument(ctx):
    """works for whichever bucket it is given"""
    pattern = pattern_of(ctx, "zip_pattern", "media-uploads")
    expect_verdicts(ctx, pattern, zip_cases("media-uploads", "reports-inbox", 2 * MB, 1000)[:1] +
                    [("a large .zip in another bucket", s3_event("reports-inbox", "q3/sales.zip", 3 * MB), False)],
                    'zip_pattern("media-uploads")', ZIP_HINTS)


@LAB.check("task1", hidden=True, points=2)
def zip_pattern_on_unseen_events(ctx):
    """other buckets, sizes around 1 MB, look-alike keys and sources"""
    bucket = f"uploads-{ctx.rng.randint(100, 999)}"
    pattern = pattern_of(ctx, "zip_pattern", bucket)
    cases = zip_cases(bucket, bucket + "-copy", MB + ctx.rng.randint(2, 50 * MB), ctx.rng.randint(0, MB - 1))
    cases += [("a key ending in .ZIP", s3_event(bucket, "SCAN.ZIP", 3 * MB), False),
              ("a .zip folder with a .csv inside", s3_event(bucket, "x.zip/part-1.csv", 3 * MB), False),
              ("the same event from another source", s3_event(bucket, "a.zip", 3 * MB, source="com.example.mirror"),
               False),
              ("a deeply nested .zip", s3_event(bucket, "a/b/c/d/e.zip", 2 * MB), True)]
    ctx.rng.shuffle(cases)
    expect_verdicts(ctx, pattern, cases, f"zip_pattern({bucket!r})", ZIP_HINTS)


@LAB.check("task1", hidden=True, points=1, timeout=60)
def zip_pattern_on_a_real_rule(ctx):
    """a real upload through an EventBridge rule invokes the function for the right files only"""
    from .. import aws
    from ..runtime import LambdaFunction
    from ..triggers.eventbridge import connect_rule, send_s3_events_to_eventbridge
    from .helpers import scratch_bucket

    aws.start()
    bucket = scratch_bucket(ctx, "inbox")
    send_s3_events_to_eventbridge(bucket)
    function = LambdaFunction(f"lab04-{secrets.token_hex(3)}", "lambdalab.labs.lab04.returns_the_key")
    ctx.on_cleanup(function.shutdown)
    trigger = connect_rule(f"lab04-zips-{secrets.token_hex(3)}", function, pattern=pattern_of(ctx, "zip_pattern",
                                                                                              bucket))
    ctx.on_cleanup(trigger.disconnect)
    uploads = {"big.zip": 2 * MB, "small.zip": 10, "big.pdf": 2 * MB, f"r{ctx.rng.randint(1, 99)}/x.zip": MB + 7}
    s3 = aws.client("s3")
    for key, size in uploads.items():
        s3.put_object(Bucket=bucket, Key=key, Body=b"0" * size)
    got = sorted(trigger.drain().responses)
    want = sorted(k for k, size in uploads.items() if k.endswith(".zip") and size > MB)
    ctx.expect_equal(got, want, call=f"uploads of {sorted(uploads)} to {bucket}",
                     message="The function ran for the wrong uploads.",
                     hint="Test your pattern on each of these uploads with test_pattern to see which field differs.")


def returns_the_key(event, context):
    """The function the real-rule check connects: returns the uploaded key."""
    return event["detail"]["object"]["key"]


# --- task 2: orders_pattern ---------------------------------------------------------------------------------------

ORDER_HINTS = {
    "an order from ap-southeast-2": 'The Region is in the envelope: "region": ["us-east-1", "eu-west-1"] (values in '
                                    "one array are ORed).",
    "an order from us-east-2": "List the two Regions exactly; a prefix such as \"us-\" also lets in us-east-2.",
    "an order from a test account": 'Exclude test accounts: "customer": {"account-id": [{"anything-but": '
                                    '{"prefix": "test-"}}]} inside "detail".',
    "another test account": 'Every account whose id starts with test- is a test account, not only the examples: '
                            '[{"anything-but": {"prefix": "test-"}}] rather than a list of ids.',
    "a cancelled order": 'Only placed orders: "detail-type": ["Order Placed"].',
    "an order from another source": f'Only the shop: "source": ["{SHOP}"].',
    "an order from account contest-12": "Only accounts that start with test- are test accounts: anything-but a "
                                        "prefix, not a wildcard like *test-*.",
}


def order_cases(accounts) -> list:
    real, test = accounts
    return [
        ("an order from us-east-1", order_event("us-east-1", real), True),
        ("an order from eu-west-1", order_event("eu-west-1", real), True),
        ("an order from ap-southeast-2", order_event("ap-southeast-2", real), False),
        ("an order from a test account", order_event("eu-west-1", test), False),
        ("a cancelled order", order_event("us-east-1", real, detail_type="Order Cancelled"), False),
        ("an order from another source", order_event("us-east-1", real, source="com.example.legacy"), False),
    ]


@LAB.check("task2", points=2)
def orders_pattern_routes_the_examples(ctx):
    """matches placed orders from us-east-1 and eu-west-1 that are not from test accounts"""
    expect_verdicts(ctx, pattern_of(ctx, "orders_pattern"), order_cases(("acct-17", "test-3")), "orders_pattern()",
                    ORDER_HINTS)


@LAB.check("task2", hidden=True, points=2)
def orders_pattern_on_unseen_events(ctx):
    """other accounts, and Regions and accounts that look like the right ones"""
    real, test = f"acct-{ctx.rng.randint(100, 9999)}", f"test-{ctx.rng.randint(1, 999)}"
    cases = order_cases((real, test)) + [
        ("an order from us-east-2", order_event("us-east-2", real), False),
        ("an order from eu-west-1b", order_event("eu-west-1b", real), False),
        ("an order from account contest-12", order_event("us-east-1", "contest-12"), True),
        ("another test account", order_event("us-east-1", f"test-{ctx.rng.randint(1000, 9999)}"), False),
    ]
    ctx.rng.shuffle(cases)
    expect_verdicts(ctx, pattern_of(ctx, "orders_pattern"), cases, "orders_pattern()", ORDER_HINTS)


# --- task 3: alert_pattern ----------------------------------------------------------------------------------------

ALERT_HINTS = {
    "a failed payment of 12 EUR": 'Either condition is enough: "detail": {"$or": [{"amount": [...]}, '
                                  '{"status": [...]}]}.',
    "a payment of 25,000 that settled": 'Either condition is enough: "$or" with "amount": [{"numeric": [">", 10000]}] '
                                        "as one alternative.",
    "status Failed (capital F)": 'Any letter case: "status": [{"equals-ignore-case": "failed"}].',
    "a payment of exactly 10,000": '"Over 10,000" means ">" rather than ">=".',
    "a rehearsal (dry-run) of 50,000": 'Rehearsals have a "dry-run" field: add "dry-run": [{"exists": false}] '
                                       'inside "detail", outside the "$or".',
    "a settled payment of 9,999": "A small payment that settled needs no person: check both alternatives of $or.",
    "a payment event from another source": f'Only payments: "source": ["{PAYMENTS}"].',
    "status failed-then-retried": "The status must be failed (any case), not merely start with it: "
                                  "equals-ignore-case, not a prefix.",
}


def alert_cases(big: float, small: float) -> list:
    return [
        ("a payment of 25,000 that settled", payment_event(25000, "SETTLED"), True),
        ("a failed payment of 12 EUR", payment_event(12, "failed"), True),
        ("status Failed (capital F)", payment_event(40, "Failed"), True),
        (f"a payment of {big:,}", payment_event(big, "SETTLED"), True),
        ("a settled payment of 9,999", payment_event(9999, "SETTLED"), False),
        ("a payment of exactly 10,000", payment_event(10000, "SETTLED"), False),
        ("a rehearsal (dry-run) of 50,000", payment_event(50000, "SETTLED", **{"dry-run": True}), False),
        (f"a settled payment of {small:,}", payment_event(small, "settled"), False),
        ("a payment event from another source", payment_event(50000, "failed", source="com.example.shop"), False),
    ]


@LAB.check("task3", points=2)
def alert_pattern_routes_the_examples(ctx):
    """matches large or failed payments, never rehearsals"""
    expect_verdicts(ctx, pattern_of(ctx, "alert_pattern"), alert_cases(20000.5, 3.2), "alert_pattern()",
                    ALERT_HINTS)


@LAB.check("task3", hidden=True, points=3)
def alert_pattern_on_unseen_events(ctx):
    """amounts around 10,000, other letter cases, rehearsals with any value"""
    big = round(ctx.rng.uniform(10000.01, 900000), 2)
    small = round(ctx.rng.uniform(0, 9999.99), 2)
    cases = alert_cases(big, small) + [
        ("status FAILED", payment_event(small, "FAILED"), True),
        ("status failed-then-retried", payment_event(small, "failed-then-retried"), False),
        ("a rehearsal whose dry-run is false", payment_event(big, "failed", **{"dry-run": False}), False),
        ("a failed rehearsal", payment_event(small, "failed", **{"dry-run": "yes"}), False),
    ]
    ctx.rng.shuffle(cases)
    expect_verdicts(ctx, pattern_of(ctx, "alert_pattern"), cases, "alert_pattern()", ALERT_HINTS)
