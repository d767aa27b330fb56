"""Handlers for the CPU-share tests (tests/test_cpu_share.py), invoked by dotted path (cpu_handlers.<name>)."""
import subprocess
import sys
import time

WORK = 500_000  # ~30 ms of pure-Python arithmetic at a full vCPU here: ~0.4 s at 128 MB


def crunch(event, context):
    """CPU-bound, single-threaded: the same arithmetic every time."""
    before = context.get_remaining_time_in_millis()
    total = 0
    for i in range(event.get("work", WORK)):
        total += i * i % 7
    return {"total": total, "before": before, "after": context.get_remaining_time_in_millis()}


def nap(event, context):
    """Waits without using CPU, like a handler waiting on the network."""
    time.sleep(event.get("seconds", 0.2))
    return "rested"


def crunch_in_a_child(event, context):
    """The CPU work happens in a process the handler starts; returns the CPU milliseconds that process used."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    code = f"t = 0\nfor i in range({event.get('work', WORK)}): t += i * i % 7\n"
    subprocess.run([sys.executable, "-S", "-c", code], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"child_cpu_ms": (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000}


def allocate(event, context):
    """Holds ``mb`` megabytes at once, like decoding a big image: over a small memory size it is killed."""
    block = bytearray(event["mb"] * 1024 * 1024)
    block[::4096] = b"x" * len(block[::4096])
    return {"allocated_mb": event["mb"]}


def which(event, context):
    return event["name"]
