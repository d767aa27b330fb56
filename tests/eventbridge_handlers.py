"""Small Lambda handlers the EventBridge tests invoke by dotted path (eventbridge_handlers.<name>)."""
import json

import boto3


def echo(event, context):
    """Returns the event it received."""
    return event


def always_fails(event, context):
    raise RuntimeError(f"cannot process {event.get('detail-type', 'event')}")


def emits_again(event, context):
    """Sends an event the rule that invoked it matches again: the infinite-loop trap."""
    count = event["detail"]["count"] + 1
    boto3.client("events").put_events(Entries=[{"Source": "shop.orders", "DetailType": "Order Placed",
                                                "Detail": json.dumps({"count": count})}])
    return count
