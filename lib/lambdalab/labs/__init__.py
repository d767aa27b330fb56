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

from .core import CheckFailed, Context, Lab, run_checks, teaching_hint
from .report import Report, ScoreReport
from .results import CheckResult

__all__ = ["check", "score", "load", "available", "Lab", "Context", "CheckFailed", "CheckResult", "Report"]
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


def score(lab_id: str, *, namespace: dict | None = None, timeout: float | None = 30.0) -> ScoreReport:
    """Your overall score for the lab so far: every public check again, points per task and the total (shown).

    The last cell of each lab calls it. Hidden checks add their points when the lab is graded.
    """
    lab = load(lab_id)
    ns = _caller_namespace() if namespace is None else namespace
    report = run_checks(lab, ns, public=True, hidden=False, timeout=timeout)
    card = ScoreReport(report.lab, None, report.results, public=True, hidden=False, seed=None)
    card.show()
    return card


def _teach_on_errors() -> None:
    """In Jupyter, a lab cell's NameError or ImportError shows its traceback and then a hint (what to import or
    define, a close name that exists). Installed when a lab imports ``lambdalab.labs``; it never hides the error."""
    module = sys.modules.get("IPython")
    shell = module.get_ipython() if module is not None else None
    if shell is None or shell.custom_exceptions:  # not in IPython, or someone else's handler is there: leave it
        return

    def show(self, etype, value, tb, tb_offset=None):
        stb = self.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        hint = teaching_hint(value, self.user_ns)
        if hint:
            stb = [*stb, f"\nHint: {hint}"]
        self._showtraceback(etype, value, stb)
        return stb

    shell.set_custom_exc((NameError, ImportError), show)


_teach_on_errors()
