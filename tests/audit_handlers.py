"""Test-only wrappers around the stream-audit functions (run by the runtime through their dotted paths)."""
import os
import time

# Imported here, at INIT, as a deployed function's imports would be: inside the handler they would run at 128 MB's CPU
# share (lambdalab.cpu_share) and take longer than the test's timeout on their own.
from lambdalab.handlers import stream_audit, stream_audit_powertools


def _hang_once(response, context):
    """Sleep past the function's timeout the first time (a marker file remembers it across environments)."""
    marker = os.environ["HANG_MARKER"]
    if not os.path.exists(marker):
        open(marker, "w").close()
        time.sleep(context.get_remaining_time_in_millis() / 1000 + 5)
    return response


def audit_then_time_out(event, context):
    """The hand-written audit function, then a timeout that strikes after its effects went out (once)."""
    return _hang_once(stream_audit.handler(event, context), context)


def powertools_then_time_out(event, context):
    """The same with the Powertools version."""
    return _hang_once(stream_audit_powertools.handler(event, context), context)
