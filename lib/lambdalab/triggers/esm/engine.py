"""The poller Lambda runs for a stream: it reads every shard, cuts batches, invokes the function and applies Lambda's
rules for what happens next.

- **Order.** Each shard is split into ``ParallelizationFactor`` ordered sub-sequences ("lanes"): a record's lane is
  fixed by the MD5 of its key (partition key, or the item's key), so records of one key stay in order while up to
  shards x factor batches run at once. Each lane has its own checkpoint: the sequence number up to which every one of
  its records has been settled (processed, filtered out, or discarded).
- **Failure.** A failing batch is retried with back-off on the simulated clock, and its lane waits (blocked) until the
  batch succeeds, runs out of retries (``MaximumRetryAttempts``) or gets too old (``MaximumRecordAgeInSeconds``, or
  the stream's retention). ``BisectBatchOnFunctionError`` splits a failing batch in two first (free of the quota).
  With ``ReportBatchItemFailures`` the lane checkpoints before the lowest failed sequence number and retries from it
  (a failed attempt). A discarded batch's metadata goes to the on-failure destination.
- **Time.** Back-off, batching windows and tumbling windows wait on ``lambdalab.clock``: instantly.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections import deque
from dataclasses import dataclass

from ... import clock
from ...payloads import SYNC_LIMIT_BYTES
from ...runtime import Invocation, InvokeTarget
from .records import failure_message, iso
from .result import BatchAttempt, Blocked, Discarded, DrainResult, WindowResult
from .settings import REPORT_BATCH_ITEM_FAILURES, Settings
from .states import BatchKind, Outcome

__all__ = ["Engine", "Settings", "REPORT_BATCH_ITEM_FAILURES", "judge", "backoff_s"]

PAYLOAD_LIMIT_BYTES = SYNC_LIMIT_BYTES  # Lambda's synchronous payload limit caps a batch
STATE_LIMIT_BYTES = 1024 * 1024  # tumbling-window state per shard
EVENT_OVERHEAD_BYTES = 1024  # the event around the records (tumbling-window fields included)
BACKOFF_FIRST_S = 1.0  # retry back-off: 1 s, doubling, at most 60 s (Lambda documents "exponential back-off")
BACKOFF_MAX_S = 60.0


def backoff_s(retry: int) -> float:
    """Simulated seconds before retry number ``retry`` (1, 2, ...)."""
    return min(BACKOFF_FIRST_S * 2 ** (retry - 1), BACKOFF_MAX_S)


@dataclass(eq=False)
class Batch:
    """Records cut from one lane, with their retry bookkeeping."""

    records: list
    kind: BatchKind = BatchKind.BATCH  # how it came about
    retries: int = 0  # failed attempts counted against MaximumRetryAttempts
    invokes: int = 0  # invocations that carried these records (Lambda's approximateInvokeCount)
    final: bool = False  # the closing invocation of a tumbling window (no records)
    early: bool = False  # ... closed early because the state outgrew 1 MB
    request_id: str | None = None
    function_error: bool = False
    detail: str = ""


@dataclass(frozen=True)
class Verdict:
    """How Lambda reads an invocation's outcome."""

    outcome: Outcome
    first_failed: int | None = None  # index of the lowest failed record (partial)
    failed: tuple = ()
    detail: str = ""


def judge(invocation: Invocation, records: list, *, report_item_failures: bool, tumbling: bool) -> Verdict:
    """Success, partial failure or failure, exactly as Lambda decides it.

    With ``ReportBatchItemFailures``: a null/empty response or an empty/null ``batchItemFailures`` is success; an
    ``itemIdentifier`` that is empty, null, missing (a wrongly named key) or not in the batch fails the whole batch.
    With a tumbling window the response must carry ``state``, or the invocation counts as failed.
    """
    error = invocation.error
    if error is not None:
        return Verdict(Outcome.of_failed(invocation.status),
                       detail=f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}")
    response = invocation.response
    if tumbling and not (isinstance(response, dict) and isinstance(response.get("state"), dict)):
        return Verdict(Outcome.INVALID, detail="with a tumbling window the function must return {'state': {...}}")
    if not report_item_failures or not isinstance(response, dict):
        return Verdict(Outcome.OK)
    failures = response.get("batchItemFailures")
    if not failures:
        return Verdict(Outcome.OK)
    if not isinstance(failures, list):
        return Verdict(Outcome.INVALID, detail="batchItemFailures must be a list of {'itemIdentifier': ...}")
    where = {r.seq: i for i, r in enumerate(records)}
    first, failed = None, []
    for item in failures:
        if not isinstance(item, dict) or "itemIdentifier" not in item:
            return Verdict(Outcome.INVALID, detail=f"{item!r} has no 'itemIdentifier' key: the whole batch fails")
        ident = item["itemIdentifier"]
        if ident is None or ident == "":
            return Verdict(Outcome.INVALID, detail="an itemIdentifier is empty or null: the whole batch fails")
        try:
            index = where[int(str(ident))]
        except (ValueError, KeyError):
            return Verdict(Outcome.INVALID, detail=f"itemIdentifier {ident!r} is not a sequence number in this batch")
        failed.append(str(ident))
        first = index if first is None else min(first, index)
    return Verdict(Outcome.PARTIAL, first, tuple(failed), f"{len(failed)} of {len(records)} records failed")


class Lane:
    """One ordered sub-sequence of a shard (the whole shard when ParallelizationFactor is 1) and its checkpoint."""

    def __init__(self, shard_id: str, index: int, factor: int):
        self.shard_id = shard_id
        self.name = shard_id if factor == 1 else f"{shard_id}#{index}"
        self.pending: deque = deque()  # read, not yet cut into a batch
        self.queue: deque = deque()  # cut, not yet settled; the head is the batch being tried
        self.skipped: deque = deque()  # filtered-out records the checkpoint has not passed yet
        self.checkpoint: str | None = None
        self.checkpoint_seq = -1
        self.ready_at = 0.0  # retry back-off: not before this simulated time
        self.opened_at: float | None = None  # when the oldest pending record was read (batching window)
        self.window: tuple | None = None  # (start, end) of the open tumbling window
        self.state: dict = {}
        self.stalled = 0  # failed attempts since this lane last moved, in this drain
        self.blocked = False

    def _outstanding(self) -> float:
        for batch in self.queue:
            if batch.records:
                return batch.records[0].seq
        return self.pending[0].seq if self.pending else math.inf

    def settle(self, record=None) -> None:
        """Move the checkpoint past ``record`` and past filtered-out records before the next outstanding one."""
        nxt = self._outstanding()
        while self.skipped and self.skipped[0].seq < nxt:
            skipped = self.skipped.popleft()
            if record is None or skipped.seq > record.seq:
                record = skipped
        if record is not None and record.seq > self.checkpoint_seq:
            self.checkpoint_seq, self.checkpoint = record.seq, record.sequence_number

    def skip(self, record) -> None:
        self.skipped.append(record)
        self.settle()


class Engine:
    """Runs one event source mapping: ``drain()`` polls until nothing is pending (or every busy lane is blocked)."""

    def __init__(self, source, function: InvokeTarget, settings: Settings, keep=None, deliver=None, function_arn: str = ""):
        self.source = source
        self.function = function
        self.settings = settings
        self.keep = keep  # FilterCriteria predicate, or None
        self.deliver = deliver  # sends an on-failure message, or None
        self.function_arn = function_arn
        self.age_limit = settings.age_limit(source.retention_s)
        factor = settings.parallelization_factor
        self.lanes = {shard: [Lane(shard, i, factor) for i in range(factor)] for shard in source.shard_ids()}
        self.round = 0

    # --- reading -------------------------------------------------------------------------------------------------
    @staticmethod
    def _lane_of(lanes: list, record) -> Lane:
        if len(lanes) == 1:
            return lanes[0]
        return lanes[int.from_bytes(hashlib.md5(record.key.encode()).digest()[:8], "big") % len(lanes)]

    def _read(self, caught_up: dict, result: DrainResult) -> None:
        """Read a page from every shard that is not caught up and has a lane (not blocked) short of a full batch.

        A blocked lane does not hold back the others: with ParallelizationFactor > 1 the other partition keys of the
        shard keep flowing while one sub-sequence waits on its failing batch."""
        now = clock.now()
        size = self.settings.batch_size
        for shard, lanes in self.lanes.items():
            if caught_up[shard] or not any(len(lane.pending) < size for lane in lanes if not lane.blocked):
                continue
            records, caught_up[shard] = self.source.read(shard)
            result.records_read += len(records)
            for record in records:
                lane = self._lane_of(lanes, record)
                if self.keep is not None and not self.keep(record):
                    result.filtered += 1
                    lane.skip(record)
                    continue
                if not lane.pending:
                    lane.opened_at = now
                lane.pending.append(record)

    # --- cutting batches -----------------------------------------------------------------------------------------
    def _window_of(self, record) -> tuple:
        size = self.settings.tumbling_window_s
        start = math.floor(record.arrival / size) * size
        return start, start + size

    def _cut(self, lane: Lane) -> tuple[int, bool]:
        """How many pending records the next batch takes, and whether it is complete (full, 6 MB, window edge)."""
        s = self.settings
        size, count = EVENT_OVERHEAD_BYTES, 0
        window = None
        if s.tumbling_window_s:  # the state (up to 1 MB) travels in the same 6 MB payload
            window = self._window_of(lane.pending[0])
            if lane.state:
                size += len(json.dumps(lane.state))
        for record in lane.pending:
            if count == s.batch_size:
                return count, True
            if size + record.size > PAYLOAD_LIMIT_BYTES and count:
                return count, True
            if window and self._window_of(record) != window:
                return count, True
            size += record.size
            count += 1
        return count, count == s.batch_size

    def _window_turns(self, lane: Lane) -> bool:
        return bool(lane.window and lane.pending and self._window_of(lane.pending[0]) != lane.window)

    def _next_time(self, lane: Lane, now: float, close_windows: bool) -> float | None:
        """When the lane next has something to invoke (None: nothing)."""
        if lane.queue:
            return lane.ready_at
        if lane.pending:
            if self._window_turns(lane) or not self.settings.batching_window_s or self._cut(lane)[1]:
                return now
            return lane.opened_at + self.settings.batching_window_s
        if lane.window and (close_windows or now >= lane.window[1]):
            return lane.window[1]
        return None

    def _expired(self, record, now: float) -> bool:
        return now - record.arrival > self.age_limit

    def _take(self, lane: Lane, now: float, result: DrainResult) -> Batch | None:
        """The lane's next batch to invoke, discarding what has grown too old on the way."""
        while True:
            if lane.queue:
                batch = lane.queue[0]
                if batch.records and self._expired(batch.records[0], now):
                    self._discard(lane, batch, "RecordAgeExceeded", now, result)
                    continue
                return batch
            if self._window_turns(lane) or (lane.window and not lane.pending and now >= lane.window[1]):
                lane.queue.append(Batch([], kind=BatchKind.WINDOW_END, final=True))
                continue
            if not lane.pending:
                return None
            expired = self._expired(lane.pending[0], now)
            n = self._count_expired(lane, now) if expired else self._cut(lane)[0]
            batch = Batch([lane.pending.popleft() for _ in range(n)])
            if not lane.pending:
                lane.opened_at = None
            lane.queue.append(batch)
            if expired:  # too old before it was ever tried: discarded without an invocation
                self._discard(lane, batch, "RecordAgeExceeded", now, result)
            elif self.settings.tumbling_window_s and lane.window is None:
                lane.window = self._window_of(batch.records[0])

    def _count_expired(self, lane: Lane, now: float) -> int:
        n = 0
        while n < len(lane.pending) and n < self.settings.batch_size and self._expired(lane.pending[n], now):
            n += 1
        return n

    def _event(self, lane: Lane, batch: Batch) -> dict:
        event = {"Records": [r.event for r in batch.records]}
        if self.settings.tumbling_window_s:
            start, end = lane.window
            event.update(window={"start": iso(start, millis=False), "end": iso(end, millis=False)},
                         state=lane.state, shardId=lane.shard_id, eventSourceARN=self.source.arn,
                         isFinalInvokeForWindow=batch.final, isWindowTerminatedEarly=batch.early)
        return event

    # --- the loop ------------------------------------------------------------------------------------------------
    def drain(self, block_after: int = 10, close_windows: bool = True, max_invocations: int = 10_000) -> DrainResult:
        """Poll, invoke and settle until nothing is pending; see ``StreamMapping.drain`` for the parameters."""
        result = DrainResult()
        for lane in self.all_lanes():
            lane.stalled, lane.blocked = 0, False
        caught_up = dict.fromkeys(self.lanes, False)
        polled_again = False
        while True:
            self._read(caught_up, result)
            now = clock.now()
            ready, waits = [], []
            for lane in self.all_lanes():
                when = None if lane.blocked else self._next_time(lane, now, close_windows)
                if when is not None and when <= now:
                    ready.append(lane)
                elif when is not None:
                    waits.append(when)
            if ready:
                work = [(lane, batch) for lane in ready if (batch := self._take(lane, now, result)) is not None]
                if work:
                    self._invoke(work, result, block_after)
                    polled_again = False
                    if len(result.batches) >= max_invocations:
                        result.note = (f"stopped after max_invocations={max_invocations}: records keep arriving "
                                       "(does the function write to its own stream?)")
                        break
                continue
            if waits:
                clock.advance(max(0.0, min(waits) - now))
                continue
            if not polled_again:  # one last look at every shard before calling it drained
                caught_up = dict.fromkeys(self.lanes, False)
                polled_again = True
                continue
            break
        self._finish(result)
        return result

    def all_lanes(self):
        for lanes in self.lanes.values():
            yield from lanes

    def checkpoints(self) -> dict:
        """Lane name -> the sequence number every one of its records is settled up to (None: nothing yet)."""
        return {lane.name: lane.checkpoint for lane in self.all_lanes()}

    def _invoke(self, work: list, result: DrainResult, block_after: int) -> None:
        self.round += 1
        events = [self._event(lane, batch) for lane, batch in work]
        if len(events) == 1:
            invocations = [self.function.invoke(events[0])]
        else:
            invocations = self.function.invoke_concurrently(events)
        now = clock.now()
        result.peak_concurrency = max(result.peak_concurrency, len(work))
        for (lane, batch), invocation in zip(work, invocations):
            batch.invokes += 1
            self._settle(lane, batch, invocation, now, result, block_after)

    def _settle(self, lane: Lane, batch: Batch, invocation, now: float, result: DrainResult, block_after: int):
        s = self.settings
        verdict = judge(invocation, batch.records, report_item_failures=s.report_item_failures,
                        tumbling=bool(s.tumbling_window_s))
        result.batches.append(BatchAttempt(
            round=self.round, at=now, shard_id=lane.shard_id, lane=lane.name, records=batch.records, kind=batch.kind,
            attempt=batch.invokes, outcome=verdict.outcome, detail=verdict.detail, failed=verdict.failed,
            processed={Outcome.OK: len(batch.records), Outcome.PARTIAL: verdict.first_failed}.get(verdict.outcome, 0),
            invocation=invocation, window=lane.window))
        batch.request_id = invocation.request_id
        batch.function_error = invocation.error is not None
        batch.detail = verdict.detail
        if verdict.outcome in (Outcome.OK, Outcome.PARTIAL) and s.tumbling_window_s:
            self._keep_state(lane, batch, invocation.response["state"], result)
        if verdict.outcome == Outcome.OK:
            lane.queue.popleft()
            lane.stalled = 0
            lane.settle(batch.records[-1] if batch.records else None)
            result.processed += len(batch.records)
        elif verdict.outcome == Outcome.PARTIAL:
            done, rest = batch.records[:verdict.first_failed], batch.records[verdict.first_failed:]
            retry = Batch(rest, BatchKind.PARTIAL_RETRY, batch.retries, batch.invokes, request_id=batch.request_id,
                          detail=verdict.detail)
            lane.queue[0] = retry
            if done:
                lane.stalled = 0
                lane.settle(done[-1])
                result.processed += len(done)
            self._retry_or_discard(lane, retry, now, result, block_after)
        elif s.bisect and len(batch.records) > 1:
            middle = len(batch.records) // 2
            halves = [Batch(part, BatchKind.BISECT, batch.retries, batch.invokes, request_id=batch.request_id,
                            function_error=batch.function_error, detail=batch.detail)
                      for part in (batch.records[:middle], batch.records[middle:])]
            lane.queue.popleft()
            lane.queue.extendleft(reversed(halves))
            result.bisections += 1
        else:
            batch.kind = BatchKind.RETRY
            self._retry_or_discard(lane, batch, now, result, block_after)

    def _keep_state(self, lane: Lane, batch: Batch, state: dict, result: DrainResult) -> None:
        """Carry tumbling-window state to the next invocation; close the window after its final invocation."""
        if batch.final:
            result.windows.append(WindowResult(lane.name, lane.window[0], lane.window[1], state, batch.early))
            lane.state = {}
            if not batch.early:
                lane.window = None
            return
        lane.state = state
        if len(json.dumps(state)) > STATE_LIMIT_BYTES:  # Lambda ends the window early; it goes on with fresh state
            lane.queue.insert(1, Batch([], kind=BatchKind.WINDOW_END, final=True, early=True))

    def _retry_or_discard(self, lane: Lane, batch: Batch, now: float, result: DrainResult, block_after: int):
        s = self.settings
        if s.max_retries != -1 and batch.retries >= s.max_retries:
            self._discard(lane, batch, "RetryAttemptsExhausted", now, result)
            return
        batch.retries += 1
        lane.ready_at = now + backoff_s(batch.retries)
        lane.stalled += 1
        if lane.stalled >= block_after:
            lane.blocked = True
            first = batch.records[0] if batch.records else None
            result.blocked[lane.name] = Blocked(
                shard_id=lane.shard_id, lane=lane.name, records=batch.records, attempts=batch.invokes,
                detail=batch.detail, expires_at=first.arrival + self.age_limit if first else None,
                retries_left=None if s.max_retries == -1 else s.max_retries - batch.retries + 1)

    def _discard(self, lane: Lane, batch: Batch, condition: str, now: float, result: DrainResult) -> None:
        """Give up on the head batch: its metadata goes to the on-failure destination, the checkpoint moves on."""
        assert lane.queue[0] is batch
        lane.queue.popleft()
        lane.stalled = 0
        lane.ready_at = 0.0
        if batch.final:
            result.windows.append(WindowResult(lane.name, lane.window[0], lane.window[1], lane.state, batch.early,
                                               discarded=True))
            lane.state = {}
            lane.window = None if not batch.early else lane.window
            return
        message = failure_message(
            self.source.kind, function_arn=self.function_arn, stream_arn=self.source.arn, shard_id=lane.shard_id,
            records=batch.records, condition=condition, invoke_count=batch.invokes, request_id=batch.request_id,
            function_error=batch.function_error, now=now)
        if self.deliver is not None:
            self.deliver(message)
        lane.settle(batch.records[-1])
        result.discarded.append(Discarded(
            round=self.round, at=now, shard_id=lane.shard_id, lane=lane.name, records=batch.records,
            condition=condition, attempts=batch.invokes, detail=batch.detail, message=message,
            destination=self.deliver.arn if self.deliver else None))

    def _finish(self, result: DrainResult) -> None:
        result.checkpoints = self.checkpoints()
        result.pending = {lane.name: len(lane.pending) + sum(len(b.records) for b in lane.queue)
                          for lane in self.all_lanes()}
        result.rounds = self.round
