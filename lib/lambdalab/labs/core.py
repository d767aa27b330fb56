"""What every lab's checks are made of: a ``Lab`` with ``Task``s, each with public and hidden ``Check``s.

A check is a plain function that takes a ``Context`` (the student's namespace plus helpers) and either returns
(passed) or raises ``CheckFailed`` with the expected and actual values and a hint. Calls into the student's code go
through ``Context.call`` so that "not written yet", "not defined" and "your code raised" are reported as such,
not as a bug in the check. ``run_checks`` runs a selection of checks, each with a time limit, and returns a
``Report`` (see ``report.py``; statuses and result types are in ``results.py``).
"""
from __future__ import annotations

import contextlib
import random
import secrets
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field

from .report import Report
from .results import ERROR, FAILED, MISSING, NOT_RUN, PASSED, TIMEOUT, TODO, CheckResult

PUBLIC_SEED = 20240101  # public checks see the same inputs every time; hidden ones get a seed per grading run
_UNSET = object()


class Plain(str):
    """A description shown as it is in expected/actual (``75x150 pixels``), where a value would be shown as repr."""

    def __repr__(self):
        return str(self)


class CheckFailed(AssertionError):
    """The student's code ran but gave a wrong answer."""

    def __init__(self, message, *, expected=_UNSET, actual=_UNSET, call=None, hint=None):
        super().__init__(message)
        self.message, self.expected, self.actual, self.call, self.hint = message, expected, actual, call, hint


class NotDone(Exception):
    """The student's function still raises NotImplementedError (the TODO is not written yet)."""


class Missing(Exception):
    """A name the task needs is not defined in the student's namespace."""


class StudentError(Exception):
    """The student's code raised an exception the task did not ask for."""

    def __init__(self, message, *, call=None, hint=None, details=""):
        super().__init__(message)
        self.message, self.call, self.hint, self.details = message, call, hint, details


class CheckTimeout(BaseException):
    """A check ran past its time limit (a BaseException, so a student's ``except Exception`` cannot swallow it)."""


@dataclass
class Check:
    """One check: ``fn(context)`` for a task, worth ``points`` when it passes."""

    id: str
    task: str
    title: str
    points: int
    hidden: bool
    fn: object = field(repr=False)
    timeout: float | None = None


@dataclass
class Task:
    """A task of a lab: what the student writes (``functions``) and the checks that grade it."""

    id: str
    title: str
    functions: tuple = ()
    checks: list = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(c.points for c in self.checks)


class Lab:
    """A graded lab: its id (``lab01``), title, master notebook name and tasks. Declare checks with ``@lab.check``."""

    def __init__(self, id: str, title: str, notebook: str, hidden_summary: str = ""):
        self.id, self.title, self.notebook, self.hidden_summary = id, title, notebook, hidden_summary
        self.tasks: dict[str, Task] = {}

    def task(self, id: str, title: str, functions=()) -> Task:
        """Declare a task (in the order the notebook presents them)."""
        self.tasks[id] = Task(id, title, tuple(functions))
        return self.tasks[id]

    def check(self, task: str, *, points: int = 1, hidden: bool = False, timeout: float | None = None):
        """Decorator: register ``fn(context)`` as a check of ``task``; its docstring's first line is its title."""
        def register(fn):
            doc = (fn.__doc__ or fn.__name__.replace("_", " ")).strip().splitlines()[0]
            self.tasks[task].checks.append(Check(f"{task}.{fn.__name__}", task, doc, points, hidden, fn, timeout))
            return fn
        return register

    def checks(self, task: str | None = None, *, public: bool = True, hidden: bool = False) -> list[Check]:
        """The checks of one task (or all), public and/or hidden, in declaration order."""
        if task is not None and task not in self.tasks:
            raise KeyError(f"{self.id} has no task {task!r}; its tasks are {', '.join(self.tasks)}.")
        tasks = [self.tasks[task]] if task else list(self.tasks.values())
        return [c for t in tasks for c in t.checks if (c.hidden and hidden) or (not c.hidden and public)]

    @property
    def points(self) -> int:
        return sum(t.points for t in self.tasks.values())

    def __repr__(self):
        return f"Lab({self.id!r}, {self.title!r}, tasks={list(self.tasks)}, points={self.points})"


def _short(value, limit=300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Context:
    """What a check gets: the student's names, a seeded ``rng``, and helpers that report problems clearly."""

    def __init__(self, namespace: dict, lab: Lab, check: Check, *, seed: int, shared: dict):
        self.namespace, self.lab, self.check = namespace, lab, check
        self.task, self.hidden = lab.tasks[check.task], check.hidden
        self.rng = random.Random(f"{seed}:{check.id}")  # the same inputs for the same seed, different per check
        self.shared = shared  # state shared by the checks of one run; callables in shared["cleanups"] run at its end
        self._cleanups: list = []

    def get(self, name: str):
        """The student's object called ``name``; Missing (with what to do) if it is not defined."""
        if name not in self.namespace:
            raise Missing(f"`{name}` is not defined. Run the cell where you write it (in {self.task.title}), "
                          "then run this check again.")
        return self.namespace[name]

    def call(self, name: str, *args, **kwargs):
        """Call the student's function ``name``; its NotImplementedError becomes NotDone, any other error
        StudentError with the call and the student's line that raised."""
        return self.call_as(call_text(name, args, kwargs), name, *args, **kwargs)

    def call_as(self, shown: str, name: str, *args, **kwargs):
        """``call``, with ``shown`` as the call a student reads in the report (e.g. "handler(<event>, context)")."""
        fn = self.get(name)
        if not callable(fn):
            raise CheckFailed(f"`{name}` should be a function, but it is a {type(fn).__name__}.", call=shown,
                              hint=f"Define it with `def {name}(...):`.")
        try:
            return fn(*args, **kwargs)
        except NotImplementedError as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            todo = frames[-1].name if frames and frames[-1].name != "<module>" else name
            via = f" (`{name}` calls it)" if todo != name else ""
            raise NotDone(f"`{todo}` is not written yet{via}: it still raises NotImplementedError. Replace the "
                          "TODO with your code, run that cell, then run this check again.") from None
        except CheckTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 - anything the student's code raises is reported, not re-raised
            raise student_error(exc, shown, hint=teaching_hint(exc, self.namespace)) from None

    def fail(self, message, **details):
        """Fail this check: ``details`` are expected=, actual=, call=, hint=."""
        raise CheckFailed(message, **details)

    def expect_equal(self, actual, expected, *, call=None, hint=None, message=None):
        """Fail unless ``actual`` equals ``expected`` (judged by ``same_value``, never by the student's ``__eq__``)."""
        if not same_value(actual, expected):
            raise CheckFailed(message or "The result is not what was expected.", expected=expected, actual=actual,
                              call=call, hint=hint)

    def on_cleanup(self, fn) -> None:
        """Run ``fn()`` after this check, whatever happened (e.g. delete scratch buckets)."""
        self._cleanups.append(fn)

    def cleanup(self) -> None:
        for fn in reversed(self._cleanups):
            with contextlib.suppress(Exception):
                fn()
        self._cleanups.clear()


def same_value(actual, expected) -> bool:
    """``actual == expected`` as the expected value's own type defines it, so that an object of the student's that
    claims to equal anything (``__eq__`` returning True) does not pass a check. Dicts, lists and tuples are compared
    item by item; a ``str`` subclass counts by its text; any other value must be of exactly the expected type."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        pairs = list(dict.items(actual))  # the stored items, whatever a dict subclass does to items() or get()
        if len(pairs) != len(expected) or any(type(k) not in (str, int) for k, _ in pairs):
            return False
        plain = dict(pairs)
        return plain.keys() == expected.keys() and all(same_value(plain[k], v) for k, v in expected.items())
    if isinstance(expected, (list, tuple)):
        kind = list if isinstance(expected, list) else tuple
        if not isinstance(actual, kind):
            return False
        items = list(kind.__iter__(actual))
        return len(items) == len(expected) and all(same_value(a, e) for a, e in zip(items, expected))
    if type(expected) is str and isinstance(actual, str):
        return str.__str__(actual) == expected  # the plain text of a str subclass
    return type(actual) is type(expected) and bool(actual == expected)


def call_text(name, args=(), kwargs=None) -> str:
    """``decode_key('a+b.jpg')`` as the student would write it (long arguments shortened)."""
    parts = [_short(a, 60) if not isinstance(a, (bytes, bytearray)) else f"<{len(a):,} bytes>" for a in args]
    parts += [f"{k}={_short(v, 60)}" for k, v in (kwargs or {}).items()]
    return f"{name}({', '.join(parts)})"


# Standard-library modules the labs' tasks use: a missing name found in one of them is a missing import.
_HINT_MODULES = ("urllib.parse", "json", "base64", "io", "datetime", "decimal", "hashlib", "math", "os", "re")


def _module_with(name: str) -> str | None:
    """The first of the labs' usual modules that defines ``name`` (``unquote_plus`` -> ``urllib.parse``)."""
    import importlib

    for module_name in _HINT_MODULES:
        if hasattr(importlib.import_module(module_name), name):
            return module_name
    return None


def teaching_hint(exc: BaseException, namespace: dict) -> str | None:
    """A hint for the mistakes a traceback alone does not teach: a name never imported or defined, a wrong import."""
    import difflib

    if isinstance(exc, NameError) and getattr(exc, "name", None):
        name = exc.name
        known = [n for n in namespace if not n.startswith("_")]
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        home = _module_with(name)
        where = f"import it (`from {home} import {name}`)" if home else "define it (or import it)"
        hint = f"`{name}` is not defined where your code runs: {where} in a cell above; run that cell, then try again."
        return hint + (f" Did you mean `{close[0]}`, which is defined?" if close else "")
    if isinstance(exc, ImportError):
        what = f"`{exc.name}`" if getattr(exc, "name", None) else "that module"
        return (f"The import failed: check the spelling of {what} and of the name you import from it; the lab's "
                "first code cell imports everything the tasks need.")
    return None


def student_error(exc: BaseException, call: str | None = None, hint: str | None = None) -> StudentError:
    """A StudentError for ``exc``, naming the line of the student's code (notebook cell) that raised it."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_student_code(f.filename)]
    where = ""
    if frames:
        last = frames[-1]
        where = f" (in `{last.name}`: `{(last.line or '').strip()}`)" if last.line else f" (in `{last.name}`)"
    details = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return StudentError(f"Your code raised {type(exc).__name__}: {exc}{where}", call=call, hint=hint, details=details)


def _is_student_code(filename: str) -> bool:
    """True for a notebook cell or the student's own file; False for the library, Pillow, boto3, the stdlib."""
    name = filename.replace("\\", "/")
    return not any(part in name for part in ("/lambdalab/", "site-packages", "/lib/python3", "<frozen"))


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise CheckTimeout in this (main) thread after ``seconds``; a no-op elsewhere or without SIGALRM."""
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def _expired(signum, frame):
        raise CheckTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_check(check: Check, lab: Lab, namespace: dict, *, seed: int, shared: dict, timeout: float | None):
    """Run one check; never raises (except KeyboardInterrupt): returns a CheckResult."""
    result = CheckResult(check.id, check.task, check.title, NOT_RUN, 0, check.points, check.hidden)
    ctx = Context(namespace, lab, check, seed=seed, shared=shared)
    limit = check.timeout or timeout
    started = time.perf_counter()
    try:
        with time_limit(limit):
            try:
                check.fn(ctx)
            finally:
                ctx.cleanup()
        result.status, result.points, result.message = PASSED, check.points, "Passed."
    except CheckFailed as exc:
        result.status, result.message, result.call, result.hint = FAILED, exc.message, exc.call, exc.hint
        if exc.expected is not _UNSET:
            result.expected = _short(exc.expected)
        if exc.actual is not _UNSET:
            result.actual = _short(exc.actual)
    except NotDone as exc:
        result.status, result.message = TODO, str(exc)
    except Missing as exc:
        result.status, result.message = MISSING, str(exc)
    except StudentError as exc:
        result.status, result.message, result.call, result.hint = ERROR, exc.message, exc.call, exc.hint
    except CheckTimeout:
        result.status = TIMEOUT
        result.message = (f"Stopped after {limit:g} s without finishing. Look for a loop that never ends, "
                          "or work that is far bigger than it needs to be.")
    except Exception as exc:  # noqa: BLE001 - a problem inside the check itself, reported, never raised
        result.status = ERROR
        result.message = f"The check itself failed ({type(exc).__name__}: {exc}). Tell your instructor."
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def run_checks(lab: Lab, namespace: dict, *, task: str | None = None, public: bool = True, hidden: bool = False,
               seed: int | None = None, timeout: float | None = 30.0, on_result=None):
    """Run the selected checks of ``lab`` against ``namespace``; returns a Report.

    Public checks always use the same inputs; hidden ones use ``seed`` (random when None), so a student cannot
    hard-code their answers. ``on_result(result)`` is called after each check (the grader saves progress with it).
    """
    seed = secrets.randbelow(2**31) if seed is None else seed
    shared: dict = {"cleanups": []}
    results = []
    try:
        for check in lab.checks(task, public=public, hidden=hidden):
            result = run_check(check, lab, namespace, seed=seed if check.hidden else PUBLIC_SEED, shared=shared,
                               timeout=timeout)
            results.append(result)
            if on_result:
                on_result(result)
    finally:
        for fn in reversed(shared["cleanups"]):
            with contextlib.suppress(Exception):
                fn()
    return Report(lab, task, results, public=public, hidden=hidden, seed=seed if hidden else None)


def grade_to_file(lab_id: str, path: str, *, seed: int, timeout: float | None, namespace: dict) -> None:
    """The autograder's in-kernel step: run every check (public and hidden) on ``namespace``; after each one,
    rewrite ``path`` with the results so far (JSON), so a check that hangs the kernel loses only what is left."""
    import json
    import os

    from . import load

    lab = load(lab_id)
    results: list = []

    def save(result):
        results.append(result.to_dict())
        with open(path + ".tmp", "w", encoding="utf-8") as out:
            json.dump({"lab": lab.id, "seed": seed, "results": results}, out)
        os.replace(path + ".tmp", path)

    run_checks(lab, namespace, public=True, hidden=True, seed=seed, timeout=timeout, on_result=save)
