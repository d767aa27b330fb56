"""Lambda's asynchronous invocation, as Amazon S3 and Amazon EventBridge use it.

A service that invokes a function asynchronously hands the event to Lambda's internal queue and moves on. Lambda then:

- invokes the function with the event; on a function error (an exception, a timeout, running out of memory) it
  retries twice, about 1 minute and then 2 minutes later (waits on ``lambdalab.clock``: they take no real time);
- after the last failed attempt sends an *invocation record* to the on-failure destination, if one is configured
  (an SQS queue or SNS topic on the backend), and otherwise discards the event; an event older than the maximum
  event age (60 s to 6 h, default 6 h) is not retried again but discarded the same way ("EventAgeExceeded");
- sends the record of each successful invocation to the on-success destination, if one is configured;
- delivers each event at least once, sometimes more: ``duplicates=`` makes that happen on purpose;
- stops recursive loops: events an invocation causes (an S3 write that triggers the same function) belong to the
  same *chain*; when a chain reaches its 17th invocation Lambda drops it instead of running it.

How the emulation tells which events an invocation caused: events are delivered one at a time, and the event source
(``after_each``) collects what appeared while that invocation ran. Lambda does it with metadata the AWS SDK carries
in the X-Ray trace header. Retries reuse the event and its request ID, as Lambda's do.
"""
from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import dataclass, field
from html import escape

from .. import clock, notices
from ..payloads import ASYNC_LIMIT_BYTES, event_json
from ..runtime import Invocation, InvokeTarget, StateName
from .destinations import resolve_destination

RETRY_DELAYS_S = (60, 120)  # Lambda's back-off between the 1st/2nd and the 2nd/3rd attempts
MAX_EVENT_AGE_S = (60, 21_600)  # MaximumEventAgeInSeconds: its range; the upper end is the default (6 hours)
LOOP_LIMIT = 16  # invocations of one chain Lambda allows; it drops the next one
LOOP_MESSAGE = ("Lambda has detected your function being invoked in a recursive loop with other AWS resources and "
                "stopped your function's invocation.")  # RecursiveInvocationException, as the Lambda API words it

log = notices.logger("lambdalab.triggers")  # the loop-stopped message is expected output: stdout
_sequence = itertools.count(1)


class DeliveryOutcome(StateName):
    """Where an event stands in the asynchronous queue."""

    PENDING = "pending"
    OK = "ok"
    FAILED = "failed"  # every attempt failed: the invocation record went to the destination, or nowhere
    LOOP_STOPPED = "loop-stopped"  # dropped by recursive loop detection


@dataclass(eq=False)
class Delivery:
    """One event's way through the asynchronous queue: each attempt and how it ended."""

    event: dict
    label: str
    chain: str  # the chain of invocations this event belongs to
    depth: int  # 1 for an event from outside; n + 1 for an event that an invocation at depth n caused
    duplicate: bool = False
    attempts: list[Invocation] = field(default_factory=list)
    times: list = field(default_factory=list)  # simulated time (epoch seconds) of each attempt
    outcome: DeliveryOutcome = DeliveryOutcome.PENDING
    destination_record: dict | None = None  # the invocation record, when it failed or was stopped
    sent_to_destination: bool = False
    success_record: dict | None = None  # the record sent to the on-success destination
    due: float = 0.0
    order: int = 0
    queued_at: float = 0.0  # simulated time Lambda queued the event (its age counts from here)

    @property
    def retries(self) -> int:
        return max(0, len(self.attempts) - 1)


class AsyncReport:
    """What ``drain()`` did: the deliveries, every invocation, retries, records sent to the destination, loop stops."""

    def __init__(self, function_name: str, source: str = ""):
        self.function_name = function_name
        self.source = source
        self.deliveries: list[Delivery] = []

    @property
    def invocations(self) -> list:
        return [invocation for d in self.deliveries for invocation in d.attempts]

    @property
    def retries(self) -> int:
        return sum(d.retries for d in self.deliveries)

    @property
    def failures(self) -> list[dict]:
        """Invocation records of events that failed every attempt (sent to the on-failure destination if any)."""
        return [d.destination_record for d in self.deliveries if d.outcome == DeliveryOutcome.FAILED]

    @property
    def successes(self) -> list[dict]:
        """Invocation records sent to the on-success destination, one per successful delivery."""
        return [d.success_record for d in self.deliveries if d.success_record is not None]

    @property
    def loop_stops(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.outcome == DeliveryOutcome.LOOP_STOPPED]

    @property
    def duplicates(self) -> int:
        return sum(d.duplicate for d in self.deliveries)

    @property
    def responses(self) -> list:
        """The function's response for each delivery that succeeded."""
        return [d.attempts[-1].response for d in self.deliveries if d.outcome == DeliveryOutcome.OK]

    def summary(self) -> str:
        parts = [f"{len(self.deliveries)} deliveries", f"{len(self.invocations)} invocations",
                 f"{self.retries} retries", f"{len(self.failures)} failed"]
        if self.duplicates:
            parts.append(f"{self.duplicates} duplicate deliveries")
        if self.loop_stops:
            parts.append(f"{len(self.loop_stops)} stopped as a recursive loop")
        return f"{self.source or self.function_name}: " + ", ".join(parts)

    def __repr__(self):
        lines = [self.summary()]
        for n, d in enumerate(self.deliveries, 1):
            lines.append(f"  {n:>3}. {d.label}  [{_outcome_text(d)}]")
        if self.loop_stops:
            lines.append(f"  {LOOP_MESSAGE}")
        return "\n".join(lines)

    def _repr_html_(self):
        start = min((t for d in self.deliveries for t in d.times), default=clock.now())
        rows = []
        for n, d in enumerate(self.deliveries, 1):
            when = ", ".join(f"+{t - start:.0f}s" for t in d.times) or "-"
            durations = ", ".join(f"{i.duration_ms:.0f} ms" for i in d.attempts) or "-"
            colour = {DeliveryOutcome.OK: "#1b7f3b", DeliveryOutcome.FAILED: "#b3261e",
                      DeliveryOutcome.LOOP_STOPPED: "#b3261e"}.get(d.outcome, "#555")
            rows.append(f"<tr><td>{n}</td><td style='text-align:left'>{escape(d.label)}</td><td>{d.depth}</td>"
                        f"<td>{len(d.attempts)}</td><td>{when}</td><td>{durations}</td>"
                        f"<td style='color:{colour}'>{escape(_outcome_text(d))}</td></tr>")
        note = f"<p><b>Lambda:</b> {escape(LOOP_MESSAGE)}</p>" if self.loop_stops else ""
        return (f"<p><b>{escape(self.summary())}</b></p><table><tr><th>#</th><th>event</th><th>chain depth</th>"
                f"<th>attempts</th><th>when (simulated)</th><th>duration</th><th>outcome</th></tr>"
                f"{''.join(rows)}</table>{note}")


def _outcome_text(d: Delivery) -> str:
    text = d.outcome + (" (duplicate)" if d.duplicate else "")
    if d.outcome == DeliveryOutcome.FAILED:
        error = d.attempts[-1].error or {}
        text += f": {error.get('errorType')}: {error.get('errorMessage', '')[:120]}"
        if (d.destination_record or {}).get("requestContext", {}).get("condition") == "EventAgeExceeded":
            text += "; too old to retry (maximum event age)"
        text += "; record sent to destination" if d.sent_to_destination else "; discarded"
    return text


class AsyncInvoker:
    """Lambda's asynchronous-invocation queue for one function.

    ``on_failure``: an SQS queue (name, URL or ARN) or SNS topic (ARN) that receives the invocation record of an event
    that failed every attempt (or grew older than ``max_event_age_s``); ``on_success``: the same for the record of
    each successful invocation. ``max_retries``: 0 to 2 (Lambda's default is 2). ``max_event_age_s``: 60 to 21,600
    (the default, 6 hours). ``duplicates``: the chance (0 to 1) that a successful event is delivered a second time,
    to show why handlers must be idempotent.
    """

    def __init__(self, function: InvokeTarget, on_failure: str | None = None, max_retries: int = 2,
                 duplicates: float = 0.0, seed: int = 0, loop_detection: bool = True, on_success: str | None = None,
                 max_event_age_s: int = MAX_EVENT_AGE_S[1]):
        if max_retries not in (0, 1, 2):
            raise ValueError(f"max_retries={max_retries!r}: Lambda allows 0, 1 or 2 retries of an asynchronous event.")
        low, high = MAX_EVENT_AGE_S
        if isinstance(max_event_age_s, bool) or not isinstance(max_event_age_s, int) \
                or not low <= max_event_age_s <= high:
            raise ValueError(f"max_event_age_s={max_event_age_s!r}: Lambda keeps an asynchronous event from {low} to "
                             f"{high:,} seconds (6 hours, the default), a whole number.")
        if not 0.0 <= duplicates <= 1.0:
            raise ValueError(f"duplicates={duplicates!r} is a probability: a number from 0 to 1.")
        self.function = function
        self.loop_detection = loop_detection  # False for EventBridge: Lambda detects loops through SQS, SNS, S3 only
        self.max_retries = max_retries
        self.duplicates = duplicates
        self.on_failure = resolve_destination(on_failure) if on_failure else None
        self.on_success = resolve_destination(on_success) if on_success else None
        self.max_event_age_s = max_event_age_s
        self._random = random.Random(seed)
        self._queue: list[Delivery] = []

    @property
    def pending(self) -> int:
        return len(self._queue)

    def submit(self, event: dict, label: str = "event", parent: Delivery | None = None) -> Delivery:
        """Queue ``event``; ``parent`` is the delivery whose invocation caused it (the same chain, one deeper)."""
        event_json(event, ASYNC_LIMIT_BYTES)  # Lambda refuses it when it is queued, not minutes later when it runs
        chain, depth = (parent.chain, parent.depth + 1) if parent else (uuid.uuid4().hex, 1)
        delivery = Delivery(event=event, label=label, chain=chain, depth=depth, due=clock.now(),
                            order=next(_sequence), queued_at=clock.now())
        self._queue.append(delivery)
        return delivery

    def run(self, report: AsyncReport, after_each=None) -> AsyncReport:
        """Deliver everything queued, waiting out retry back-offs on the simulated clock, until the queue is empty.

        ``after_each(delivery)`` is called after every attempt, so the event source can queue what it caused.
        """
        while self._queue:
            ready = min(self._queue, key=lambda d: (d.due, d.order))
            if ready.due > clock.now():
                clock.sleep(ready.due - clock.now())
            self._queue.remove(ready)
            if ready not in report.deliveries:
                report.deliveries.append(ready)
            self._attempt(ready)
            if after_each is not None:
                after_each(ready)
        return report

    def _attempt(self, d: Delivery) -> None:
        if self.loop_detection and d.depth > LOOP_LIMIT:
            d.outcome = DeliveryOutcome.LOOP_STOPPED
            log.warning("%s (function %s, chain %s, invocation %d)", LOOP_MESSAGE, self.function.name, d.chain[:8],
                        d.depth)
            # AWS documents that a dropped event goes to the on-failure destination, not the record's condition
            # value for it; the emulation names the error Lambda's API reports.
            d.destination_record = self._send_record(d, "RecursiveInvocationException")
            return
        if d.attempts and clock.now() - d.queued_at > self.max_event_age_s:  # too old to retry: discarded
            d.outcome = DeliveryOutcome.FAILED
            d.destination_record = self._send_record(d, "EventAgeExceeded")
            return
        d.times.append(clock.now())
        invocation = self.function.invoke(d.event, request_id=d.attempts[0].request_id if d.attempts else None)
        d.attempts.append(invocation)
        if invocation.ok:
            d.outcome = DeliveryOutcome.OK
            if self.on_success:
                d.success_record = self._send_record(d, "Success")
            if not d.duplicate and self.duplicates and self._random.random() < self.duplicates:
                copy = Delivery(event=d.event, label=d.label, chain=d.chain, depth=d.depth, duplicate=True,
                                due=clock.now(), order=next(_sequence), queued_at=clock.now())
                self._queue.append(copy)
        elif d.retries < self.max_retries:
            d.due = clock.now() + RETRY_DELAYS_S[d.retries]
            self._queue.append(d)
        else:
            d.outcome = DeliveryOutcome.FAILED
            d.destination_record = self._send_record(d, "RetriesExhausted")

    def _send_record(self, d: Delivery, condition: str) -> dict:
        """The invocation record Lambda sends to a destination: on success (``condition`` "Success") to the
        on-success destination, otherwise to the on-failure one (each only if configured)."""
        last = d.attempts[-1] if d.attempts else None
        record = {
            "version": "1.0",
            "timestamp": clock.now_datetime().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": d.attempts[0].request_id if d.attempts else str(uuid.uuid4()),
                "functionArn": f"{self.function.arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": len(d.attempts),
            },
            "requestPayload": d.event,
        }
        if condition == "Success":
            record["responseContext"] = {"statusCode": 200, "executedVersion": "$LATEST"}
            record["responsePayload"] = last.response
            self.on_success(record)
            return record
        if last is not None:
            record["responseContext"] = {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
            record["responsePayload"] = last.error
        if self.on_failure:
            self.on_failure(record)
            d.sent_to_destination = True
        return record


def take_all(sqs, queue_url: str) -> list[str]:
    """Every message body waiting in an SQS queue, deleted from it: a push source's internal queue (S3 and
    EventBridge deliver to one here, because moto cannot invoke a function itself), or any queue a lesson reads."""
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return bodies
        bodies += [message["Body"] for message in messages]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
