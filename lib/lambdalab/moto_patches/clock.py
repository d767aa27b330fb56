"""moto stamps new Kinesis and DynamoDB Streams records with ``lambdalab.clock`` time, not the wall clock, so record
age, retention, AT_TIMESTAMP and tumbling windows follow the time the course advances."""
from __future__ import annotations

from . import require


def _utcnow():
    from .. import clock

    return clock.now_datetime().replace(tzinfo=None)


def apply(server=None) -> None:
    import moto.dynamodb.models.table as ddb_table
    import moto.kinesis.models as kinesis_models

    kinesis_models.utcnow = _utcnow
    ddb_table.utcnow = _utcnow


def verify() -> None:
    import moto.dynamodb.models.table as ddb_table
    import moto.kinesis.models as kinesis_models

    # The names must exist in moto (a renamed internal would make apply() add an unused attribute) and be ours.
    for module in (kinesis_models, ddb_table):
        require(getattr(module, "utcnow", None) is _utcnow, __name__,
                f"{module.__name__}.utcnow is not the simulated clock")
        require("utcnow" in module.__dict__ and _uses_utcnow(module), __name__,
                f"{module.__name__} no longer calls utcnow() to stamp records")


def _uses_utcnow(module) -> bool:
    import inspect

    try:
        return "utcnow()" in inspect.getsource(module)
    except (OSError, TypeError):
        return True  # no source to read (a frozen install): trust the assignment
