"""A local AWS Lambda runtime that behaves like Lambda, so the course can run real handlers without AWS or Docker.

- Each **execution environment** is its own worker process (``lambdalab._worker``): module-level code runs once per
  environment (the cold start, reported as Init Duration); globals and the environment's temporary directory (what
  ``tempfile`` hands out; Lambda's ``/tmp``) survive warm invocations of that environment and nothing else.
- Handlers reach the emulated AWS services through ``AWS_ENDPOINT_URL``, as any Lambda code pointed at LocalStack
  would; they import nothing from the course.
- Every invocation returns an ``Invocation`` with the response or Lambda's error shape, the logs (START / END /
  REPORT), and the numbers of the REPORT line. The logs are also delivered to CloudWatch Logs
  (``/aws/lambda/<name>``), in batches, before anyone reads them.
- Each invocation's worker gets the CPU Lambda gives its memory size, memory / 1,769 of a vCPU (``cpu_share``), so
  Duration, Billed Duration and timeouts are what Lambda would report on a CPU like this one; INIT is not throttled.
- Timeouts stop the handler (``Task timed out after 3.00 seconds``); exceeding the memory size kills it
  (``Runtime exited with error: signal: killed``); either way the environment is discarded.

``debug_invoke`` runs the handler in this kernel instead, so ``breakpoint()`` works; it cannot isolate state or
measure memory and does not enforce the timeout.
"""
from __future__ import annotations

import collections
import contextlib
import inspect
import io
import json
import math
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import Protocol

from . import _worker, aws, cpu_share, payloads
from ._worker import exit_error, lambda_error, log_line, platform_error, runtime_exited
from .cloudwatch_logs import flush_logs, shipper  # noqa: F401 (flush_logs: public here, as it always was)

MEMORY_RANGE_MB = (128, 10_240)
TIMEOUT_RANGE_S = (1, 900)
INIT_LIMIT_S = 10.0  # an on-demand environment's INIT phase; past it Lambda retries INIT inside the first invocation
ENVIRONMENT_LIMIT_BYTES = 4 * 1024
PAYLOAD_LIMIT_BYTES = payloads.SYNC_LIMIT_BYTES
RUNTIME_NAME = "python3.11"
DEFAULT_ROLE = "lambdalab-execution-role"  # not enforced; give a role from security.create_role to enforce one
RESERVED_VARIABLES = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_VARIABLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]+$")  # Lambda's pattern: a letter, then at least one more
_SIGNAL_WORDS = {signal.SIGKILL: "killed", signal.SIGSEGV: "segmentation fault", signal.SIGABRT: "aborted",
                 signal.SIGTERM: "terminated"}  # as Lambda's Go runtime manager writes them
_POLL_S = 0.005  # how often a running invocation's memory and deadline are checked
# Where /proc exists (Linux) this process reads each worker's peak memory itself; elsewhere (macOS) each worker
# watches its own peak and kills itself when it goes over its memory size, as Lambda would.
_WATCH_FROM_OUTSIDE = _worker.vm_hwm_kb(os.getpid()) is not None
_peak_kb_of = _worker.vm_hwm_kb  # a worker's peak memory, read from outside


class LambdaConfigError(ValueError):
    """A function configuration Lambda would refuse; the message says what to change."""


class StateName(StrEnum):
    """A state's name that other modules compare: equal to its text ("ok" == Status.OK), shown as that text."""

    __repr__ = str.__repr__


class Status(StateName):
    """How an invocation ended."""

    OK = "ok"
    ERROR = "error"  # the handler raised, or its response could not be returned
    TIMEOUT = "timeout"
    KILLED = "killed"  # by a signal: over its memory size, or a crash


@dataclass
class Invocation:
    """What one invocation did: the response or error, the logs and the REPORT line's numbers."""

    function_name: str
    request_id: str
    response: object = None
    error: dict | None = None
    logs: str = ""
    duration_ms: float = 0.0
    billed_duration_ms: int = 0
    memory_size_mb: int = 128
    max_memory_used_mb: int | None = None
    init_duration_ms: float | None = None
    cold_start: bool = False
    status: Status = Status.OK
    modelled: bool = False  # Duration computed from measured CPU time, not throttled for real (see cpu_share)
    report: str = field(default="", repr=False)

    def __post_init__(self):
        self.status = Status(self.status)

    @property
    def ok(self) -> bool:
        return self.error is None

    def __str__(self):
        return self.logs

    def _repr_html_(self):
        from html import escape

        colour = "#1b7f3b" if self.ok else "#b3261e"
        body = json.dumps(self.response if self.ok else self.error, indent=2, default=str)
        if len(body) > 2000:
            body = body[:2000] + "\n..."
        return (f"<div><b style='color:{colour}'>{escape(self.function_name)}: {self.status}</b>"
                f"{' (cold start)' if self.cold_start else ''}<pre>{escape(body)}</pre>"
                f"<pre style='color:#555'>{escape(self.report)}</pre></div>")


@dataclass(frozen=True)
class _Outcome:
    """How an invocation ended, before its END and REPORT lines are written."""

    status: str  # ok | error | timeout | killed
    duration_ms: float
    response_json: str | None = None
    error: dict | None = None
    report_status: str | None = None  # REPORT's Status field, for errors of the platform (timeout, exit, init)


class InvokeTarget(Protocol):
    """What an event source (``lambdalab.triggers``) needs from a function; ``LambdaFunction`` is one.

    Triggers call only these members, and read back ``Invocation`` objects (``ok``, ``response``, ``error``,
    ``status``, ``request_id``, ``duration_ms``): a member renamed here fails in ``check_invoke_target``.
    """

    name: str

    @property
    def arn(self) -> str: ...

    @property
    def role_arn(self) -> str: ...

    def invoke(self, event=None, *, request_id: str | None = None) -> Invocation: ...

    def invoke_concurrently(self, events) -> list[Invocation]: ...


INVOKE_TARGET_MEMBERS = (*InvokeTarget.__annotations__, *(n for n in vars(InvokeTarget) if not n.startswith("_")))


def check_invoke_target(function) -> InvokeTarget:
    """``function`` itself, if it has every member of ``InvokeTarget``; a TypeError that says what to do if not."""
    missing = [name for name in INVOKE_TARGET_MEMBERS if inspect.getattr_static(function, name, None) is None]
    if missing:
        raise TypeError(f"function must be a lambdalab.runtime.LambdaFunction, not {type(function).__name__} "
                        f"(it has no {', '.join(missing)}): create one with LambdaFunction(name, handler, ...).")
    return function


def report_line(request_id, duration_ms, billed_ms, memory_mb, max_used_mb, init_ms=None, status=None,
                error_type=None) -> str:
    """Lambda's REPORT line, tab-separated as in CloudWatch Logs."""
    used = "n/a" if max_used_mb is None else f"{max_used_mb} MB"
    parts = [f"REPORT RequestId: {request_id}", f"Duration: {duration_ms:.2f} ms", f"Billed Duration: {billed_ms} ms",
             f"Memory Size: {memory_mb} MB", f"Max Memory Used: {used}"]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    if status:
        parts.append(f"Status: {status}")
    if error_type:
        parts.append(f"Error Type: {error_type}")
    return "\t".join(parts) + "\t"


def billed_duration(duration_ms: float, init_ms: float | None = None) -> int:
    """Billed Duration: rounded up to the next 1 ms; on a cold start the INIT phase is billed too (since Aug 2025 for
    on-demand .zip functions on managed runtimes, such as the course's Python functions)."""
    total = round(duration_ms, 2) + (round(init_ms, 2) if init_ms else 0.0)
    return max(1, math.ceil(round(total, 2)))


# --- execution environments --------------------------------------------------------------------------------------

class _ExecutionEnvironment:
    """One worker process with its own temp directory and log stream."""

    def __init__(self, function: "LambdaFunction"):
        self.function = function
        self.id = uuid.uuid4().hex
        self.log_stream = f"{datetime.now(timezone.utc):%Y/%m/%d}/[$LATEST]{self.id}"
        self.root = tempfile.mkdtemp(prefix=f"lambdalab-{function.name}-")
        self.tmp = os.path.join(self.root, "tmp")
        os.mkdir(self.tmp)
        self._log_path = os.path.join(self.root, "runtime.log")
        self.peak_kb = 0
        self.invocations = 0
        self.generation = function._generation
        self.process = None
        self.self_watching = False  # True where the worker enforces its memory size itself (no /proc)
        self.init_status = "error"
        self.init_timed_out = False
        self._finalizer = weakref.finalize(self, _discard, None, self.root)

    def start(self, limit_s: float | None = None) -> tuple[float, dict | None, str]:
        """Start the worker and load the handler: returns (init ms, error or None, what init printed). When INIT
        takes longer than ``limit_s`` the worker is stopped and ``init_timed_out`` is set (the error is None)."""
        role = _role_settings(self.function, self.id)  # checked before anything starts: a bad role starts nothing
        started = time.perf_counter()
        with open(self._log_path, "wb") as log_for_worker:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "lambdalab._worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log_for_worker, env=self.function._process_environment(self.tmp, self.log_stream), cwd=self.function._task_root,
                start_new_session=True)
        self._log = open(self._log_path, "rb")  # our own read position in what the worker writes
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _discard, self.process, self.root)
        limit_kb = self.function.memory_mb * 1024
        self.self_watching = not _WATCH_FROM_OUTSIDE
        _worker.send(self.process.stdin, {"handler": self.function._handler_spec,
                                          "watch_kb": limit_kb if self.self_watching else None, "security": role})
        # Lambda limits INIT (10 s), and module-level code counts against the memory size like the handler does.
        reply, status = self._wait(INIT_LIMIT_S if limit_s is None else limit_s, limit_kb=limit_kb)
        init_ms = (time.perf_counter() - started) * 1000
        self.init_status = "error"
        self.init_timed_out = reply is None and status == "timeout"
        if self.init_timed_out:
            self.process.kill()
            self.process.wait()
            return init_ms, None, self._read_output()
        if reply is None:
            status, how = self._exit_reason(status)
            self.init_status = status
            return init_ms, lambda_error("Runtime.ExitError", runtime_exited(how), "", []), self._read_output()
        self.peak_kb = max(self.peak_kb, reply["peak_kb"])
        return init_ms, reply["error"], self._read_output()

    def _exit_reason(self, status: str) -> tuple[str, str]:
        """For a worker that is gone ("exited") or was killed over its memory size ("killed"): the Invocation status
        and how Lambda words it ("signal: killed", "exit status 3")."""
        if status == "killed":
            return "killed", "signal: killed"
        code = self.process.wait()
        if code < 0 and -code == signal.SIGKILL and self.self_watching:
            # the worker killed itself over its memory size: its last peak was above the limit
            self.peak_kb = max(self.peak_kb, self.function.memory_mb * 1024 + 1)
        if code < 0:
            return "killed", f"signal: {_SIGNAL_WORDS.get(-code, signal.Signals(-code).name)}"
        return "error", f"exit status {code}"

    def invoke(self, event_json: str, request_id: str, timeout_s: float) -> tuple[dict | None, str, str]:
        """Run one invocation: returns (reply or None, status, output)."""
        deadline_ms = int(time.time() * 1000 + timeout_s * 1000)
        try:
            _worker.send(self.process.stdin, {"event": event_json, "request_id": request_id,
                                               "deadline_ms": deadline_ms, "arn": self.function.arn})
        except (BrokenPipeError, ConnectionResetError):  # the worker died while it was idle
            self.elapsed_ms = 0.0
            return None, "exited", self._read_output()
        share = cpu_share.CpuShare(self.process.pid, self.function.memory_mb)  # memory/1,769 of a vCPU
        reply, status = self._wait(timeout_s, limit_kb=self.function.memory_mb * 1024, share=share)
        self.elapsed_ms, self.modelled = share.elapsed_s() * 1000, share.modelled
        self.invocations += 1
        if reply is not None:
            reply["duration_ms"] = share.duration_ms(reply)
            self.peak_kb = max(self.peak_kb, reply["peak_kb"])
            if self.peak_kb > self.function.memory_mb * 1024:
                status = "killed"  # it went over while we were not looking: Lambda would have killed it
            elif reply["duration_ms"] > timeout_s * 1000:
                status = "timeout"  # at its CPU share it would not have finished in time (see cpu_share)
        return reply, status, self._read_output()

    def _wait(self, timeout_s: float, limit_kb: int | None = None, share=None):
        share = share or cpu_share.Unlimited()
        try:
            return self._poll(timeout_s, limit_kb, share)
        finally:
            share.release()

    def _poll(self, timeout_s, limit_kb, share):
        stdout = self.process.stdout
        while True:
            share.poll()
            remaining = timeout_s - share.elapsed_s()
            if remaining <= 0:
                return None, "timeout"
            ready, _, _ = select.select([stdout], [], [], min(_POLL_S, remaining))
            if ready:
                reply = _worker.receive(stdout)
                return (reply, "ok") if reply is not None else (None, "exited")
            if limit_kb is not None:
                peak = _peak_kb_of(self.process.pid)
                if peak is not None:
                    self.peak_kb = max(self.peak_kb, peak)
                    if peak > limit_kb:
                        self.process.kill()
                        return None, "killed"
            if self.process.poll() is not None:
                return None, "exited"

    def _read_output(self) -> str:
        return self._log.read().decode("utf-8", errors="replace")

    def discard(self) -> None:
        self._finalizer()
        if getattr(self, "_log", None):
            self._log.close()


def _role_settings(function, environment_id):
    """What the worker needs to run the handler's AWS calls under the function's role (lambdalab.security); None
    for the default role, which is not enforced."""
    if function.role == DEFAULT_ROLE:
        return None
    from .security import enforcement

    return enforcement.worker_settings(function, environment_id)


def _discard(process, root):
    if process is not None:
        # The whole process group, even when the worker itself has already exited (sys.exit, a crash): whatever the
        # handler started (a subprocess, a forked helper) goes with its environment, as on Lambda.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for stream in (process.stdin, process.stdout):
            with contextlib.suppress(Exception):
                stream.close()
    shutil.rmtree(root, ignore_errors=True)


# --- the function ------------------------------------------------------------------------------------------------

class LambdaFunction:
    """A Lambda function: its configuration and its execution environments.

    ``handler`` is a dotted path (``"lambdalab.handlers.thumbnail.handler"``, like Lambda's ``module.function``) or a
    Python callable, including one defined in a notebook cell.
    """

    def __init__(self, name: str, handler, memory_mb: int = 128, timeout_s: float = 3, environment: dict | None = None,
                 role: str | None = None):
        self._lock = threading.Lock()
        self._idle: list[_ExecutionEnvironment] = []
        self._busy: set = set()
        self._generation = 0
        self.name = _check_name(name)
        self._configure(handler, memory_mb, timeout_s, environment, role)
        self.invocations: collections.deque[Invocation] = collections.deque(maxlen=1000)  # the most recent

    # configuration ---------------------------------------------------------------------------------------------
    def _configure(self, handler, memory_mb, timeout_s, environment, role):
        # Check everything before changing anything: a refused update() leaves the function as it was.
        memory_mb, timeout_s = _check_memory(memory_mb), _check_timeout(timeout_s)
        environment = _check_environment(environment)
        handler_parts = _check_handler(handler)
        self.memory_mb, self.timeout_s, self.environment = memory_mb, timeout_s, environment
        self.handler, self._handler_spec, self.handler_name = handler_parts
        self.role = role or DEFAULT_ROLE
        self._task_root = os.getcwd()

    def update(self, **changes) -> "LambdaFunction":
        """Change the configuration (handler, memory_mb, timeout_s, environment, role). Like Lambda, the next
        invocation starts in a fresh environment (a cold start)."""
        allowed = {"handler", "memory_mb", "timeout_s", "environment", "role"}
        unknown = set(changes) - allowed
        if unknown:
            raise TypeError(f"update() got unknown settings {sorted(unknown)}; it accepts {sorted(allowed)}")
        current = {"handler": self.handler, "memory_mb": self.memory_mb, "timeout_s": self.timeout_s,
                   "environment": self.environment, "role": self.role}
        current.update(changes)
        self._configure(**current)
        self._generation += 1
        self.shutdown()
        return self

    @property
    def arn(self) -> str:
        b = aws.backend()
        return f"arn:aws:lambda:{b.region}:{b.account_id}:function:{self.name}"

    @property
    def role_arn(self) -> str:
        if self.role.startswith("arn:"):
            return self.role
        return f"arn:aws:iam::{aws.backend().account_id}:role/{self.role}"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"

    @property
    def environments(self) -> int:
        """How many execution environments are alive (idle or busy)."""
        return len(self._idle) + len(self._busy)

    def __repr__(self):
        return (f"LambdaFunction({self.name!r}, handler={self.handler_name!r}, memory_mb={self.memory_mb}, "
                f"timeout_s={self.timeout_s}, environments={self.environments})")

    def _process_environment(self, tmp: str, log_stream: str) -> dict:
        """The worker's whole environment: Lambda's reserved variables, the function's own, nothing of the kernel's."""
        backend = aws.worker_environment()
        variables = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8", "TZ": ":UTC", "PYTHONUNBUFFERED": "1", "PYTHONNOUSERSITE": "1",
            "PYTHONPATH": os.pathsep.join([self._task_root] + [p for p in sys.path if p]),
            "TMPDIR": tmp, "HOME": tmp,
            "LAMBDA_TASK_ROOT": self._task_root, "LAMBDA_RUNTIME_DIR": os.path.dirname(_worker.__file__),
            "_HANDLER": self.handler_name,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{RUNTIME_NAME}",
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": self.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        }
        for key in ("LD_LIBRARY_PATH", "SYSTEMROOT"):
            if key in os.environ:
                variables[key] = os.environ[key]
        variables.update(backend)
        variables.update(self.environment)
        return variables

    # invocation ------------------------------------------------------------------------------------------------
    def invoke(self, event=None, *, request_id: str | None = None) -> Invocation:
        """Invoke synchronously (RequestResponse) with a JSON-serialisable ``event``; returns an ``Invocation``.

        ``request_id`` is for event sources that retry: Lambda keeps an asynchronous event's request ID across its
        retries. By default each invocation gets a new one.
        """
        payload = payloads.event_json(event)  # refuse bad input before an environment is taken
        return self._invoke_in(*self._acquire(), payload, request_id)

    def invoke_concurrently(self, events) -> list[Invocation]:
        """Invoke once per event, all at the same time, each in its own environment; results in event order.

        This is what Lambda does when several batches (shards, ParallelizationFactor) arrive at once: concurrency
        rises, and every extra concurrent invocation needs an environment of its own (a cold start if none is idle).
        """
        events_json = [payloads.event_json(event) for event in events]  # refuse bad input before anything runs
        slots = [self._acquire() for _ in events_json]
        if len(events_json) == 1:
            return [self._invoke_in(*slots[0], events_json[0])]
        with ThreadPoolExecutor(max_workers=max(1, len(events_json))) as pool:
            return list(pool.map(lambda slot, payload: self._invoke_in(*slot, payload), slots, events_json))

    def _invoke_in(self, environment, cold, event_json, request_id=None) -> Invocation:
        keep = False
        try:
            invocation, keep = self._run(environment, cold, event_json, request_id or str(uuid.uuid4()))
        finally:
            self._release(environment, keep)
        self.invocations.append(invocation)
        return invocation

    def _acquire(self) -> tuple[_ExecutionEnvironment, bool]:
        dead = []
        try:
            with self._lock:
                while self._idle:
                    environment = self._idle.pop()
                    if environment.process.poll() is not None:  # it died while idle: Lambda would not use it
                        dead.append(environment)
                        continue
                    self._busy.add(environment)
                    return environment, False
                environment = _ExecutionEnvironment(self)
                self._busy.add(environment)
                return environment, True
        finally:
            for environment in dead:
                environment.discard()

    def _release(self, environment, keep: bool):
        """Back to the idle pool if it is healthy and still configured as the function is; otherwise discarded."""
        with self._lock:
            self._busy.discard(environment)
            if keep and environment.generation == self._generation and environment.process.poll() is None:
                self._idle.append(environment)
                return
        environment.discard()

    def _run(self, environment: _ExecutionEnvironment, cold: bool, event_json: str,
             request_id: str) -> tuple[Invocation, bool]:
        """One invocation in ``environment``; returns it and whether the environment may be reused."""
        lines = []
        init_ms = None

        def finish(outcome: _Outcome) -> Invocation:
            invocation = self._finish(outcome, request_id=request_id, lines=lines, init_ms=init_ms,
                                      peak_kb=environment.peak_kb, log_stream=environment.log_stream, cold=cold)
            invocation.modelled = getattr(environment, "modelled", False)  # Duration from the model (cpu_share)
            return invocation

        start_line = f"START RequestId: {request_id} Version: $LATEST"
        init_in_invoke_ms = 0.0  # INIT that ran inside this invocation (after INIT timed out): part of Duration
        if cold:
            init_ms, init_error, output = environment.start()
            lines += _split(output)
            if environment.init_timed_out:
                # Lambda reports the timed-out INIT, then retries it at the first invocation, under the function's
                # timeout; the REPORT line then has no Init Duration and its Duration includes the second INIT.
                lines += [f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init\tStatus: timeout", start_line]
                init_ms = None
                init_in_invoke_ms, init_error, output = environment.start(limit_s=self.timeout_s)
                lines += _split(output)
                if environment.init_timed_out:
                    return self._timed_out(finish, lines, request_id), False
                if init_error is not None:
                    return finish(_Outcome(environment.init_status, init_in_invoke_ms, error=init_error,
                                           report_status="error")), False
            else:
                lines.append(start_line)
                if init_error is not None:
                    return finish(_Outcome(environment.init_status, 0.0, error=init_error,
                                           report_status="error")), False
        else:
            lines.append(start_line)
        remaining_s = self.timeout_s - init_in_invoke_ms / 1000
        reply, status, output = environment.invoke(event_json, request_id, remaining_s)
        lines += _split(output)
        if status == "ok":
            return finish(_Outcome("error" if reply["error"] else "ok", init_in_invoke_ms + reply["duration_ms"],
                                   response_json=reply.get("response"), error=reply["error"])), True
        if status == "timeout":
            return self._timed_out(finish, lines, request_id), False
        duration = init_in_invoke_ms + (reply["duration_ms"] if reply else environment.elapsed_ms)
        # "exited": the handler ended the process itself (sys.exit, os._exit, a crash); "killed": over its memory size
        status, how = environment._exit_reason(status)
        error = exit_error(request_id, how, out_of_memory=environment.peak_kb > self.memory_mb * 1024)
        lines.append(error["errorMessage"])
        return finish(_Outcome(status, duration, error=error, report_status="error")), False

    def _timed_out(self, finish, lines: list, request_id: str) -> Invocation:
        """The invocation ran out of its timeout: Lambda's line, its Sandbox.Timedout error, Duration = the timeout."""
        message = f"Task timed out after {self.timeout_s:.2f} seconds"
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        lines.append(f"{stamp} {request_id} {message}")
        error = platform_error("Sandbox.Timedout", request_id, message)
        return finish(_Outcome("timeout", self.timeout_s * 1000, error=error, report_status="timeout"))

    def _finish(self, outcome: _Outcome, *, request_id: str, lines: list, init_ms: float | None, peak_kb: int,
                log_stream: str, cold: bool | None = None) -> Invocation:
        """Build the Invocation and its END / REPORT lines, and queue the logs for CloudWatch Logs.

        ``peak_kb``: the environment's peak memory (0: not measured, as in ``debug_invoke``)."""
        duration_ms = round(outcome.duration_ms, 2)
        init_ms = round(init_ms, 2) if init_ms is not None else None
        billed = billed_duration(duration_ms, init_ms)
        used = max(1, math.ceil(peak_kb / 1024)) if peak_kb else None
        if used is not None:  # Lambda stops a function at its memory size, so REPORT never shows more
            used = min(used, self.memory_mb)
        status, error, response = outcome.status, outcome.error, None
        if outcome.response_json is not None and error is None:
            error = payloads.response_error(outcome.response_json)
            if error is None:
                response = json.loads(outcome.response_json)
            else:
                status = "error"
        error_type = error["errorType"] if error and outcome.report_status == "error" else None
        report = report_line(request_id, duration_ms, billed, self.memory_mb, used, init_ms, outcome.report_status,
                             error_type)
        lines.append(f"END RequestId: {request_id}")
        lines.append(report)
        shipper.add(self.log_group, log_stream, lines)
        return Invocation(
            function_name=self.name, request_id=request_id, response=response, error=error, logs="\n".join(lines),
            duration_ms=duration_ms, billed_duration_ms=billed, memory_size_mb=self.memory_mb,
            max_memory_used_mb=used, init_duration_ms=init_ms,
            cold_start=init_ms is not None if cold is None else cold, status=status, report=report)

    def debug_invoke(self, event=None) -> Invocation:
        """Run the handler in this kernel, so ``breakpoint()`` and debuggers work.

        What it cannot do: isolate state (module-level code runs once per kernel, not per environment), measure
        memory (Max Memory Used is n/a), enforce the timeout, or keep the handler's environment variables from the
        kernel for the duration of the call.
        """
        payload = payloads.event_json(event)
        request_id = str(uuid.uuid4())
        handler = self.handler if callable(self.handler) else _worker.load_handler(self._handler_spec)
        variables = {k: v for k, v in self._process_environment(tempfile.gettempdir(), "debug").items()
                     if k not in ("PATH", "PYTHONPATH", "HOME", "TMPDIR", "PYTHONNOUSERSITE")}
        buffer = io.StringIO()
        with temporary_environ(variables), contextlib.redirect_stdout(buffer):
            context = _worker.LambdaContext(request_id, int(time.time() * 1000 + self.timeout_s * 1000), self.arn)
            started = time.perf_counter()
            try:
                result = handler(json.loads(payload), context)
                response_json, error = _worker.encode_response(result, request_id)
            except Exception as exc:
                error, response_json = _worker.error_shape(exc, request_id, skip_frames=1), None
            except SystemExit as exc:  # in a worker this ends the environment; here it must not end the kernel
                error, response_json = exit_error(request_id, f"exit status {exc.code or 0}"), None
            duration = (time.perf_counter() - started) * 1000
        lines = [f"START RequestId: {request_id} Version: $LATEST", *_split(buffer.getvalue())]
        if error:
            lines.append(log_line(error))
        return self._finish(_Outcome("error" if error else "ok", duration, response_json=response_json, error=error),
                            request_id=request_id, lines=lines, init_ms=None, peak_kb=0, log_stream="debug")

    def shutdown(self) -> None:
        """Discard every idle environment (busy ones finish first and are then discarded)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for environment in idle:
            environment.discard()

    def logs(self, limit: int = 50) -> str:
        """The function's most recent log lines, read back from CloudWatch Logs."""
        client = aws.client("logs")
        try:
            events = client.filter_log_events(logGroupName=self.log_group, limit=10_000)["events"]
        except client.exceptions.ResourceNotFoundException:
            return ""
        return "\n".join(e["message"] for e in events[-limit:])


@contextlib.contextmanager
def temporary_environ(values: dict):
    """Set environment variables in this process for the duration of the block, then put back what was there."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _split(output: str) -> list[str]:
    return [line for line in output.rstrip("\n").split("\n") if line] if output else []


def _check_name(name) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise LambdaConfigError(f"Function name {name!r} is not valid: use 1-64 letters, digits, hyphens or "
                                "underscores, e.g. 'thumbnail-fn'.")
    return name


def _check_memory(memory_mb) -> int:
    low, high = MEMORY_RANGE_MB
    if isinstance(memory_mb, bool) or not isinstance(memory_mb, int) or not low <= memory_mb <= high:
        raise LambdaConfigError(f"memory_mb={memory_mb!r} is outside what Lambda allows: a whole number of MB from "
                                f"{low:,} to {high:,} (in 1 MB steps). Try memory_mb=128.")
    return memory_mb


def _check_timeout(timeout_s) -> int:
    low, high = TIMEOUT_RANGE_S
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int) or not low <= timeout_s <= high:
        raise LambdaConfigError(f"timeout_s={timeout_s!r} is outside what Lambda allows: a whole number of seconds "
                                f"from {low} to {high} (15 minutes). The default is 3.")
    return timeout_s


def _check_environment(environment) -> dict:
    environment = dict(environment or {})
    for key, value in environment.items():
        if not isinstance(key, str) or not _VARIABLE.match(key):
            raise LambdaConfigError(f"Environment variable name {key!r} is not valid: start with a letter, then "
                                    "at least one more letter, digit or underscore.")
        if not isinstance(value, str):
            raise LambdaConfigError(f"Environment variable {key} must be a string, not {type(value).__name__}: "
                                    f"write {key}={str(value)!r}.")
    reserved = sorted(set(environment) & RESERVED_VARIABLES)
    if reserved:
        raise LambdaConfigError(f"Reserved keys used: {', '.join(reserved)}. Lambda sets these itself; choose other "
                                "names for your configuration.")
    size = len(json.dumps(environment, separators=(",", ":")).encode())
    if size > ENVIRONMENT_LIMIT_BYTES:
        raise LambdaConfigError(f"The environment variables take {size:,} bytes; Lambda allows 4 KB "
                                f"({ENVIRONMENT_LIMIT_BYTES:,} bytes) in all. Keep large configuration in S3, "
                                "Parameter Store or Secrets Manager and read it at init.")
    return environment


def _check_handler(handler):
    """Returns (handler as given, what the worker loads, the _HANDLER name)."""
    if isinstance(handler, str):
        module, _, attribute = handler.rpartition(".")
        if not module or not attribute:
            raise LambdaConfigError(f"Handler {handler!r} must be 'module.function', e.g. "
                                    "'lambdalab.handlers.thumbnail.handler'.")
        import importlib.util

        try:
            found = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            found = None
        if found is None:
            raise LambdaConfigError(f"Handler {handler!r}: no module named {module!r} can be imported. Check the "
                                    "spelling, or put the module in the notebook's folder.")
        return handler, (module, attribute), handler
    if not callable(handler):
        raise LambdaConfigError(f"The handler must be a function(event, context) or a 'module.function' string, "
                                f"not a {type(handler).__name__}.")
    module_name = getattr(handler, "__module__", None)
    qualname = getattr(handler, "__qualname__", getattr(handler, "__name__", "handler"))
    if module_name and module_name != "__main__" and "<" not in qualname and "." not in qualname:
        module = sys.modules.get(module_name)
        if module is not None and getattr(module, qualname, None) is handler and getattr(module, "__file__", None):
            name = f"{module_name}.{qualname}"
            return handler, (module_name, qualname), name
    import pickle

    import cloudpickle

    try:
        shipped = cloudpickle.dumps(handler)
        pickle.loads(shipped)
    except Exception as exc:
        raise LambdaConfigError(
            f"The handler {qualname!r} cannot be sent to an execution environment ({exc}). It probably uses an "
            "object from the notebook that cannot be copied, such as a boto3 client: create clients inside the "
            "handler (or at the top of a .py module) instead.") from None
    return handler, shipped, f"{module_name or '__main__'}.{qualname}"
