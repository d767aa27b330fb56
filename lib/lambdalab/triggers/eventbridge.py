"""Amazon EventBridge rules that invoke a Lambda function: ``connect_rule(name, function, pattern=..., ...)``.

On AWS a rule on an event bus names the function as a target, and EventBridge invokes it asynchronously with each
matching event. moto cannot run a function (a Lambda target makes PutEvents fail), so the rule is real on the backend
but its target is an SQS queue of the trigger's own; ``drain()`` takes each event from there and invokes the
function through Lambda's asynchronous model (``async_invoke``: retries, on-failure destination, duplicates), as
``connect_s3`` does. Matching, ``InputPath`` and input transformers are moto's, corrected where it differs from
EventBridge (``lambdalab.moto_patches.events``).

A rule with a schedule (``rate(5 minutes)``, ``cron(0 12 * * ? *)``) fires on the simulated clock: ``drain()``
delivers every firing that fell due since the last one (moto never fires schedules). Lambda's recursive loop
detection does not cover EventBridge, so a rule whose function emits events the rule matches loops forever on AWS;
``drain(max_invocations=...)`` stops the emulation and says so.

Also here: ``send_event`` (PutEvents, failures raised), ``send_s3_events_to_eventbridge`` (the bucket setting that
makes S3 send every object event to the default bus), ``Schedule`` and ``account_client`` (act as another account).
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone

from .. import aws, clock
from ..moto_patches.events import TARGETS_PER_RULE, iso_time, target_input
from ..runtime import check_invoke_target
from .async_invoke import MAX_EVENT_AGE_S, AsyncInvoker, AsyncReport, take_all
from .patterns import compile_pattern, test_pattern  # noqa: F401 - test_pattern is public here too

DEFAULT_MAX_INVOCATIONS = 500  # drain() stops there: an EventBridge loop never stops by itself
RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


def connect_rule(name: str, function, pattern: dict | str | None = None, schedule: str | None = None,
                 bus: str = "default", *, on_failure: str | None = None, max_retries: int = 2,
                 duplicates: float = 0.0, input_path: str | None = None, input_transformer: dict | None = None,
                 description: str | None = None, on_success: str | None = None,
                 max_event_age_s: int = MAX_EVENT_AGE_S[1]) -> "RuleTrigger":
    """Create (or update) EventBridge rule ``name`` on ``bus`` and make ``function`` one of its targets.

    Give ``pattern`` (an event pattern, dict or JSON) or ``schedule`` (``rate(...)`` / ``cron(...)``, default bus
    only). ``input_path`` (``"$.detail"``) or ``input_transformer`` (``{"InputPathsMap": {...}, "InputTemplate":
    "..."}``) change what the function receives. ``on_failure``: an SQS queue for events that fail every attempt (or
    grow older than ``max_event_age_s``); ``on_success``: one for the record of each success (Lambda's destinations).
    Connecting more functions to the same rule adds targets, up to 5 as on AWS. Call ``.drain()`` to deliver.
    """
    return RuleTrigger(name, function, pattern, schedule, bus, on_failure, max_retries, duplicates, input_path,
                       input_transformer, description, on_success=on_success, max_event_age_s=max_event_age_s)


class RuleReport(AsyncReport):
    """``AsyncReport`` plus ``stopped_early``: drain() reached ``max_invocations`` with events still pending."""

    stopped_early = False
    left_pending = 0

    def summary(self) -> str:
        text = super().summary()
        if self.stopped_early:
            text += (f"; stopped by the emulator after {len(self.invocations)} invocations with {self.left_pending} "
                     "event(s) still pending (Lambda does not stop EventBridge loops: on AWS this runs, and bills, "
                     "until you change the rule or the function)")
        return text


class _Stop(Exception):
    pass


class RuleTrigger:
    """A rule's events wired to a function. ``drain()`` delivers what is pending; ``disconnect()`` undoes it."""

    def __init__(self, name, function, pattern, schedule, bus, on_failure, max_retries, duplicates, input_path,
                 input_transformer, description, *, on_success=None, max_event_age_s=MAX_EVENT_AGE_S[1]):
        check_invoke_target(function)
        if (pattern is None) == (schedule is None):
            raise ValueError("Give the rule either pattern= (which events it matches) or schedule= (when it fires, "
                             "e.g. 'rate(5 minutes)'), not both or neither.")
        if input_path and input_transformer:
            raise ValueError("A target takes InputPath or InputTransformer, not both.")
        self.name, self.function, self.bus = name, function, bus
        self.events, self.sqs = aws.client("events"), aws.client("sqs")
        self._check_bus()
        self.pattern = json.loads(pattern) if isinstance(pattern, str) else pattern
        self.schedule = Schedule(schedule) if schedule else None
        if self.schedule and bus != "default":
            raise ValueError(f"Schedules run on the default event bus only; drop bus={bus!r}.")
        if self.pattern is not None:
            compile_pattern(self.pattern)  # EventBridge's InvalidEventPatternException, before anything is created
        self.target = {"Id": re.sub(r"[^A-Za-z0-9_.-]", "-", f"lambdalab-{function.name}")[:64]}
        if input_path:
            self.target["InputPath"] = input_path
        if input_transformer:
            self.target["InputTransformer"] = _check_transformer(input_transformer)
        self.invoker = AsyncInvoker(function, on_failure=on_failure, max_retries=max_retries, duplicates=duplicates,
                                    loop_detection=False, on_success=on_success, max_event_age_s=max_event_age_s)
        self.queue_url, queue_arn = self._create_queue()
        self.rule_arn = self._put_rule(description)
        self._put_target(queue_arn)
        self._last_tick = clock.now()

    # --- setup ----------------------------------------------------------------------------------------------------
    def _check_bus(self):
        try:
            self.events.describe_event_bus(Name=self.bus)
        except self.events.exceptions.ResourceNotFoundException:
            raise ValueError(f"Event bus {self.bus!r} does not exist. Create it first: "
                             f"aws.client('events').create_event_bus(Name={self.bus!r})") from None

    def _create_queue(self):
        prefix = aws.backend().prefix  # real AWS: the course's names start with LAMBDALAB_PREFIX (lambdalab.safety)
        name = prefix + re.sub(r"[^A-Za-z0-9_-]", "-",
                               f"lambdalab-rule-{self.bus}-{self.name}-{self.function.name}")[:80 - len(prefix)]
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def _put_rule(self, description) -> str:
        settings = {"Name": self.name, "EventBusName": self.bus, "State": "ENABLED"}
        if self.pattern is not None:
            settings["EventPattern"] = json.dumps(self.pattern)
        else:
            settings["ScheduleExpression"] = self.schedule.expression
        if description:
            settings["Description"] = description
        return self.events.put_rule(**settings)["RuleArn"]

    def _put_target(self, queue_arn):
        self.target["Arn"] = queue_arn
        try:
            self.events.put_targets(Rule=self.name, EventBusName=self.bus, Targets=[self.target])
        except self.events.exceptions.LimitExceededException:
            others = [t["Id"] for t in self._targets()]
            raise ValueError(f"Rule {self.name!r} already has {len(others)} targets ({', '.join(others)}): "
                             f"EventBridge allows at most {TARGETS_PER_RULE} per rule. Add a second rule with the same "
                             "pattern, or send to one target that fans out (an SNS topic).") from None
        self._queue_new()  # anything already in a reused queue is kept for the next drain()

    def _targets(self) -> list:
        return self.events.list_targets_by_rule(Rule=self.name, EventBusName=self.bus)["Targets"]

    def disconnect(self) -> None:
        """Remove this function's target (and the rule when no target is left) and delete the trigger's queue."""
        self.events.remove_targets(Rule=self.name, EventBusName=self.bus, Ids=[self.target["Id"]])
        if not self._targets():
            self.events.delete_rule(Name=self.name, EventBusName=self.bus)
        self.sqs.delete_queue(QueueUrl=self.queue_url)

    # --- delivery -------------------------------------------------------------------------------------------------
    def drain(self, max_invocations: int = DEFAULT_MAX_INVOCATIONS) -> RuleReport:
        """Deliver every matching event (and scheduled firing due by now), with retries, and whatever those
        invocations cause; stop after ``max_invocations`` (what is left stays pending) and report it all."""
        report = RuleReport(self.function.name, source=f"rule {self.name} ({self.bus}) -> {self.function.name}")
        self._queue_due_schedule()
        self._queue_new()

        def after_each(delivery):
            self._queue_new(parent=delivery)
            if len(report.invocations) >= max_invocations and self.invoker.pending:
                raise _Stop

        try:
            self.invoker.run(report, after_each=after_each)
        except _Stop:
            report.stopped_early, report.left_pending = True, self.invoker.pending
        return report

    def send(self, event: dict, label: str | None = None) -> None:
        """Queue a hand-made event for the function directly (no matching), for the next ``drain()``."""
        self.invoker.submit(event, label=label or _label(event))

    def _queue_new(self, parent=None) -> None:
        for payload in self._receive_all():
            self.invoker.submit(payload, label=_label(payload), parent=parent)

    def _receive_all(self) -> list:
        """Every event EventBridge put in the trigger's queue (deleted from it), as the function will receive it."""
        payloads = []
        for body in take_all(self.sqs, self.queue_url):
            try:
                payloads.append(json.loads(body))
            except ValueError:
                payloads.append(body)  # an input transformer's plain-text output
        return payloads

    def _queue_due_schedule(self) -> None:
        if not self.schedule:
            return
        now = clock.now()
        for when in self.schedule.fire_times(self._last_tick, now):
            event = scheduled_event(self.rule_arn, when)
            self.invoker.submit(target_input(event, self.target, rule_arn=self.rule_arn, rule_name=self.name),
                                label=f"Scheduled Event {event['time']}")
        self._last_tick = now

    @property
    def pending(self) -> int:
        """Events waiting for ``drain()`` (approximate, like SQS's own count), due schedule firings included."""
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url,
                                                   AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        due = len(self.schedule.fire_times(self._last_tick, clock.now())) if self.schedule else 0
        return int(attributes["ApproximateNumberOfMessages"]) + self.invoker.pending + due

    def __repr__(self):
        what = f"pattern={json.dumps(self.pattern)}" if self.pattern is not None else f"schedule={self.schedule}"
        return f"RuleTrigger({self.name!r} on bus {self.bus!r}, {what} -> {self.function.name})"


def _check_transformer(transformer: dict) -> dict:
    unknown = set(transformer) - {"InputPathsMap", "InputTemplate"}
    if unknown or "InputTemplate" not in transformer:
        raise ValueError("input_transformer takes EventBridge's two keys: {'InputPathsMap': {'name': '$.detail.x'}, "
                         f"'InputTemplate': '{{\"x\": <name>}}'}} (got {sorted(transformer)}).")
    return dict(transformer)


def _label(event) -> str:
    """How a delivery is listed in a report: "Object Created q3/sales.zip (aws.s3)", or the start of the JSON."""
    if not isinstance(event, dict) or "detail-type" not in event:
        return json.dumps(event, default=repr)[:80]
    detail = event.get("detail")
    key = detail.get("object", {}).get("key") if isinstance(detail, dict) else None
    return f"{event['detail-type']}{f' {key}' if key else ''} ({event.get('source', '?')})"


# --- schedules --------------------------------------------------------------------------------------------------

class Schedule:
    """A schedule expression: ``rate(N minute|minutes|hour|hours|day|days)`` or ``cron(min hour dom month dow
    year)`` (AWS's six fields, in UTC; one of day-of-month and day-of-week must be ``?``), parsed by aws-croniter."""

    def __init__(self, expression: str):
        self.expression = expression.strip()
        rate = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", self.expression)
        cron = re.fullmatch(r"cron\((.+)\)", self.expression)
        self.period, self.cron = None, None
        if rate:
            value, unit = int(rate.group(1)), rate.group(2)
            if value < 1 or (value == 1) != (not unit.endswith("s")):
                raise ValueError(f"Parameter ScheduleExpression is not valid: {expression!r}. A rate is a positive "
                                 "whole number with a singular unit for 1 ('rate(1 hour)') and plural otherwise "
                                 "('rate(5 minutes)').")
            self.period = value * RATE_UNITS[unit.rstrip("s")]
        elif cron:
            from aws_croniter import AwsCroniter

            try:
                self.cron = AwsCroniter(cron.group(1))
            except Exception as exc:  # noqa: BLE001 - aws-croniter raises one class per field
                raise ValueError(f"Parameter ScheduleExpression is not valid: {expression!r} ({exc}). AWS cron has "
                                 "six fields, minutes hours day-of-month month day-of-week year, and one of the two "
                                 "day fields must be '?': cron(0 12 * * ? *) is every day at 12:00 UTC.") from None
        else:
            raise ValueError(f"Parameter ScheduleExpression is not valid: {expression!r}. Use rate(5 minutes) or "
                             "cron(0 12 * * ? *).")

    def fire_times(self, after: float, until: float) -> list[float]:
        """The times (epoch seconds) the rule fires in (after, until]. A rate counts from when the rule was created
        (``after`` of the first call); cron times are on the minute, in UTC."""
        if until <= after:
            return []
        if self.period:
            count = int((until - after) // self.period)
            return [after + self.period * k for k in range(1, count + 1)]
        start, end = (datetime.fromtimestamp(t, tz=timezone.utc) for t in (after, until))
        times = self.cron.get_all_schedule_bw_dates(start.replace(second=0, microsecond=0), end)
        return [t.timestamp() for t in times if after < t.timestamp() <= until]

    def __str__(self):
        return self.expression


def scheduled_event(rule_arn: str, when: float) -> dict:
    """The event a scheduled rule sends its targets (AWS's shape: "Scheduled Event" from aws.events)."""
    backend = aws.backend()
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": backend.account_id, "time": iso_time(when), "region": backend.region,
            "resources": [rule_arn], "detail": {}}


# --- producers --------------------------------------------------------------------------------------------------

def send_event(source: str, detail_type: str, detail: dict, bus: str = "default", resources=()) -> str:
    """PutEvents with one entry; returns its event ID. PutEvents reports a bad entry in its response instead of
    raising, so this raises it: nothing is dropped silently."""
    entry = {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": bus,
             "Resources": list(resources)}
    result = aws.client("events").put_events(Entries=[entry])
    first = result["Entries"][0]
    if result.get("FailedEntryCount") or "EventId" not in first:
        raise ValueError(f"EventBridge refused the event: {first.get('ErrorCode')}: {first.get('ErrorMessage')}")
    return first["EventId"]


def send_s3_events_to_eventbridge(bucket: str, enabled: bool = True) -> None:
    """Turn on (or off) the bucket's "Send notifications to Amazon EventBridge" setting: S3 then sends every object
    event ("Object Created", "Object Deleted", ...) to the account's default event bus. Other notifications stay."""
    s3 = aws.client("s3")
    current = s3.get_bucket_notification_configuration(Bucket=bucket)
    current.pop("ResponseMetadata", None)
    if enabled:
        current["EventBridgeConfiguration"] = {}
    else:
        current.pop("EventBridgeConfiguration", None)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=current)


def account_client(service: str, account_id: str, role: str = "lambdalab-cross-account"):
    """A client that acts as another AWS account (to show cross-account routing): credentials from assuming
    ``role`` in ``account_id`` through STS. On moto any account works; on AWS the role must exist and trust you."""
    sts = aws.client("sts")
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{role}",
                                  RoleSessionName="lambdalab")["Credentials"]
    return aws.client(service, aws_access_key_id=credentials["AccessKeyId"],
                      aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"])
