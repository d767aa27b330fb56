"""The runtime's parts that live in one place each: error shapes, payload limits, /proc reading, log delivery."""
import os

import pytest

from lambdalab import _worker, payloads, runtime
from lambdalab.cloudwatch_logs import LogShipper, truncate


def test_error_shapes_are_built_by_one_function_with_lambdas_keys():
    handler_error = _worker.error_shape(ValueError("bad"), "req-1")
    assert handler_error == {"errorMessage": "bad", "errorType": "ValueError", "requestId": "req-1", "stackTrace": []}
    exited = _worker.exit_error("req-2", "signal: killed")
    assert exited == {"errorType": "Runtime.ExitError",
                      "errorMessage": "RequestId: req-2 Error: Runtime exited with error: signal: killed"}
    assert "requestId" not in _worker.platform_error("Sandbox.Timedout", "r", "Task timed out after 3.00 seconds")
    assert _worker.marshal_error(TypeError("set"), "r")["errorType"] == "Runtime.MarshalError"
    assert _worker.log_line(exited) == f"[ERROR] Runtime.ExitError: {exited['errorMessage']}"


def test_a_timeout_returns_the_platform_shape(new_function):
    invocation = new_function("runtime_handlers.sleepy", timeout_s=1).invoke({"seconds": 3})
    assert invocation.error == _worker.platform_error("Sandbox.Timedout", invocation.request_id,
                                                      "Task timed out after 1.00 seconds")


def test_payload_limits_are_defined_once_and_checked_the_same_way():
    assert runtime.PAYLOAD_LIMIT_BYTES == payloads.SYNC_LIMIT_BYTES == 6 * 1024 * 1024
    assert payloads.ASYNC_LIMIT_BYTES == 1024 * 1024
    big = {"data": "x" * payloads.ASYNC_LIMIT_BYTES}
    assert payloads.event_json(big).startswith('{"data"')  # fine for a synchronous invocation
    with pytest.raises(ValueError, match=r"asynchronous invocation accepts at most 1,048,576 bytes \(1 MB\)"):
        payloads.event_json(big, payloads.ASYNC_LIMIT_BYTES)
    with pytest.raises(ValueError, match=r"synchronous invocation accepts at most 6,291,456 bytes \(6 MB\)"):
        payloads.event_json({"data": "x" * payloads.SYNC_LIMIT_BYTES})
    with pytest.raises(TypeError, match="JSON-serialisable"):
        payloads.event_json({1, 2})
    assert payloads.response_error('"small"') is None
    assert payloads.response_error('"' + "x" * (payloads.SYNC_LIMIT_BYTES + 98) + '"') is None  # 6,291,556 bytes
    too_big = payloads.response_error('"' + "x" * (payloads.SYNC_LIMIT_BYTES + 99) + '"')
    assert too_big["errorType"] == "Function.ResponseSizeTooLarge"
    assert too_big["errorMessage"] == ("Response payload size (6291557 bytes) exceeded maximum allowed payload size "
                                       "(6291556 bytes).")


def test_proc_is_read_in_one_place():
    if not os.path.exists("/proc/self/status"):
        pytest.skip("no /proc on this machine")
    own = _worker.vm_hwm_kb(os.getpid())
    assert own > 0 and _worker.vm_hwm_kb() >= own  # "self" is this process; a peak only rises
    assert _worker.vm_hwm_kb(2 ** 22 + 12345) is None  # no such process
    assert runtime._peak_kb_of is _worker.vm_hwm_kb and runtime._WATCH_FROM_OUTSIDE


def test_log_lines_are_cut_at_cloudwatchs_event_limit_on_a_character_boundary():
    line = "é" * LogShipper.EVENT_LIMIT
    cut = truncate(line, LogShipper.EVENT_LIMIT)
    assert len(cut.encode()) <= LogShipper.EVENT_LIMIT and line.startswith(cut) and len(cut) == LogShipper.EVENT_LIMIT // 2
    assert truncate("short", 10) == "short"


def test_debug_invoke_gets_lambdas_variables_without_an_environment_object(new_function):
    invocation = new_function("runtime_handlers.environment", name="debugged").debug_invoke({})
    assert invocation.ok and invocation.response["AWS_LAMBDA_FUNCTION_NAME"] == "debugged"
    assert invocation.response["context"]["log_group_name"] == "/aws/lambda/debugged"
