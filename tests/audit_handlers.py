"""Test-only wrappers around the stream-audit functions (run by the runtime through their dotted paths)."""
import os
import time


def _hang_once(response, context):
    """Sleep past the function's timeout the first time (a marker file remembers it across environments)."""
    marker = os.environ["HANG_MARKER"]
    if not os.path.exists(marker):
        open(marker, "w").close()
        time.sleep(context.get_remaining_time_in_millis() / 1000 + 5)
    return response


def audit_then_time_out(event, context):
    """The hand-written audit function, then a timeout that strikes after its effects went out (once)."""
    from lambdalab.handlers import stream_audit

    return _hang_once(stream_audit.handler(event, context), context)


def powertools_then_time_out(event, context):
    """The same with the Powertools version."""
    from lambdalab.handlers import stream_audit_powertools

    return _hang_once(stream_audit_powertools.handler(event, context), context)
