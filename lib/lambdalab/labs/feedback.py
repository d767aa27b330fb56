"""The feedback file a student gets back: score, each check with expected vs actual and a hint, how the notebook ran.
Markdown, so it reads well as plain text, on GitHub, in Jupyter or in a learning platform."""
from __future__ import annotations

from datetime import datetime, timezone

from .report import LABELS, SYMBOLS


def code(text) -> str:
    """``text`` as a Markdown code span, whatever backticks it contains."""
    text = str(text).replace("\n", " ")
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render(graded, lab, seed: int) -> str:
    """The Markdown feedback for one graded submission."""
    public = [r for r in graded.results if not r.hidden]
    hidden = [r for r in graded.results if r.hidden]
    lines = [f"# {lab.title}: feedback for {graded.student}", "",
             f"**Score: {graded.points} / {graded.max_points}** — public checks "
             f"{sum(r.points for r in public)}/{sum(r.max_points for r in public)}, hidden checks "
             f"{sum(r.points for r in hidden)}/{sum(r.max_points for r in hidden)}.", ""]
    if graded.status != "graded":
        lines += [f"> **{graded.status.capitalize()}:** {graded.message or 'see below'}", ""]
    lines += ["| task | points |", "|---|---|"]
    for task in lab.tasks.values():
        mine = [r for r in graded.results if r.task == task.id]
        lines.append(f"| {task.title} | {sum(r.points for r in mine)} / {sum(r.max_points for r in mine)} |")
    for task in lab.tasks.values():
        mine = [r for r in graded.results if r.task == task.id]
        lines += ["", f"## {task.title} ({sum(r.points for r in mine)}/{sum(r.max_points for r in mine)})", ""]
        for previous, r in zip([None, *mine], mine):
            kind = "hidden" if r.hidden else "public"
            state = "" if r.passed else f": **{LABELS[r.status]}**"
            lines.append(f"- {SYMBOLS[r.status]} {r.title} ({kind}, {r.points}/{r.max_points}){state}")
            for label, value in r.detail_lines(previous):
                if not label:
                    lines.append(f"  - {value}")
                elif label in ("call", "expected", "actual"):
                    lines.append(f"  - {label}: {code(value)}")
                else:
                    lines.append(f"  - {label}: {value}")
    problems = graded.problems()
    lines += ["", "## How your notebook ran", ""]
    lines += [f"- {p}" for p in problems] or ["- Every cell ran without an error."]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines += ["", "---",
              f"Graded {stamp}: your notebook ran top to bottom in a fresh kernel, then every check ran against the "
              f"functions it defined. Hidden checks used inputs drawn from seed {seed}. Public checks are the ones "
              "in your notebook; run them again to see the details in place.", ""]
    return "\n".join(lines)
