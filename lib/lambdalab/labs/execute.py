"""Grade one submitted notebook: run it in a fresh kernel, then run every check of the lab in that same kernel.

- Every code cell runs, in order, even after one raises (later tasks can still earn points). Check cells are
  skipped: grading never relies on them, so deleting them changes nothing.
- A cell that runs past ``timeout`` seconds is interrupted. If the kernel does not come back, it is replaced by a
  new one, the cells before are run again, and the stuck cell is skipped. A kernel that dies is handled the same way.
- Then the grading code imports ``lambdalab.labs`` afresh and runs public and hidden checks against what the notebook
  defined, writing each result to a JSON file as it goes, so a check that hangs the kernel loses only what is left.

Run as ``python -m lambdalab.labs.execute --lab lab01 NOTEBOOK`` (the autograder does, one process per submission):
prints one JSON object on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import secrets
import sys
import tempfile
import time

CHECK_CELL = re.compile(r"^\s*(from\s+lambdalab\s+import\s+labs\s*;?\s*)?(lambdalab\.)?labs\.(check|score)\(.*\)\s*;?\s*$")
PROBE_TIMEOUT_S = 5
GRADING_CODE = """\
import sys as _grading_sys
for _grading_name in [m for m in list(_grading_sys.modules) if m.split(".")[:2] == ["lambdalab", "labs"]]:
    del _grading_sys.modules[_grading_name]  # a fresh copy of the checks, whatever the notebook did to the old one
from lambdalab.labs.core import grade_to_file as _grade_to_file
_grade_to_file({lab!r}, {path!r}, seed={seed!r}, timeout={timeout!r}, namespace=globals())
"""


class InvalidNotebook(ValueError):
    """The file is not a notebook that can be run."""


def read_submission(path):
    """The notebook, or InvalidNotebook with the reason (not JSON, not a notebook, unreadable)."""
    import nbformat

    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidNotebook(f"cannot read the file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise InvalidNotebook(f"not valid JSON ({exc.msg}: line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise InvalidNotebook("valid JSON but not a Jupyter notebook (no list of cells)")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds
        raise InvalidNotebook(f"not a notebook nbformat can read ({type(exc).__name__}: {exc})") from None
    for cell in nb.cells:
        if not isinstance(cell.get("source", ""), str) or "cell_type" not in cell:
            raise InvalidNotebook("a cell has no type or no source")
    return nb


def is_check_cell(source: str) -> bool:
    """True for a cell that only calls labs.check(...) or labs.score(...) (comments aside)."""
    lines = [line for line in source.split("\n") if line.strip() and not line.strip().startswith("#")]
    return bool(lines) and all(CHECK_CELL.match(line) for line in lines)


def _client_class():
    from nbclient import NotebookClient

    class ErrorsOnlyClient(NotebookClient):
        """Keeps only error outputs, so a cell that prints forever cannot fill the grader's memory."""

        def output(self, outs, msg, display_id, cell_index):
            if msg["msg_type"] == "error":
                return super().output(outs, msg, display_id, cell_index)
            return None

    return ErrorsOnlyClient


def _run_cell(client, cell, index, timeout) -> dict:
    """Execute one cell; returns {"status": ok|error|timeout|dead, "error": text}."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    client.timeout = timeout
    try:
        client.execute_cell(cell, index)
    except CellTimeoutError:
        _stop_stale_pollers()
        return {"status": "timeout", "error": f"still running after {timeout} s"}
    except DeadKernelError:
        return {"status": "dead", "error": "the kernel died (os._exit, a crash or out of memory)"}
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        return {"status": "error", "error": f"{errors[0].get('ename')}: {str(errors[0].get('evalue'))[:300]}"}
    return {"status": "ok", "error": None}


def _stop_stale_pollers() -> None:
    """Cancel what nbclient leaves running after a cell timed out: its reader of the cell's output messages stays
    on the event loop and takes the next cells' messages from them, so each later cell waited nbclient's 4 s
    ``iopub_timeout`` for its own "idle" message (and could miss its error output)."""
    import asyncio

    from jupyter_core.utils import ensure_event_loop

    loop = ensure_event_loop()
    stale = [t for t in asyncio.all_tasks(loop) if not t.done() and getattr(t.get_coro(), "__name__", "") in
             ("_async_poll_output_msg", "_async_poll_kernel_alive")]
    for task in stale:
        task.cancel()
    if stale:
        loop.run_until_complete(asyncio.gather(*stale, return_exceptions=True))


def _recovered(client, probe_index: int) -> bool:
    """After a timeout: interrupt the kernel and see whether it answers again (runs the probe cell)."""
    from jupyter_core.utils import run_sync

    try:
        run_sync(client.km.interrupt_kernel)()
    except Exception:  # noqa: BLE001
        return False
    return _run_cell(client, client.nb.cells[probe_index], probe_index, PROBE_TIMEOUT_S)["status"] == "ok"


def _read_results(path) -> list[dict]:
    try:
        return json.loads(pathlib.Path(path).read_text())["results"]
    except (OSError, ValueError, KeyError):
        return []


def run_submission(path, lab_id: str, *, timeout: float = 60, check_timeout: float = 30, seed: int = 0,
                   workdir=None) -> dict:
    """Run ``path`` and grade it; returns {"status", "message", "cells", "results", "restarts", "seconds"}."""
    started = time.perf_counter()
    report = {"status": "graded", "message": "", "cells": {}, "results": [], "restarts": 0}
    try:
        nb = read_submission(path)
    except InvalidNotebook as exc:
        report.update(status="invalid notebook", message=str(exc), seconds=round(time.perf_counter() - started, 2))
        return report
    workdir = workdir or tempfile.mkdtemp(prefix="lambdalab-grade-")
    results_path = os.path.join(workdir, f".results-{secrets.token_hex(8)}.json")
    cells = [(i, c) for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and c.source.strip() and not is_check_cell(c.source)]
    for _, cell in cells:
        cell.outputs = []
    import nbformat

    # Two cells of the grader's own at the end (nbclient writes executed cells back into the notebook by index).
    code = GRADING_CODE.format(lab=lab_id, path=results_path, seed=seed, timeout=check_timeout)
    nb.cells += [nbformat.v4.new_code_cell("pass"), nbformat.v4.new_code_cell(code)]
    probe_index, grading_index = len(nb.cells) - 2, len(nb.cells) - 1
    from lambdalab.labs import load

    n_checks = len(load(lab_id).checks(public=True, hidden=True))
    grading_timeout = check_timeout * n_checks + 60
    skip: set[int] = set()
    graded = None
    while graded is None:
        client = _client_class()(nb, kernel_name="python3", allow_errors=True, interrupt_on_timeout=False,
                                 shutdown_kernel="immediate", startup_timeout=120,
                                 resources={"metadata": {"path": workdir}})
        restart = False
        with client.setup_kernel():
            for index, cell in cells:
                if index in skip:
                    continue
                outcome = _run_cell(client, cell, index, timeout)
                outcome["line"] = next((line.strip() for line in cell.source.split("\n") if line.strip()), "")[:80]
                report["cells"][str(index)] = outcome
                if outcome["status"] in ("timeout", "dead"):
                    skip.add(index)
                    if outcome["status"] == "dead" or not _recovered(client, probe_index):
                        restart = True
                        break
            if not restart:
                graded = _run_cell(client, nb.cells[grading_index], grading_index, grading_timeout)
        if restart:
            report["restarts"] += 1
    report["results"] = _read_results(results_path)
    if graded["status"] != "ok":
        report["status"] = "grading incomplete"
        report["message"] = f"the checks stopped early: {graded['error']}"
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report


def main(argv=None) -> int:
    # jsonschema (under nbformat) imports rfc3987_syntax for a format check the grader never uses; building its
    # grammar costs ~1.5 s of CPU per submission. Hide it in this short-lived grading process.
    sys.modules.setdefault("rfc3987_syntax", None)
    parser = argparse.ArgumentParser(description="Grade one notebook; print the result as JSON.")
    parser.add_argument("notebook")
    parser.add_argument("--lab", required=True)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--check-timeout", type=float, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir")
    args = parser.parse_args(argv)
    report = run_submission(args.notebook, args.lab, timeout=args.timeout, check_timeout=args.check_timeout,
                            seed=args.seed, workdir=args.workdir)
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
