"""One Lambda execution environment: a process that loads a handler once and then serves invocations.

Started by ``lambdalab.runtime`` as ``python -m lambdalab._worker``. Standard library only (plus cloudpickle when the
handler was defined in a notebook), so the environment's memory and import time belong to the handler, as on Lambda.

Protocol: length-prefixed pickles over the process's original stdin/stdout. File descriptors 1 and 2 are pointed at
the environment's log file first, so whatever the handler prints (Python or C level) lands in its logs, never in the
protocol stream.
"""
import decimal
import importlib
import json
import logging
import os
import pickle
import signal
import struct
import sys
import threading
import time
import traceback

from lambdalab import cpu_share

_HEADER = struct.Struct("!I")


def send(stream, message) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream):
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    return pickle.loads(stream.read(size))


def vm_hwm_kb(pid="self") -> int | None:
    """A process's high-water mark of resident memory (VmHWM) from /proc, in KiB; None where there is no /proc."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_memory_kb() -> int:
    """This process's own high-water mark of resident memory, in KiB: VmHWM, or ru_maxrss where there is no /proc.

    Not ``ru_maxrss`` first: on Linux a child started by fork+exec inherits its parent's peak there.
    """
    peak = vm_hwm_kb()
    if peak is not None:
        return peak
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


class CognitoIdentity:
    """``context.identity``: who called through the AWS Mobile SDK with Amazon Cognito; both None otherwise."""

    cognito_identity_id = None
    cognito_identity_pool_id = None


class LambdaContext:
    """The ``context`` argument, with the attributes and method of Lambda's Python runtime."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_function_arn: str):
        env = os.environ
        self.aws_request_id = request_id
        self.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = env["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]  # a string, as on Lambda
        self.log_group_name = env["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = CognitoIdentity()
        self.client_context = None
        self._deadline_ms = deadline_ms
        self._delay_at_start = cpu_share.run_delay_s()

    def get_remaining_time_in_millis(self) -> int:
        # time this machine's other programs kept the handler from a CPU is not the function's time (cpu_share)
        waited_ms = int((cpu_share.run_delay_s() - self._delay_at_start) * 1000)
        return max(0, self._deadline_ms - int(time.time() * 1000) + waited_ms)

    def __repr__(self):
        return f"LambdaContext(function_name={self.function_name!r}, aws_request_id={self.aws_request_id!r})"


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record):
        record.aws_request_id = self.request_id
        return True


def _install_lambda_logging() -> _RequestIdFilter:
    """Format root-logger output the way Lambda's Python runtime does: [LEVEL] time request-id message."""
    request_filter = _RequestIdFilter()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"))
    handler.formatter.converter = time.gmtime
    handler.addFilter(request_filter)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "WARNING"))
    return request_filter


# --- Lambda's error shapes: every error an invocation returns is built here ------------------------------------

def lambda_error(error_type: str, message: str, request_id: str | None = None, stack_trace=None) -> dict:
    """Lambda's error shape: errorMessage and errorType, with requestId and stackTrace where Lambda sends them
    (errors of the runtime and the handler have both; the platform's, such as a timeout, have neither)."""
    error = {"errorMessage": message, "errorType": error_type}
    if request_id is not None:
        error["requestId"] = request_id
    if stack_trace is not None:
        error["stackTrace"] = list(stack_trace)
    return error


def error_shape(exc: BaseException, request_id: str, error_type: str | None = None, skip_frames: int = 1) -> dict:
    """An exception as Lambda reports it: errorMessage, errorType, requestId, stackTrace."""
    frames = traceback.extract_tb(exc.__traceback__)[skip_frames:]
    return lambda_error(error_type or type(exc).__name__, str(exc), request_id, traceback.format_list(frames))


def runtime_exited(how: str) -> str:
    """Lambda's words for an environment that ended: how is "exit status 3", "signal: killed"..."""
    return f"Runtime exited with error: {how}"


def platform_error(error_type: str, request_id: str, message: str) -> dict:
    """An error the platform reports for an invocation (a timeout, an exit): "RequestId: <id> Error: <message>"."""
    return lambda_error(error_type, f"RequestId: {request_id} Error: {message}")


def exit_error(request_id: str, how: str, out_of_memory: bool = False) -> dict:
    """The invocation's error when its environment ended while it ran: Runtime.OutOfMemory when Lambda killed it
    over its memory size (what Lambda reports today; older logs said Runtime.ExitError for that too),
    Runtime.ExitError for sys.exit or a crash."""
    return platform_error("Runtime.OutOfMemory" if out_of_memory else "Runtime.ExitError", request_id,
                          runtime_exited(how))


def marshal_error(exc: Exception, request_id: str) -> dict:
    return lambda_error("Runtime.MarshalError", f"Unable to marshal response: {exc}", request_id, [])


def _json_number(value):
    """What Lambda's Python runtime encodes that ``json`` cannot: a Decimal (how boto3 returns DynamoDB's numbers)
    is written as the number it is, so a handler can return a DynamoDB item as it read it."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value.is_finite() and value.as_tuple().exponent >= 0 else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def encode_response(result, request_id: str) -> tuple[str | None, dict | None]:
    """(the handler's return value as JSON, None), or (None, Runtime.MarshalError) when it is not JSON."""
    try:
        return json.dumps(result, default=_json_number), None
    except (TypeError, ValueError) as exc:
        return None, marshal_error(exc, request_id)


def log_line(error: dict) -> str:
    """The line Lambda's Python runtime logs for an error."""
    return f"[ERROR] {error['errorType']}: {error['errorMessage']}"


def log_error(error: dict) -> None:
    print(log_line(error), flush=True)
    if error["stackTrace"]:
        print("Traceback (most recent call last):\n" + "".join(error["stackTrace"]).rstrip(), flush=True)


def load_handler(spec):
    """Import the handler: a (module, attribute) pair, or a cloudpickled callable from a notebook."""
    if isinstance(spec, bytes):
        return pickle.loads(spec)
    module_name, attribute = spec
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:  # Lambda's runtime names it, with the file, line and code, and no traceback
        raise _InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}",
                         [f'  File "{exc.filename}" Line {exc.lineno}\n    {(exc.text or "").strip()}\n']) from None
    except ImportError as exc:
        raise _InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from None
    handler = getattr(module, attribute, None)
    if handler is None:
        raise _InitError("Runtime.HandlerNotFound", f"Handler '{attribute}' missing on module '{module_name}'")
    if not callable(handler):
        raise _InitError("Runtime.HandlerNotFound",
                         f"Handler '{attribute}' on module '{module_name}' is a {type(handler).__name__}, "
                         "not a function: point the handler at a function(event, context)")
    return handler


class _MemoryWatch:
    """Kills this process (SIGKILL, as Lambda does) when its peak memory goes over ``limit_kb`` while armed.

    Used only where the runtime cannot read this process's memory from outside (no /proc, e.g. macOS).
    """

    POLL_S = 0.005

    def __init__(self, limit_kb):
        self.limit_kb = limit_kb
        self._armed = threading.Event()
        if limit_kb:
            threading.Thread(target=self._run, name="lambdalab-memory-watch", daemon=True).start()

    def arm(self):
        if self.limit_kb:
            self._armed.set()

    def disarm(self):
        self._armed.clear()

    def _run(self):
        while True:
            self._armed.wait()
            if peak_memory_kb() > self.limit_kb:
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(self.POLL_S)


class _InitError(Exception):
    def __init__(self, error_type, message, stack_trace=()):
        super().__init__(message)
        self.error_type, self.stack_trace = error_type, list(stack_trace)


def main() -> None:
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # stdout joins stderr in the environment's log file
    sys.stdout = os.fdopen(1, "w", buffering=1, encoding="utf-8", errors="replace")
    sys.stderr = os.fdopen(2, "w", buffering=1, encoding="utf-8", errors="replace")

    init = receive(proto_in)
    if init.get("security"):  # the function has an execution role: check and record its AWS calls
        from lambdalab import _call_recorder

        _call_recorder.activate(init["security"])
    request_filter = _install_lambda_logging()
    watch = _MemoryWatch(init.get("watch_kb"))
    watch.arm()
    try:
        handler = load_handler(init["handler"])
    except _InitError as exc:
        error = lambda_error(exc.error_type, str(exc), "", exc.stack_trace)
        log_error(error)
        send(proto_out, {"error": error, "peak_kb": peak_memory_kb()})
        return
    except Exception as exc:  # module-level code raised
        error = error_shape(exc, "", skip_frames=0)
        log_error(error)
        send(proto_out, {"error": error, "peak_kb": peak_memory_kb()})
        return
    watch.disarm()
    send(proto_out, {"error": None, "peak_kb": peak_memory_kb()})

    while True:
        request = receive(proto_in)
        if request is None:
            return
        request_id = request["request_id"]
        request_filter.request_id = request_id
        context = LambdaContext(request_id, request["deadline_ms"], request["arn"])
        reply = {"error": None, "response": None}
        watch.arm()
        cpu_started, delay_started = time.process_time(), cpu_share.run_delay_s()
        started = time.perf_counter()
        try:
            result = handler(json.loads(request["event"]), context)
            elapsed = time.perf_counter() - started
            reply["response"], reply["error"] = encode_response(result, request_id)
        except Exception as exc:
            elapsed = time.perf_counter() - started
            reply["error"] = error_shape(exc, request_id)
        watch.disarm()
        if reply["error"]:
            log_error(reply["error"])
        sys.stdout.flush()
        sys.stderr.flush()
        reply["duration_ms"] = max(0.0, elapsed - (cpu_share.run_delay_s() - delay_started)) * 1000
        reply["cpu_ms"] = (time.process_time() - cpu_started) * 1000  # for the model where throttling cannot work
        reply["peak_kb"] = peak_memory_kb()
        send(proto_out, reply)


if __name__ == "__main__":
    main()
