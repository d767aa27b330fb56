"""Every change the course makes to moto, each in one module of this package, each proven to take effect.

moto emulates AWS well but not perfectly, and the course corrects it where a learner would see the difference (and
speeds it up where a handler would wait on it). Each correction is a submodule with two functions:

- ``apply(server)``: make the change (idempotent). ``server`` is the loopback ``ThreadedMotoServer`` the Lambda
  workers call, or ``None``.
- ``verify()``: raise ``MotoPatchError`` unless the change is in force. A moto release that renames what a patch
  replaces would otherwise let the assignment succeed while the patch silently stops working.

``apply_all`` runs at ``aws.start()`` on the in-process moto backend only (a separate moto server, LocalStack and
real AWS are what they are); the tests call ``verify`` on every module. Add a correction by adding a module here.
"""
from __future__ import annotations

import importlib
import pkgutil


class MotoPatchError(RuntimeError):
    """A patch did not take effect: the installed moto differs from the one the course was built on."""


def modules() -> list:
    """Every patch module in this package, in name order."""
    return [importlib.import_module(f"{__name__}.{info.name}")
            for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
            if not info.name.startswith("_")]


def apply_all(server=None) -> None:
    """Apply every patch, then check each took effect (a failed check names the patch and what to do)."""
    for module in modules():
        module.apply(server)
    verify_all()


def verify_all() -> None:
    for module in modules():
        try:
            module.verify()
        except MotoPatchError:
            raise
        except Exception as exc:  # an AttributeError from a renamed moto internal, say
            raise MotoPatchError(_advice(module, exc)) from exc


def _advice(module, detail) -> str:
    return (f"The course's moto patch {module.__name__.rsplit('.', 1)[-1]!r} did not take effect ({detail}). "
            "The installed moto probably differs from the one in requirements.lock: run `make install` "
            "(or `pip install -r requirements.lock`) and restart the kernel.")


def require(condition: bool, module_name: str, what: str) -> None:
    """For ``verify()``: raise a ``MotoPatchError`` naming the patch when ``condition`` is false."""
    if not condition:
        raise MotoPatchError(
            f"The course's moto patch {module_name.rsplit('.', 1)[-1]!r} is not in force: {what}. The installed "
            "moto probably differs from the one in requirements.lock: run `make install` and restart the kernel.")
