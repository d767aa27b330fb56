"""Make the student version of a lab (labs/labNN_x.ipynb) from its master in solutions/.

Markers in the master, like nbgrader's and otter's:

- Code cells: the lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` become ``# TODO: ...`` and
  ``raise NotImplementedError`` (same indentation). ``# BEGIN SOLUTION: decode the key`` sets the TODO text.
  A ``# STUDENT: code`` line inside the block replaces the ``raise`` (for top-level code, e.g. a placeholder value).
- Markdown cells: ``<!-- BEGIN SOLUTION -->`` ... ``<!-- END SOLUTION -->`` is removed.
- Hidden cells (first line ``# HIDDEN`` or ``<!-- HIDDEN -->``, or the cell tag ``hidden``) are removed.

Outputs and execution counts are dropped; cell ids and the ``lambdalab`` cell metadata (``{"task": "task1"}``) are
kept, so generating twice gives byte-identical files. ``stale()`` lists student versions that are out of date.
"""
from __future__ import annotations

import copy
import json
import pathlib
import re

import nbformat

BEGIN = re.compile(r"^(?P<indent>[ \t]*)#+[ \t]*BEGIN SOLUTION\b[ \t]*:?[ \t]*(?P<todo>.*?)[ \t]*$")
END = re.compile(r"^[ \t]*#+[ \t]*END SOLUTION\b")
STUDENT = re.compile(r"^[ \t]*#[ \t]*STUDENT:[ \t]?(?P<code>.*)$")
MD_BEGIN = re.compile(r"^\s*<!--\s*BEGIN SOLUTION\s*-->\s*$")
MD_END = re.compile(r"^\s*<!--\s*END SOLUTION\s*-->\s*$")
NEAR_MISS = re.compile(r"^\s*(#|<!--).*\b(begin|end)[ \t_-]*solution\b", re.IGNORECASE)  # "# begin solution"
HIDDEN = re.compile(r"^\s*(#\s*HIDDEN\b|<!--\s*HIDDEN\s*-->)")
KEEP_CELL_METADATA = ("lambdalab", "tags", "jupyter", "editable", "deletable", "slideshow")
DEFAULT_TODO = "write your code here"


class MarkerError(ValueError):
    """The master notebook's solution markers are malformed; the message names the cell and line."""


def repo_root() -> pathlib.Path:
    """The course folder (the one with solutions/): next to this package when installed from the repo, else the
    current folder or one of its parents."""
    here = pathlib.Path(__file__).resolve().parents[3]
    for candidate in (here, pathlib.Path.cwd(), *pathlib.Path.cwd().parents):
        if (candidate / "solutions").is_dir():
            return candidate
    return pathlib.Path.cwd()


def is_hidden(cell) -> bool:
    return "hidden" in cell.get("metadata", {}).get("tags", []) or bool(HIDDEN.match(cell.get("source", "")))


def student_code(source: str, where: str = "cell") -> str:
    """A code cell's source with every solution block replaced by a TODO."""
    out, block, indent, todo, student = [], None, "", "", []
    for number, line in enumerate(source.split("\n"), 1):
        begin, end = BEGIN.match(line), END.match(line)
        if not (begin or end):
            _refuse_near_miss(line, number, where, "# BEGIN SOLUTION / # END SOLUTION")
        if begin:
            if block is not None:
                raise MarkerError(f"{where}, line {number}: BEGIN SOLUTION inside the block opened on line {block}; "
                                  "close it with # END SOLUTION first.")
            block, indent, todo, student = number, begin["indent"], begin["todo"] or DEFAULT_TODO, []
        elif end:
            if block is None:
                raise MarkerError(f"{where}, line {number}: END SOLUTION without a BEGIN SOLUTION before it.")
            out.append(f"{indent}# TODO: {todo}")
            out.extend(student or [f"{indent}raise NotImplementedError"])
            block = None
        elif block is not None:
            match = STUDENT.match(line)
            if match:
                student.append(f"{indent}{match['code']}")
        else:
            out.append(line)
    if block is not None:
        raise MarkerError(f"{where}, line {block}: BEGIN SOLUTION has no END SOLUTION.")
    return "\n".join(out)


def _refuse_near_miss(line: str, number: int, where: str, form: str) -> None:
    """A marker written slightly wrong ("# begin solution") would leave the answer in the student version."""
    if NEAR_MISS.match(line):
        raise MarkerError(f"{where}, line {number}: {line.strip()!r} looks like a solution marker but is not one, so "
                          f"the answer would stay in the student version. Write it exactly as {form}.")


def student_markdown(source: str, where: str = "cell") -> str:
    """A Markdown cell's source without its ``<!-- BEGIN/END SOLUTION -->`` blocks."""
    out, block = [], None
    for number, line in enumerate(source.split("\n"), 1):
        if not (MD_BEGIN.match(line) or MD_END.match(line)):
            _refuse_near_miss(line, number, where, "<!-- BEGIN SOLUTION --> / <!-- END SOLUTION --> on lines of their own")
        if MD_BEGIN.match(line):
            if block is not None:
                raise MarkerError(f"{where}, line {number}: BEGIN SOLUTION inside another solution block.")
            block = number
        elif MD_END.match(line):
            if block is None:
                raise MarkerError(f"{where}, line {number}: END SOLUTION without a BEGIN SOLUTION before it.")
            block = None
        elif block is None:
            out.append(line)
    if block is not None:
        raise MarkerError(f"{where}, line {block}: BEGIN SOLUTION has no END SOLUTION.")
    return "\n".join(out).strip("\n")


def read_master(path) -> nbformat.NotebookNode:
    """Read a notebook without letting nbformat invent random cell ids (missing ids become cell-N)."""
    data = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    for index, cell in enumerate(data.get("cells", [])):
        cell.setdefault("id", f"cell-{index}")
    data["nbformat"], data["nbformat_minor"] = 4, max(5, data.get("nbformat_minor", 5))
    return nbformat.reads(json.dumps(data), as_version=4)


def student_version(master, lab_id: str, source_name: str = "") -> nbformat.NotebookNode:
    """The student notebook for ``master``: solutions replaced, hidden cells removed, outputs dropped."""
    cells = []
    for index, cell in enumerate(master.cells):
        if is_hidden(cell):
            continue
        where = f"{source_name or 'notebook'} cell {index} ({cell.get('id')})"
        new = copy.deepcopy(cell)
        new.metadata = {k: v for k, v in cell.get("metadata", {}).items() if k in KEEP_CELL_METADATA}
        if cell.cell_type == "code":
            new.source = student_code(cell.source, where)
            new.outputs, new.execution_count = [], None
        elif cell.cell_type == "markdown":
            new.source = student_markdown(cell.source, where)
        cells.append(new)
    metadata = {k: v for k, v in master.metadata.items() if k in ("kernelspec", "language_info")}
    metadata["lambdalab"] = {"lab": lab_id, "version": "student", "generated_from": source_name}
    nb = nbformat.v4.new_notebook(cells=cells, metadata=metadata)
    nb.nbformat_minor = master.get("nbformat_minor", 5)
    return nb


def render(nb) -> str:
    """The notebook as the exact text written to disk."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def pairs(root=None, lab: str | None = None) -> list[tuple[str, pathlib.Path, pathlib.Path]]:
    """(lab id, master path, student path) for every lab in solutions/ (or just ``lab``: "lab01")."""
    root = pathlib.Path(root) if root else repo_root()
    found = []
    for master in sorted((root / "solutions").glob("lab[0-9][0-9]*.ipynb")):
        lab_id = master.stem.split("_", 1)[0]
        if lab in (None, lab_id, master.stem):
            found.append((lab_id, master, root / "labs" / master.name))
    if lab and not found:
        raise FileNotFoundError(f"No master notebook for {lab!r} in {root / 'solutions'}.")
    return found


def expected_text(lab_id: str, master: pathlib.Path) -> str:
    return render(student_version(read_master(master), lab_id, f"solutions/{master.name}"))


def generate(root=None, lab: str | None = None) -> list[tuple[pathlib.Path, bool]]:
    """Write labs/ from solutions/; returns (student path, changed?) for each lab."""
    written = []
    for lab_id, master, student in pairs(root, lab):
        text = expected_text(lab_id, master)
        changed = not student.exists() or student.read_text(encoding="utf-8") != text
        if changed:
            student.parent.mkdir(parents=True, exist_ok=True)
            student.write_text(text, encoding="utf-8")
        written.append((student, changed))
    return written


def stale(root=None, lab: str | None = None) -> list[pathlib.Path]:
    """Student notebooks that are missing or differ from what ``generate`` would write."""
    return [student for lab_id, master, student in pairs(root, lab)
            if not student.exists() or student.read_text(encoding="utf-8") != expected_text(lab_id, master)]


def lint(master_path, lab) -> list[str]:
    """Problems with a master notebook: tasks of ``lab`` (a Lab) without a solution cell or a check cell, outputs."""
    nb = read_master(master_path)
    problems = []
    for task in lab.tasks:
        cells = [c for c in nb.cells if c.get("metadata", {}).get("lambdalab", {}).get("task") == task]
        if not any(c.cell_type == "code" and any(BEGIN.match(line) for line in c.source.split("\n")) for c in cells):
            problems.append(f"{task}: no code cell with metadata lambdalab.task={task!r} holds a BEGIN SOLUTION block")
        call = re.compile(rf"labs\.check\(\s*['\"]{lab.id}['\"]\s*,\s*['\"]{task}['\"]\s*\)")
        if not any(c.cell_type == "code" and call.search(c.source) for c in nb.cells):
            problems.append(f'{task}: no check cell calling labs.check("{lab.id}", "{task}")')
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            problems.append(f"cell {index} ({cell.get('id')}) has outputs: clear them before committing")
        if cell.cell_type == "code" and not is_hidden(cell):
            student_code(cell.source, f"cell {index}")
    return problems
