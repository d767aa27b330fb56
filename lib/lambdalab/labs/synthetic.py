"""Synthetic submissions made from a lab's master notebook: a right answer and each kind of bad one, to test the
autograder (tests, benchmarks) or to try ``lambdalab grade`` before a real class hands anything in.

Made fresh from solutions/ every time, so they never go stale when the lab changes.
"""
from __future__ import annotations

import copy
import pathlib

import nbformat

from .generate import is_hidden, read_master, render, student_version

INFINITE_LOOP = "while True:\n    pass"
STUBBORN_LOOP = ("import time\nwhile True:  # swallows every interrupt\n    try:\n        time.sleep(0.1)\n"
                 "    except BaseException:\n        pass")
KILL_KERNEL = "import os\nos._exit(1)"
KINDS = ("correct", "todo", "invalid_json", "not_a_notebook", "syntax_error", "runtime_error", "loops", "stubborn",
         "kills_kernel", "no_checks", "empty_folder")


def _task_cells(nb, kind: str = "code") -> list[int]:
    """Indexes of the cells that hold a task's solution (first code cell of each task), in order."""
    seen, found = set(), []
    for index, cell in enumerate(nb.cells):
        task = cell.get("metadata", {}).get("lambdalab", {}).get("task")
        if task and task not in seen and cell.cell_type == kind and "BEGIN SOLUTION" in cell.source:
            seen.add(task)
            found.append(index)
    return found


def _clean(nb):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not is_hidden(c)]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def _insert(nb, before: int, source: str):
    nb = copy.deepcopy(nb)
    nb.cells.insert(before, nbformat.v4.new_code_cell(source, id=f"synthetic-{before}"))
    return nb


def variant(master_path, lab_id: str, kind: str):
    """The notebook (NotebookNode) for one kind of submission; ``str`` for the file kinds that are not notebooks."""
    master = read_master(master_path)
    solved = _clean(master)
    tasks = _task_cells(solved)
    if kind == "correct":
        return solved
    if kind == "todo":
        return student_version(master, lab_id)
    if kind == "invalid_json":
        return render(solved)[: len(render(solved)) // 2]
    if kind == "not_a_notebook":
        return '{"name": "my lab", "answers": [1, 2, 3]}\n'
    if kind == "syntax_error":  # the second task's cell does not even parse: that task and what uses it score 0
        nb = copy.deepcopy(solved)
        cell = nb.cells[tasks[min(1, len(tasks) - 1)]]
        cell.source = cell.source.replace("):", ")", 1)
        return nb
    if kind == "runtime_error":  # a stray cell that raises, early on: every function is still defined
        return _insert(solved, tasks[0], "1 / 0")
    if kind == "loops":
        return _insert(solved, tasks[-1], INFINITE_LOOP)
    if kind == "stubborn":
        return _insert(solved, tasks[-1], STUBBORN_LOOP)
    if kind == "kills_kernel":
        return _insert(solved, tasks[-1], KILL_KERNEL)
    if kind == "no_checks":
        from .execute import is_check_cell

        nb = copy.deepcopy(solved)
        nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and is_check_cell(c.source))]
        return nb
    raise ValueError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")


def replace_cells(nb, sources: dict):
    """A copy of ``nb`` with the cells whose id is a key of ``sources`` given new source code."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.get("id") in sources:
            cell.source = sources[cell.get("id")]
    return nb


def write(folder, student: str, content) -> pathlib.Path:
    """Save one submission as ``folder/<student>.ipynb`` (``content``: a notebook, raw text, or None = empty folder)."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if content is None:
        (folder / student).mkdir(exist_ok=True)
        return folder / student
    path = folder / f"{student}.ipynb"
    path.write_text(content if isinstance(content, str) else render(content), encoding="utf-8")
    return path


def make_class(master_path, lab_id: str, folder, kinds=KINDS) -> dict[str, str]:
    """Write one submission of each kind (student name = kind) into ``folder``; returns {student: kind}."""
    made = {}
    for kind in kinds:
        write(folder, kind, None if kind == "empty_folder" else variant(master_path, lab_id, kind))
        made[kind] = kind
    return made
