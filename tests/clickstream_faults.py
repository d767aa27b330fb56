"""The clickstream function with faults injected, for the exactly-once tests (run in Lambda workers).

``times_out_after_commit``: the first delivery of each batch commits, then runs past the function's timeout, as when
a slow network call after the commit outlasts it; Lambda counts the invocation as failed and delivers the batch again.
"""
import os
import pathlib
import time

from lambdalab.handlers import clickstream


def times_out_after_commit(event, context):
    response = clickstream.handler(event, context)
    first = event["Records"][0]["kinesis"]["sequenceNumber"] if event["Records"] else "none"
    marker = pathlib.Path(os.environ["FAULT_DIR"]) / first
    if not marker.exists():
        marker.touch()
        time.sleep(context.get_remaining_time_in_millis() / 1000 + 1)
    return response
