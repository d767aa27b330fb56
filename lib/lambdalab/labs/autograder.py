"""The instructor's autograder: grade a folder of submitted notebooks into a CSV gradebook and feedback files.

    lambdalab grade SUBMISSIONS_DIR --lab lab01 --out grades.csv [--feedback-dir DIR] [--timeout 60] [--jobs 2]

Each submission runs in its own process and its own fresh kernel (``execute.py``), several at a time; one that is
not valid JSON, raises, loops forever or kills its kernel is graded for what it did and never stops the batch.
Submissions are ``SUBMISSIONS_DIR/<student>.ipynb`` or ``SUBMISSIONS_DIR/<student>/.../<lab notebook>.ipynb``.
Points come from the lab's own declaration (``lab01.py``), never from what the notebook's kernel reports.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import pathlib
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from . import load
from .core import Lab
from .results import NOT_RUN, PASSED, CheckResult, Totals

CSV_COLUMNS = ["student", "lab", "check", "points", "max", "status", "time", "detail"]


@dataclass
class Submission:
    """One student's notebook (``path`` None when their folder holds no notebook)."""

    student: str
    path: pathlib.Path | None
    note: str = ""


@dataclass
class Graded(Totals):
    """A graded submission: one result per check of the lab, and how the notebook ran."""

    student: str
    path: str | None
    status: str  # graded | grading incomplete | invalid notebook | no notebook | grader timeout | grader error
    message: str
    results: list
    cells: dict = field(default_factory=dict)
    restarts: int = 0
    seconds: float = 0.0

    def problems(self) -> list[str]:
        """What went wrong while the notebook ran, one line each (cell numbers count from 1)."""
        lines = [self.message] if self.message else []
        for index, cell in sorted(self.cells.items(), key=lambda item: int(item[0])):
            if cell["status"] != "ok":
                verb = {"error": "raised", "timeout": "was stopped:", "dead": "crashed the kernel:"}[cell["status"]]
                lines.append(f"cell {int(index) + 1} (`{cell.get('line', '')}`) {verb} {cell['error']}")
        if self.restarts:
            lines.append(f"the kernel was replaced {self.restarts} time(s); the cells before were run again")
        return lines


def find_submissions(folder, lab: Lab) -> list[Submission]:
    """Every submission in ``folder``: a notebook file (student = file name) or a folder (student = folder name)."""
    folder = pathlib.Path(folder).resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of submissions.")
    found: dict[str, Submission] = {}
    for entry in sorted(folder.iterdir()):
        if _skipped(entry.name):  # .ipynb_checkpoints, __MACOSX and ._name files from zip files
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            sub = Submission(entry.stem, entry)
        elif entry.is_dir():
            sub = _from_folder(entry, lab)
        else:
            continue
        # One name per student, whatever the file system: "Alice" and "alice" would share alice.md on macOS or
        # Windows, and a name unzipped on macOS (decomposed accents) must match the same name typed elsewhere.
        base = unicodedata.normalize("NFC", sub.student)
        name, n = base, 2
        while name.casefold() in found:
            name, n = f"{base}-{n}", n + 1
        sub.student = name
        found[name.casefold()] = sub
    return list(found.values())


def _skipped(name: str) -> bool:
    """Files and folders that are never a submission: hidden ones and what zip tools add (__MACOSX, ._name)."""
    return name.startswith((".", "__"))


def _from_folder(folder: pathlib.Path, lab: Lab) -> Submission:
    notebooks = [p for p in folder.rglob("*.ipynb")
                 if not any(_skipped(part) for part in p.relative_to(folder).parts)]
    # The lab's own file name first, then names that start like it; nearest the top, then by name.
    notebooks.sort(key=lambda p: (p.stem != lab.notebook, len(p.relative_to(folder).parts), str(p)))
    matching = [p for p in notebooks if p.stem.startswith((lab.notebook, lab.id))] or notebooks
    if not matching:
        return Submission(folder.name, None, "no .ipynb file in the folder")
    chosen = matching[0].relative_to(folder).as_posix()
    note = f"{len(matching)} notebooks in the folder; graded {chosen}" if len(matching) > 1 else ""
    return Submission(folder.name, matching[0], note)


def complete(lab: Lab, raw: list[dict]) -> list[CheckResult]:
    """One result per check the lab declares, in order; points from the lab, full only for a pass."""
    by_id = {r.get("id"): r for r in raw if isinstance(r, dict)}
    results = []
    for check in lab.checks(public=True, hidden=True):
        data = by_id.get(check.id)
        result = CheckResult.from_dict(data) if data else CheckResult(
            check.id, check.task, check.title, NOT_RUN, 0, check.points, check.hidden,
            "Not run: the notebook could not be graded this far.")
        result.title, result.task, result.hidden = check.title, check.task, check.hidden
        result.max_points = check.points
        result.points = check.points if result.status == PASSED else 0
        results.append(result)
    return results


def grade_one(sub: Submission, lab: Lab, *, timeout: float, check_timeout: float, seed: int,
              budget: float | None = None) -> Graded:
    """Grade one submission in a worker process (killed with its kernel after ``budget`` seconds)."""
    started = time.perf_counter()
    if sub.path is None:
        return Graded(sub.student, None, "no notebook", sub.note, complete(lab, []))
    budget = budget or max(300.0, 5 * timeout)
    workdir = tempfile.mkdtemp(prefix=f"lambdalab-grade-{lab.id}-")
    env = {**os.environ, "LAMBDALAB_BACKEND": "moto", "LAMBDALAB_PROGRESS_DIR": os.path.join(workdir, "progress")}
    for name in ("LAMBDALAB_ENDPOINT", "AWS_PROFILE"):
        env.pop(name, None)
    command = [sys.executable, "-m", "lambdalab.labs.execute", "--lab", lab.id, "--timeout", str(timeout),
               "--check-timeout", str(check_timeout), "--seed", str(seed), "--workdir", workdir, str(sub.path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=workdir,
                               start_new_session=True, text=True)
    try:
        out, err = process.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the worker; its kernel exits when it sees its parent gone
        process.communicate()
        partial = _partial_results(workdir)
        return Graded(sub.student, str(sub.path), "grader timeout",
                      f"grading took longer than {budget:g} s and was stopped", complete(lab, partial),
                      seconds=round(time.perf_counter() - started, 2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    try:
        report = json.loads(out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        lines = (err or "").strip().splitlines()
        cause = next((line for line in reversed(lines) if "Error" in line or "Exception" in line),
                     lines[-1] if lines else "no output")
        return Graded(sub.student, str(sub.path), "grader error", f"the grader failed: {_clip(cause, 300)}",
                      complete(lab, []), seconds=round(time.perf_counter() - started, 2))
    message = "; ".join(m for m in (sub.note, report.get("message", "")) if m)
    return Graded(sub.student, str(sub.path), report["status"], message, complete(lab, report.get("results", [])),
                  report.get("cells", {}), report.get("restarts", 0), round(time.perf_counter() - started, 2))


def _partial_results(workdir) -> list[dict]:
    for path in pathlib.Path(workdir).glob(".results-*.json"):
        try:
            return json.loads(path.read_text())["results"]
        except (OSError, ValueError, KeyError):
            pass
    return []


def grade(folder, lab_id: str, out=None, *, feedback_dir=None, timeout: float = 60, check_timeout: float = 30,
          jobs: int | None = None, seed: int | None = None, progress: bool = True) -> "Gradebook":
    """Grade every submission in ``folder``; write the CSV (``out``) and feedback files; return the Gradebook."""
    lab = load(lab_id)
    submissions = find_submissions(folder, lab)
    seed = secrets.randbelow(10**6) if seed is None else seed
    jobs = max(1, jobs or min(4, os.cpu_count() or 2))
    from tqdm.auto import tqdm

    graded = []
    started = time.perf_counter()
    with tqdm(total=len(submissions), desc=f"Grading {lab.id}", unit="notebook", file=sys.stderr,
              disable=not progress) as bar, ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(grade_one, sub, lab, timeout=timeout, check_timeout=check_timeout, seed=seed): sub
                   for sub in submissions}
        for future in as_completed(futures):
            result = future.result()
            graded.append(result)
            bar.set_postfix_str(f"{result.student}: {result.points}/{result.max_points}")
            bar.update()
    graded.sort(key=lambda g: g.student.lower())
    book = Gradebook(lab, graded, seed, round(time.perf_counter() - started, 1), jobs)
    if out:
        book.write_csv(out)
        feedback_dir = feedback_dir or pathlib.Path(out).with_name(pathlib.Path(out).stem + "-feedback")
    if feedback_dir:
        book.write_feedback(feedback_dir)
    return book


@dataclass
class Gradebook:
    """Every graded submission of one lab, with the seed the hidden checks used."""

    lab: Lab
    graded: list
    seed: int
    seconds: float = 0.0
    jobs: int = 1
    csv_path: pathlib.Path | None = None
    feedback_dir: pathlib.Path | None = None

    def __getitem__(self, student: str) -> Graded:
        for g in self.graded:
            if g.student == student:
                return g
        raise KeyError(f"no submission from {student!r}")

    def rows(self) -> list[dict]:
        """The CSV rows: one per check and a TOTAL row per student (status = how the submission was graded)."""
        rows = []
        for g in self.graded:
            for r in g.results:
                detail = "" if r.passed else " ".join(x for x in (r.message, f"expected {r.expected}" if r.expected
                                                                   else "", f"got {r.actual}" if r.actual else "") if x)
                rows.append({"student": g.student, "lab": self.lab.id, "check": r.id, "points": r.points,
                             "max": r.max_points, "status": r.status, "time": f"{r.seconds:.2f}",
                             "detail": _clip(detail, 200)})
            rows.append({"student": g.student, "lab": self.lab.id, "check": "TOTAL", "points": g.points,
                         "max": g.max_points, "status": g.status, "time": f"{g.seconds:.2f}",
                         "detail": _clip("; ".join(g.problems()), 300)})
        return rows

    def write_csv(self, path) -> pathlib.Path:
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(self.rows())
        self.csv_path = path
        return path

    def write_feedback(self, folder) -> pathlib.Path:
        from .feedback import render

        folder = pathlib.Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for g in self.graded:
            (folder / f"{g.student}.md").write_text(render(g, self.lab, self.seed), encoding="utf-8")
        self.feedback_dir = folder
        return folder

    def summary(self) -> str:
        """A few lines for the terminal: how many, the scores, anything that needs a look."""
        n = len(self.graded)
        lines = [f"Graded {n} submission(s) of {self.lab.id} in {self.seconds:.1f} s with {self.jobs} job(s) "
                 f"(hidden-check seed {self.seed}: pass --seed {self.seed} to reproduce)."]
        if n:
            scores = sorted(g.points for g in self.graded)
            lines.append(f"Scores out of {self.lab.points}: mean {sum(scores) / n:.1f}, median {scores[n // 2]}, "
                         f"min {scores[0]}, max {scores[-1]}.")
        for g in self.graded:
            if g.status != "graded" or g.problems():
                lines.append(f"  {g.student}: {g.status}, {g.points}/{g.max_points}"
                             + (f" ({_clip('; '.join(g.problems()), 200)})" if g.problems() else ""))
        if self.csv_path:
            lines.append(f"Gradebook: {self.csv_path}")
        if self.feedback_dir:
            lines.append(f"Feedback:  {self.feedback_dir}/<student>.md")
        return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
