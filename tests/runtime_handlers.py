"""Small Lambda handlers the runtime tests invoke by dotted path (runtime_handlers.<name>)."""
import os
import tempfile
import time

INIT_COUNT = 0
INIT_COUNT += 1  # module-level code: runs once per execution environment
CALLS = 0
if os.environ.get("INIT_SLEEP_S"):  # slow module-level code, like a large model download at import
    time.sleep(float(os.environ["INIT_SLEEP_S"]))
if os.environ.get("INIT_HOG_MB"):  # module-level code over the memory size, like loading a big model at import
    _BLOCK = bytearray(int(os.environ["INIT_HOG_MB"]) * 1024 * 1024)
    _BLOCK[::4096] = b"x" * len(_BLOCK[::4096])


def counter(event, context):
    global CALLS
    CALLS += 1
    path = os.path.join(tempfile.gettempdir(), "seen.txt")
    with open(path, "a") as f:
        f.write("x")
    with open(path) as f:
        files = len(f.read())
    return {"calls": CALLS, "init": INIT_COUNT, "tmp": tempfile.gettempdir(), "tmp_writes": files, "pid": os.getpid()}


def fail(event, context):
    raise ValueError(f"bad order {event.get('order')}")


def sleepy(event, context):
    before = context.get_remaining_time_in_millis()
    time.sleep(event.get("seconds", 5))
    return {"before": before, "after": context.get_remaining_time_in_millis()}


def hog(event, context):
    block = bytearray(event["mb"] * 1024 * 1024)
    block[::4096] = b"x" * len(block[::4096])  # touch every page so it is really resident
    return {"allocated_mb": event["mb"]}


def noisy(event, context):
    import logging

    print("printed line")
    logging.getLogger().warning("a warning")
    logging.getLogger().info("an info line (hidden: the root level is WARNING, as on Lambda)")
    return "ok"


def environment(event, context):
    keys = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION", "_HANDLER",
            "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_EXECUTION_ENV", "TABLE",
            "LAMBDALAB_TEST_KERNEL_ONLY", "AWS_ENDPOINT_URL"]
    return {key: os.environ.get(key) for key in keys} | {
        "context": {"function_name": context.function_name, "memory_limit_in_mb": context.memory_limit_in_mb,
                    "invoked_function_arn": context.invoked_function_arn, "aws_request_id": context.aws_request_id,
                    "log_group_name": context.log_group_name, "function_version": context.function_version}}


def list_buckets(event, context):
    import boto3

    return sorted(b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"])


def not_json(event, context):
    return {"when": object()}


def echo(event, context):
    return event


not_a_function = 42


def exits(event, context):
    import sys

    sys.exit(event.get("code", 0))


def crashes(event, context):
    import os
    import signal

    os.kill(os.getpid(), signal.SIGSEGV)


def shouts(event, context):
    print("x" * event["bytes"])
    for i in range(event.get("lines", 0)):
        print(f"line {i} " + "y" * 200)
    return "done"


def hog_then_sleep(event, context):
    hog(event, context)
    time.sleep(event.get("seconds", 0))
    return {"allocated_mb": event["mb"]}


def spawn_then_exit(event, context):
    import subprocess

    child = subprocess.Popen(["sleep", "60"])
    with open(event["pid_file"], "w") as f:
        f.write(str(child.pid))
    os._exit(3)


def exit_soon_after_returning(event, context):
    import threading

    threading.Timer(0.05, os._exit, (0,)).start()  # a background thread ends the environment while it is idle
    return "ok"


def dynamodb_item(event, context):
    """Returns an item as boto3 reads it from DynamoDB (numbers are Decimal), and who called (Cognito)."""
    from decimal import Decimal

    return {"id": "a1", "views": Decimal("42"), "price": Decimal("9.99"),
            "cognito_identity_id": context.identity.cognito_identity_id}
