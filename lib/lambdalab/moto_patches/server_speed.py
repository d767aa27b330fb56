"""moto's server lists its own package folder to route every request; list it once. A Lambda handler pays this on
each S3 or DynamoDB call (about 1.5 ms of a GET + PUT)."""
from __future__ import annotations

from . import require

_original = None


def apply(server=None) -> None:
    global _original
    import moto.backends

    if _original is None:
        _original = moto.backends.list_of_moto_modules
        modules = frozenset(_original())
        moto.backends.list_of_moto_modules = lambda: modules


def verify() -> None:
    import moto.backends

    require(_original is not None and moto.backends.list_of_moto_modules is not _original, __name__,
            "moto.backends.list_of_moto_modules is not cached")
    require("s3" in moto.backends.list_of_moto_modules(), __name__, "the cached module list has no s3")
