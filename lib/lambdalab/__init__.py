"""lambdalab: the helper library of the DVA-C02 course "AWS Lambda for real-time data processing".

Submodules load on first use (``from lambdalab import aws`` or ``lambdalab.aws``), so importing the package is
cheap and a Lambda execution environment that imports ``lambdalab.handlers.*`` pulls in nothing else.
"""
import importlib

__version__ = "0.1.0"
__all__ = ["aws", "clock", "runtime", "triggers", "handlers", "quiz", "labs", "images", "security"]


def __getattr__(name):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'lambdalab' has no attribute {name!r}")
