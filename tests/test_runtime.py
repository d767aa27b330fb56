"""The local Lambda runtime behaves like Lambda: environments, REPORT lines, errors, limits, logs, isolation."""
import math
import os
import re
import time

import pytest

from lambdalab import aws
from lambdalab.runtime import LambdaConfigError, LambdaFunction, billed_duration, flush_logs

# Lambda's REPORT line, as CloudWatch Logs shows it (tab-separated, two decimals, Init Duration only when cold).
REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<duration>\d+\.\d{2}) ms\t"
    r"Billed Duration: (?P<billed>\d+) ms\tMemory Size: (?P<size>\d+) MB\tMax Memory Used: (?P<used>\d+) MB\t"
    r"(Init Duration: (?P<init>\d+\.\d{2}) ms\t)?(Status: (?P<status>\w+)\t)?(Error Type: (?P<etype>[\w.]+)\t)?$")


@pytest.fixture
def fn(new_function):
    return new_function


def parse(invocation):
    match = REPORT.match(invocation.report)
    assert match, f"not Lambda's REPORT format: {invocation.report!r}"
    return match


def test_cold_then_warm_report_lines(fn):
    f = fn("runtime_handlers.counter")
    cold, warm = f.invoke({}), f.invoke({})
    c, w = parse(cold), parse(warm)
    assert cold.cold_start and cold.init_duration_ms > 0 and c["init"] is not None
    assert not warm.cold_start and warm.init_duration_ms is None and w["init"] is None
    for inv, m in ((cold, c), (warm, w)):
        assert m["id"] == inv.request_id
        assert float(m["duration"]) == inv.duration_ms
        assert int(m["billed"]) == inv.billed_duration_ms
        assert int(m["size"]) == inv.memory_size_mb == 128
        assert int(m["used"]) == inv.max_memory_used_mb
        lines = inv.logs.splitlines()
        assert lines[0] == f"START RequestId: {inv.request_id} Version: $LATEST"
        assert lines[-2] == f"END RequestId: {inv.request_id}" and lines[-1] == inv.report
    assert float(c["init"]) == cold.init_duration_ms


def test_billed_duration_rounds_up_and_includes_init_when_cold(fn):
    assert billed_duration(15.74) == 16
    assert billed_duration(15.00) == 15
    assert billed_duration(0.04) == 1
    assert billed_duration(15.74, 130.49) == 147  # INIT is billed since August 2025
    f = fn("runtime_handlers.counter")
    for inv in (f.invoke({}), f.invoke({})):
        expected = math.ceil(round(inv.duration_ms + (inv.init_duration_ms or 0), 2))
        assert inv.billed_duration_ms == max(1, expected)


def test_globals_and_tmp_persist_within_an_environment_only(fn):
    f = fn("runtime_handlers.counter")
    first, second = f.invoke({}).response, f.invoke({}).response
    assert (first["calls"], second["calls"]) == (1, 2)
    assert first["init"] == second["init"] == 1  # module code ran once
    assert first["tmp"] == second["tmp"] and second["tmp_writes"] == 2
    assert first["tmp"] != os.path.realpath(__import__("tempfile").gettempdir())
    # two at once need two environments: the second starts cold, with its own globals and /tmp
    a, b = f.invoke_concurrently([{}, {}])
    assert {a.cold_start, b.cold_start} == {False, True}
    fresh = a if a.cold_start else b
    assert fresh.response["calls"] == 1 and fresh.response["tmp_writes"] == 1
    assert a.response["tmp"] != b.response["tmp"] and a.response["pid"] != b.response["pid"]
    assert f.environments == 2


def test_new_configuration_gets_fresh_environments(fn):
    f = fn("runtime_handlers.counter")
    f.invoke({})
    f.update(memory_mb=256)
    inv = f.invoke({})
    assert inv.cold_start and inv.response["calls"] == 1 and inv.memory_size_mb == 256


def test_timeout_stops_the_handler_and_discards_the_environment(fn):
    f = fn("runtime_handlers.sleepy", timeout_s=1)
    inv = f.invoke({"seconds": 3})
    assert inv.status == "timeout" and inv.response is None
    assert inv.error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in inv.error["errorMessage"]
    assert "Task timed out after 1.00 seconds" in inv.logs
    m = parse(inv)
    assert m["status"] == "timeout" and inv.duration_ms == 1000.0
    assert f.environments == 0
    assert f.invoke({"seconds": 0}).cold_start


def test_context_remaining_time_counts_down(fn):
    f = fn("runtime_handlers.sleepy", timeout_s=3)
    out = f.invoke({"seconds": 0.2}).response
    assert 2800 < out["before"] <= 3000
    assert out["before"] - out["after"] >= 150


def test_exceeding_memory_kills_the_environment(fn):
    f = fn("runtime_handlers.hog", memory_mb=128)
    inv = f.invoke({"mb": 300})
    assert inv.status == "killed"
    assert inv.error["errorType"] == "Runtime.OutOfMemory"  # as Lambda reports it today (was Runtime.ExitError)
    assert "Runtime exited with error: signal: killed" in inv.error["errorMessage"]
    m = parse(inv)
    assert m["status"] == "error" and m["etype"] == "Runtime.OutOfMemory"
    assert inv.max_memory_used_mb == 128  # used = size: the REPORT line's sign of running out of memory
    assert f.environments == 0
    ok = f.invoke({"mb": 20})
    assert ok.ok and ok.cold_start


def test_max_memory_used_is_the_environments_own_peak(fn):
    f = fn("runtime_handlers.hog", memory_mb=512)
    small = f.invoke({"mb": 1}).max_memory_used_mb
    big = f.invoke({"mb": 150}).max_memory_used_mb
    assert small < 80, "a bare environment must not report the kernel's (parent's) peak"
    assert big >= small + 140


def test_error_shape_and_logs(fn):
    f = fn("runtime_handlers.fail")
    inv = f.invoke({"order": 7})
    assert inv.status == "error" and inv.response is None
    assert inv.error["errorType"] == "ValueError"
    assert inv.error["errorMessage"] == "bad order 7"
    assert isinstance(inv.error["stackTrace"], list) and "runtime_handlers.py" in inv.error["stackTrace"][-1]
    assert "[ERROR] ValueError: bad order 7" in inv.logs
    assert parse(inv)["status"] is None  # a handled error keeps the environment: no Status field
    assert f.environments == 1


def test_unserialisable_response_is_a_marshal_error(fn):
    inv = fn("runtime_handlers.not_json").invoke({})
    assert inv.error["errorType"] == "Runtime.MarshalError"


def test_a_dynamodb_item_with_decimal_numbers_is_returned_as_numbers(fn):
    """Lambda's Python runtime encodes Decimal (boto3's DynamoDB numbers) as JSON numbers: returning an item works."""
    inv = fn("runtime_handlers.dynamodb_item", memory_mb=512).invoke({})
    assert inv.error is None and inv.response == {"id": "a1", "views": 42, "price": 9.99, "cognito_identity_id": None}
    assert isinstance(inv.response["views"], int)


def test_a_syntax_error_in_the_handler_module_is_runtime_usercodesyntaxerror(fn, tmp_path, monkeypatch):
    (tmp_path / "typo_handler.py").write_text("def handler(event, context)\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    inv = fn("typo_handler.handler").invoke({})
    assert inv.error["errorType"] == "Runtime.UserCodeSyntaxError"
    assert inv.error["errorMessage"].startswith("Syntax error in module 'typo_handler': expected ':'")
    assert inv.error["stackTrace"] == [f'  File "{tmp_path / "typo_handler.py"}" Line 1\n    def handler(event, '
                                       'context)\n']
    assert parse(inv)["etype"] == "Runtime.UserCodeSyntaxError"


def test_prints_and_logging_reach_the_logs_in_lambda_format(fn):
    inv = fn("runtime_handlers.noisy").invoke({})
    assert "printed line" in inv.logs
    assert re.search(rf"\[WARNING\]\t\d{{4}}-\d\d-\d\dT[\d:.]+Z\t{inv.request_id}\ta warning", inv.logs)
    assert "an info line" not in inv.logs


def test_reserved_variables_inside_and_nothing_leaks(fn, monkeypatch):
    monkeypatch.setenv("LAMBDALAB_TEST_KERNEL_ONLY", "kernel secret")
    f = fn("runtime_handlers.environment", name="env-fn", memory_mb=256, environment={"TABLE": "orders"})
    out = f.invoke({}).response
    assert out["AWS_LAMBDA_FUNCTION_NAME"] == "env-fn" and out["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert out["AWS_REGION"] == "us-east-1" and out["_HANDLER"] == "runtime_handlers.environment"
    assert out["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST" and out["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/env-fn"
    assert out["AWS_EXECUTION_ENV"].startswith("AWS_Lambda_python")
    assert out["TABLE"] == "orders"
    assert out["LAMBDALAB_TEST_KERNEL_ONLY"] is None, "the kernel's environment must not leak into a function"
    assert out["AWS_ENDPOINT_URL"] == aws.backend().endpoint_url
    assert out["context"]["function_name"] == "env-fn" and out["context"]["memory_limit_in_mb"] == "256"
    assert out["context"]["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:env-fn"
    for key in ("AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "TABLE"):
        assert key not in os.environ


def test_handler_reaches_the_emulated_services(fn):
    aws.client("s3").create_bucket(Bucket="made-in-the-kernel")
    # importing boto3 and making a client in the handler is ~0.3 s of CPU: ~4 s at 128 MB's share, so a full vCPU
    assert fn("runtime_handlers.list_buckets", memory_mb=1769).invoke({}).response == ["made-in-the-kernel"]


def test_logs_land_in_cloudwatch_logs(fn):
    f = fn("runtime_handlers.noisy", name="logged-fn")
    inv = f.invoke({})
    events = aws.client("logs").filter_log_events(logGroupName="/aws/lambda/logged-fn")["events"]
    messages = [e["message"] for e in events]
    assert inv.report in messages and "printed line" in messages
    assert f.logs().splitlines()[-1] == inv.report
    flush_logs()  # nothing left to send: a second delivery must not duplicate lines
    again = aws.client("logs").filter_log_events(logGroupName="/aws/lambda/logged-fn")["events"]
    assert len(again) == len(events)


def test_reset_wipes_state_and_the_runtime_still_works(fn):
    aws.client("s3").create_bucket(Bucket="to-be-wiped")
    f = fn("runtime_handlers.noisy", name="reset-fn")
    f.invoke({})
    aws.reset()
    assert aws.client("s3").list_buckets()["Buckets"] == []
    assert aws.client("logs").describe_log_groups()["logGroups"] == []
    inv = f.invoke({})
    assert inv.ok
    groups = [g["logGroupName"] for g in aws.client("logs").describe_log_groups()["logGroups"]]
    assert groups == ["/aws/lambda/reset-fn"]


def test_handler_defined_in_a_notebook_cell(fn):
    rate = 3  # a global the handler closes over travels with it

    def price(event, context):
        return {"total": event["qty"] * rate, "function": context.function_name}

    f = fn(price)
    assert f.invoke({"qty": 5}).response == {"total": 15, "function": "test-fn"}
    assert f.debug_invoke({"qty": 2}).response == {"total": 6, "function": "test-fn"}


def test_a_handler_using_an_unpicklable_notebook_object_is_refused_clearly(backend):
    import threading

    lock = threading.Lock()

    def uses_lock(event, context):
        with lock:
            return 1

    with pytest.raises(LambdaConfigError, match="create clients inside the handler"):
        LambdaFunction("bad", uses_lock)


def test_debug_invoke_runs_in_this_process(fn):
    f = fn("runtime_handlers.environment", environment={"TABLE": "t"})
    inv = f.debug_invoke({})
    assert inv.ok and inv.response["TABLE"] == "t" and inv.max_memory_used_mb is None
    assert "Max Memory Used: n/a" in inv.report
    assert "TABLE" not in os.environ  # restored afterwards


@pytest.mark.parametrize("kwargs, message", [
    ({"memory_mb": 100}, "128 to 10,240"),
    ({"memory_mb": 20_000}, "128 to 10,240"),
    ({"timeout_s": 0}, "1 to 900"),
    ({"timeout_s": 901}, "1 to 900"),
    ({"timeout_s": 2.5}, "a whole number of seconds"),  # Lambda's Timeout is an Integer
    ({"environment": {"A": "x"}}, "at least one more letter"),  # Lambda's key pattern needs two characters
    ({"environment": {"BIG": "x" * 5 * 1024}}, "4 KB"),
    ({"environment": {"AWS_REGION": "eu-west-1"}}, "Reserved keys used: AWS_REGION"),
    ({"environment": {"PORT": 8080}}, "must be a string"),
    ({"handler": "no_such_module.handler"}, "no module named 'no_such_module'"),
    ({"handler": "handler_without_module"}, "module.function"),
    ({"handler": 42}, "not a int"),
    ({"name": "has spaces"}, "not valid"),
])
def test_bad_configuration_is_refused_with_the_fix(backend, kwargs, message):
    args = {"name": "bad-config", "handler": "runtime_handlers.echo"} | kwargs
    with pytest.raises(LambdaConfigError, match=re.escape(message)):
        LambdaFunction(args.pop("name"), args.pop("handler"), **args)


def test_limits_accepted_at_the_edges(backend):
    LambdaFunction("edge", "runtime_handlers.echo", memory_mb=128, timeout_s=900)
    LambdaFunction("edge", "runtime_handlers.echo", memory_mb=10_240, timeout_s=1,
                   environment={"AB": "x" * 4000})


def test_bad_event_is_refused_and_the_function_still_works(fn):
    f = fn("runtime_handlers.echo")
    with pytest.raises(TypeError, match="JSON-serialisable"):
        f.invoke({"when": object()})
    with pytest.raises(TypeError, match="JSON-serialisable"):
        f.invoke_concurrently([{"ok": 1}, {"bad": {1, 2}}])
    assert f.environments == 0
    assert f.invoke({"ok": True}).response == {"ok": True}


def test_init_errors_are_reported_like_lambda(fn):
    missing = fn("runtime_handlers.no_such_handler").invoke({})
    assert missing.error["errorType"] == "Runtime.HandlerNotFound"
    assert "no_such_handler" in missing.error["errorMessage"]
    not_callable = fn("runtime_handlers.not_a_function").invoke({})
    assert not_callable.error["errorType"] == "Runtime.HandlerNotFound"
    assert "not a function" in not_callable.error["errorMessage"]
    broken = fn("broken_handler.handler")
    inv = broken.invoke({})
    assert inv.error["errorType"] == "RuntimeError" and "init failed" in inv.error["errorMessage"]
    assert parse(inv)["etype"] == "RuntimeError" and inv.cold_start
    assert broken.environments == 0


def test_payload_limit(fn):
    with pytest.raises(ValueError, match="6 MB"):
        fn("runtime_handlers.echo").invoke({"blob": "x" * (6 * 1024 * 1024)})


def test_a_handler_that_ends_its_process_is_reported_like_lambda(fn):
    f = fn("runtime_handlers.exits")
    inv = f.invoke({"code": 3})
    assert inv.status == "error" and inv.error["errorType"] == "Runtime.ExitError"
    assert inv.error["errorMessage"].endswith("Runtime exited with error: exit status 3")
    assert parse(inv)["etype"] == "Runtime.ExitError" and f.environments == 0
    crash = fn("runtime_handlers.crashes", name="crash-fn").invoke({})
    assert crash.status == "killed"
    assert crash.error["errorMessage"].endswith("Runtime exited with error: signal: segmentation fault")


def test_logs_respect_cloudwatch_limits(fn):
    """A 300 KB line is cut to CloudWatch's 256 KB event limit; 12,000 lines go in several PutLogEvents calls."""
    f = fn("runtime_handlers.shouts", name="loud-fn")
    calls = []
    logs = aws.client("logs")
    event_name = "before-parameter-build.cloudwatch-logs.PutLogEvents"

    def spy(params, **_):
        calls.append(params)

    logs.meta.events.register(event_name, spy)
    try:
        assert f.invoke({"bytes": 300 * 1024, "lines": 12_000}).ok
        flush_logs()
    finally:
        logs.meta.events.unregister(event_name, spy)
    events = [e for call in calls for e in call["logEvents"]]
    assert max(len(e["message"].encode()) for e in events) == 256 * 1024 - 26
    assert len(calls) >= 3 and all(len(c["logEvents"]) <= 10_000 for c in calls)
    assert all(sum(len(e["message"].encode()) + 26 for e in c["logEvents"]) <= 1_048_576 for c in calls)
    assert len(events) == 1 + 1 + 12_000 + 2  # START, the long line, the 12,000 lines, END and REPORT


# --- review fixes: each test failed before its fix ------------------------------------------------------------------

def test_a_refused_update_leaves_the_function_as_it_was(fn):
    f = fn("runtime_handlers.counter")
    f.invoke({})
    with pytest.raises(LambdaConfigError, match="no module named 'no_such_module'"):
        f.update(memory_mb=256, handler="no_such_module.handler")
    assert (f.memory_mb, f.handler) == (128, "runtime_handlers.counter")
    inv = f.invoke({})
    assert inv.memory_size_mb == 128 and not inv.cold_start and inv.response["calls"] == 2


def test_a_deleted_log_group_is_created_again_and_no_line_is_lost(fn):
    f = fn("runtime_handlers.noisy", name="deleted-logs-fn")
    f.invoke({})
    logs = aws.client("logs")
    logs.delete_log_group(logGroupName=f.log_group)  # a learner tidying up
    inv = f.invoke({})
    assert f.logs().splitlines()[-1] == inv.report
    assert "printed line" in f.logs()


def test_a_failed_log_delivery_keeps_the_lines_for_the_next_one(fn):
    from botocore.exceptions import ClientError

    f = fn("runtime_handlers.noisy", name="throttled-logs-fn")
    logs = aws.client("logs")
    event_name = "before-call.cloudwatch-logs.PutLogEvents"

    def throttle_once(**_):
        logs.meta.events.unregister(event_name, throttle_once)
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "PutLogEvents")

    inv = f.invoke({})
    logs.meta.events.register(event_name, throttle_once)
    with pytest.raises(ClientError, match="Rate exceeded"):
        flush_logs()
    flush_logs()
    assert f.logs().splitlines()[-1] == inv.report


def test_whatever_the_handler_started_goes_with_its_environment(fn, tmp_path):
    pid_file = tmp_path / "child.pid"
    inv = fn("runtime_handlers.spawn_then_exit").invoke({"pid_file": str(pid_file)})
    assert inv.error["errorMessage"].endswith("exit status 3")
    child = int(pid_file.read_text())
    if not os.path.exists("/proc"):
        pytest.skip("needs /proc to tell a killed (zombie) child from a running one")
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{child}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] in "ZX":
                    break  # killed; waiting for init to reap it
        except FileNotFoundError:
            break
        time.sleep(0.02)
    else:
        os.kill(child, 9)
        pytest.fail("the handler's child process outlived its execution environment")


def test_an_environment_that_died_while_idle_is_replaced(fn):
    f = fn("runtime_handlers.exit_soon_after_returning")
    assert f.invoke({}).ok
    time.sleep(0.3)
    inv = f.invoke({})  # was: BrokenPipeError
    assert inv.ok and inv.cold_start


def test_an_init_over_the_limit_is_retried_inside_the_first_invocation_under_the_timeout(fn, monkeypatch):
    """Lambda: INIT is limited to 10 s; past that it reports the timed-out INIT and retries INIT at the first
    invocation with the function's timeout (here the limit is 1 s, so the test is quick)."""
    from lambdalab import runtime

    monkeypatch.setattr(runtime, "INIT_LIMIT_S", 1.0)
    f = fn("runtime_handlers.counter", timeout_s=5, environment={"INIT_SLEEP_S": "1.5"})
    inv = f.invoke({})
    assert inv.ok and inv.cold_start and inv.init_duration_ms is None, inv.error
    assert re.search(r"^INIT_REPORT Init Duration: 1\d{3}\.\d\d ms\tPhase: init\tStatus: timeout$", inv.logs, re.M)
    m = parse(inv)
    assert m["init"] is None and float(m["duration"]) >= 1500  # the second INIT is part of the invocation
    assert inv.response["init"] == 1 and inv.response["calls"] == 1  # one INIT completed, then the handler
    warm = f.invoke({})
    assert warm.ok and not warm.cold_start and warm.duration_ms < 1000
    slow = fn("runtime_handlers.counter", name="too-slow", timeout_s=1, environment={"INIT_SLEEP_S": "1.5"})
    timed_out = slow.invoke({})
    assert timed_out.status == "timeout" and timed_out.error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in timed_out.logs and slow.environments == 0


def test_module_level_code_counts_against_the_memory_size(fn):
    f = fn("runtime_handlers.echo", memory_mb=128, environment={"INIT_HOG_MB": "300"})
    inv = f.invoke({})
    assert inv.cold_start and inv.status == "killed" and inv.error["errorType"] == "Runtime.ExitError"
    assert inv.error["errorMessage"].endswith("Runtime exited with error: signal: killed")
    assert inv.max_memory_used_mb < 300 and f.environments == 0  # stopped while loading, not after


def test_memory_is_enforced_where_there_is_no_proc(fn, monkeypatch):
    """macOS has no /proc: the worker watches its own peak and is killed while running, not after."""
    from lambdalab import runtime

    monkeypatch.setattr(runtime, "_WATCH_FROM_OUTSIDE", False)
    monkeypatch.setattr(runtime, "_peak_kb_of", lambda pid: None)
    f = fn("runtime_handlers.hog_then_sleep", memory_mb=128, timeout_s=20)
    assert f.invoke({"mb": 1}).ok
    inv = f.invoke({"mb": 300, "seconds": 10})  # filling 128 MB takes ~3 s at 128 MB's CPU share; then it would sleep
    assert inv.status == "killed" and inv.error["errorMessage"].endswith("signal: killed")
    assert inv.duration_ms < 8000 and inv.max_memory_used_mb == 128 and f.environments == 0


def test_debug_invoke_keeps_the_kernel_alive_when_the_handler_exits(fn):
    inv = fn("runtime_handlers.exits").debug_invoke({"code": 4})
    assert inv.error["errorType"] == "Runtime.ExitError" and inv.error["errorMessage"].endswith("exit status 4")
