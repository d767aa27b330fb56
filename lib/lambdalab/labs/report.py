"""Results of checks, and how they are shown: plain text, HTML in Jupyter, Markdown in feedback files, JSON."""
from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from .results import ERROR, FAILED, MISSING, NOT_RUN, PASSED, TIMEOUT, TODO, CheckResult, Totals

SYMBOLS = {PASSED: "✔", FAILED: "✘", ERROR: "✘", TODO: "○", MISSING: "?", TIMEOUT: "⏱", NOT_RUN: "–"}
LABELS = {PASSED: "passed", FAILED: "wrong answer", ERROR: "your code raised an error", TODO: "not written yet",
          MISSING: "not defined", TIMEOUT: "timed out", NOT_RUN: "not run"}
COLOURS = {PASSED: "#1b7f3b", FAILED: "#b3261e", ERROR: "#b3261e", TODO: "#8a5a00", MISSING: "#8a5a00",
           TIMEOUT: "#b3261e", NOT_RUN: "#666"}


@dataclass
class Report(Totals):
    """The results of one ``check()`` call (or one grading run): displays itself in Jupyter and as text."""

    lab: object
    task: str | None
    results: list
    public: bool = True
    hidden: bool = False
    seed: int | None = None

    @property
    def passed(self) -> bool:
        """True when every check that ran passed."""
        return bool(self.results) and all(r.passed for r in self.results)

    def __getitem__(self, check_id: str) -> CheckResult:
        """A result by check id (``"task1.decodes_example"``) or by its name alone (``"decodes_example"``)."""
        for r in self.results:
            if check_id in (r.id, r.id.split(".", 1)[1]):
                return r
        raise KeyError(f"no check {check_id!r}; checks here: {', '.join(r.id for r in self.results)}")

    def heading(self) -> str:
        scope = f"{self.lab.tasks[self.task].title}" if self.task else self.lab.title
        kind = "public and hidden" if self.hidden and self.public else "hidden" if self.hidden else "public"
        good = sum(r.passed for r in self.results)
        return (f"{self.lab.id} · {scope}: {good} of {len(self.results)} {kind} checks passed "
                f"({self.points}/{self.max_points} points)")

    def footer(self) -> str:
        """The reminder that passing the public checks is not the whole grade."""
        if self.hidden:
            return (f"Hidden checks included (inputs from seed {self.seed}). At grading every check runs again "
                    "with new hidden inputs.")
        hidden = self.lab.checks(self.task, public=False, hidden=True)
        more = sum(c.points for c in hidden)
        if not hidden:
            return "These are all the checks for this part; they run again when your lab is graded."
        if self.task:
            what = "; ".join(c.title for c in hidden) + "."
        else:
            what = self.lab.hidden_summary or f"{len(hidden)} more checks with other inputs."
        return (f"Hidden checks run when your lab is graded ({more} more points), with inputs you have not seen: "
                f"{what} Passing the public checks is a good sign, not a guarantee.")

    def text(self) -> str:
        lines = [self.heading()]
        for previous, r in zip([None, *self.results], self.results):
            tag = " (hidden)" if r.hidden and not (self.hidden and not self.public) else ""
            lines.append(f"  {SYMBOLS[r.status]} {r.title}{tag}" + ("" if r.passed else f" — {LABELS[r.status]}"))
            for label, value in r.detail_lines(previous):
                prefix = f"{label + ':':<10}" if label else ""
                lines.append(f"      {prefix}{value}")
        lines.append(self.footer())
        return "\n".join(lines)

    def __str__(self):
        return self.text()

    def _repr_pretty_(self, printer, cycle):  # IPython's plain-text display
        printer.text(self.text())

    def show(self) -> None:
        """Display now: rich in Jupyter, printed elsewhere; shown once per cell even when it is the cell's value."""
        shell = _ipython()
        if shell is None:
            print(self.text())
            return
        from IPython.display import display

        self._shown_in = shell.execution_count
        display({"text/plain": self.text(), "text/html": self._repr_html_()}, raw=True)

    def _ipython_display_(self):
        shell = _ipython()
        if shell is not None and getattr(self, "_shown_in", None) == shell.execution_count:
            return  # check() has just shown it: do not show the cell's value a second time
        self.show()

    def _repr_html_(self) -> str:
        colour = COLOURS[PASSED] if self.passed else COLOURS[FAILED]
        rows = []
        for previous, r in zip([None, *self.results], self.results):
            tag = " <small>(hidden)</small>" if r.hidden else ""
            status = "" if r.passed else f" — <i>{LABELS[r.status]}</i>"
            details = "".join(
                f"<div style='margin-left:1.6em'>{'<b>' + label + ':</b> ' if label else ''}"
                f"{'<code>' + escape(value) + '</code>' if label in ('call', 'expected', 'actual') else _html(value)}"
                f"</div>" for label, value in r.detail_lines(previous))
            rows.append(f"<div><span style='color:{COLOURS[r.status]};font-weight:bold'>{SYMBOLS[r.status]}</span> "
                        f"{_html(r.title)}{tag}{status}{details}</div>")
        return (f"<div style='border-left:4px solid {colour};padding:0.3em 0.8em;margin:0.3em 0'>"
                f"<div style='font-weight:bold;color:{colour}'>{escape(self.heading())}</div>{''.join(rows)}"
                f"<div style='color:#555;margin-top:0.3em'><small>{_html(self.footer())}</small></div></div>")

    def to_dict(self) -> dict:
        return {"lab": self.lab.id, "task": self.task, "seed": self.seed,
                "results": [r.to_dict() for r in self.results]}


@dataclass
class ScoreReport(Report):
    """A lab's overall score: points per task and the total, then what to look at again (``labs.score``)."""

    def tasks(self) -> list[tuple[str, int, int, int, int]]:
        """(task title, checks passed, checks, points, max points) for each task, in the lab's order."""
        rows = []
        for task in self.lab.tasks.values():
            mine = [r for r in self.results if r.task == task.id]
            rows.append((task.title, sum(r.passed for r in mine), len(mine), sum(r.points for r in mine),
                         sum(r.max_points for r in mine)))
        return rows

    def heading(self) -> str:
        return f"{self.lab.id} · {self.lab.title}: your score {self.points}/{self.max_points} points (public checks)"

    def to_fix(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def text(self) -> str:
        lines = [self.heading()]
        for title, good, n, points, most in self.tasks():
            lines.append(f"  {title:<40} {good}/{n} checks  {points:>3}/{most} points")
        lines.append(f"  {'Total':<40} {sum(r.passed for r in self.results)}/{len(self.results)} checks  "
                     f"{self.points:>3}/{self.max_points} points")
        for r in self.to_fix():
            lines.append(f"  {SYMBOLS[r.status]} {r.title} — {LABELS[r.status]}: run that task's check cell for details")
        lines.append(self.footer())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = COLOURS[PASSED] if self.passed else COLOURS[FAILED]
        cell = "style='padding:2px 10px;text-align:{}'"
        rows = "".join(f"<tr><td {cell.format('left')}>{escape(t)}</td><td {cell.format('right')}>{g}/{n}</td>"
                       f"<td {cell.format('right')}>{p}/{m}</td></tr>" for t, g, n, p, m in self.tasks())
        total = (f"<tr style='font-weight:bold;border-top:1px solid #999'><td {cell.format('left')}>Total</td>"
                 f"<td {cell.format('right')}>{sum(r.passed for r in self.results)}/{len(self.results)}</td>"
                 f"<td {cell.format('right')}>{self.points}/{self.max_points}</td></tr>")
        fix = "".join(f"<div><span style='color:{COLOURS[r.status]};font-weight:bold'>{SYMBOLS[r.status]}</span> "
                      f"{_html(r.title)} — <i>{LABELS[r.status]}</i></div>" for r in self.to_fix())
        if fix:
            fix = f"<div style='margin-top:0.3em'>To look at again (its task's check cell shows why):{fix}</div>"
        return (f"<div style='border-left:4px solid {colour};padding:0.3em 0.8em;margin:0.3em 0'>"
                f"<div style='font-weight:bold;color:{colour}'>{escape(self.heading())}</div>"
                f"<table><tr><th {cell.format('left')}>Task</th><th>Checks passed</th><th>Points</th></tr>{rows}"
                f"{total}</table>{fix}<div style='color:#555;margin-top:0.3em'><small>{_html(self.footer())}</small>"
                "</div></div>")


def _ipython():
    """The running IPython shell, or None outside IPython/Jupyter."""
    import sys

    module = sys.modules.get("IPython")
    return module.get_ipython() if module is not None else None


def _html(text: str) -> str:
    """Escaped text with `code` spans rendered as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))
