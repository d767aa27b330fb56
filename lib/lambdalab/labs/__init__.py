"""Graded labs: inline checks for students, student-version generation and the instructor's autograder.

In a lab notebook, right after a TODO cell::

    from lambdalab import labs; labs.check("lab01", "task1")

runs that task's **public** checks against the functions you defined in the notebook and shows what passed, what
failed (expected vs actual) and a hint. ``check`` looks your functions up in the namespace of the code that calls
it: in a notebook, the notebook's own variables (``namespace=`` passes another dict). **Hidden** checks, with other
inputs, run when the lab is graded.

Each lab is one module here (``lab01.py``: a ``Lab`` named ``LAB`` with tasks, points and checks) plus one master
notebook in ``solutions/``; ``generate.py`` makes the student version in ``labs/`` and ``autograder.py`` grades
submissions (``lambdalab grade``). Adding a lab needs no new plumbing.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
import sys

from .core import CheckFailed, Context, Lab, run_checks
from .report import Report
from .results import CheckResult

__all__ = ["check", "load", "available", "Lab", "Context", "CheckFailed", "CheckResult", "Report"]
_LAB_MODULE = re.compile(r"^lab\d\d$")


def available() -> list[str]:
    """The ids of every lab that has checks (``["lab01", ...]``)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if _LAB_MODULE.match(m.name))


def load(lab_id: str) -> Lab:
    """The ``Lab`` for ``lab01`` (also accepts the notebook name, ``lab01_thumbnail``)."""
    short = str(lab_id).split("_", 1)[0].lower()
    if not _LAB_MODULE.match(short) or short not in available():
        raise ValueError(f"There is no lab {lab_id!r}. Labs with checks: {', '.join(available()) or 'none'}.")
    return importlib.import_module(f"{__name__}.{short}").LAB


def _caller_namespace(depth: int = 2) -> dict:
    """The global variables of the code that called ``check`` (a notebook's own variables, in Jupyter)."""
    return sys._getframe(depth).f_globals


def check(lab_id: str, task: str | None = None, *, namespace: dict | None = None, hidden: bool = False,
          seed: int | None = None, timeout: float | None = 30.0) -> Report:
    """Run the public checks of ``lab_id`` (one ``task``, or all) against your code; return and show a Report.

    ``hidden=True`` (instructors: the solution notebook uses it) also runs the hidden checks, with inputs from
    ``seed`` (random when None). Each check stops after ``timeout`` seconds.
    """
    lab = load(lab_id)
    if task is not None and task not in lab.tasks:
        raise ValueError(f"{lab.id} has no task {task!r}. Its tasks: {', '.join(lab.tasks)}.")
    ns = _caller_namespace() if namespace is None else namespace
    report = run_checks(lab, ns, task=task, public=True, hidden=hidden, seed=seed, timeout=timeout)
    report.show()
    return report
