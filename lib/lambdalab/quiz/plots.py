"""Progress and exam figures (matplotlib, imported only when a figure is drawn).

Figures are built with ``matplotlib.figure.Figure`` (no pyplot state), so they work the same in a notebook, a test
or a script. ``show_progress()`` displays a ``ProgressView`` in Jupyter: the figure as a PNG that redraws itself
whenever an answer is recorded on the page, with a note saying when it was drawn.
"""
from __future__ import annotations

from .bank import DOMAINS, SECTIONS, load_bank
from .live import cell_key, drawn_note
from .scoring import MAX_SCALED, MIN_SCALED, PASS_FRACTION, PASS_SCALED

GREEN, ORANGE, GREY, BLUE = "#2e7d32", "#ef6c00", "#d0d0d0", "#1565c0"


def _figure(width=11, height=4.2):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def progress_figure(store=None, bank=None):
    """Per-section and per-domain progress (by each question's latest answer); a friendly figure when empty."""
    from .progress import default_store

    store = store if store is not None else default_store()
    bank = bank if bank is not None else load_bank()
    summary = store.summary(bank)
    if summary["answers"] == 0:
        fig = _figure(8, 2.6)
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.set_title("Your progress: no answers yet")
        ax.text(0.5, 0.5, "No answers yet.\nAnswer a checkpoint at the end of any notebook\n"
                "and your progress per section and per exam domain appears here.",
                ha="center", va="center", fontsize=12, transform=ax.transAxes)
        return fig
    fig = _figure(11, 4.8)
    left, right = fig.subplots(1, 2, width_ratios=[1.35, 1])
    fig.suptitle(f"Your progress: {summary['answers']} answers recorded")

    names = [s for s in SECTIONS if summary["sections"][s]["questions"]]
    rows = [summary["sections"][s] for s in names]
    y = range(len(names))
    right_n = [r["correct"] for r in rows]
    wrong_n = [r["attempted"] - r["correct"] for r in rows]
    todo_n = [r["questions"] - r["attempted"] for r in rows]
    left.barh(y, right_n, color=GREEN, label="right (latest answer)")
    left.barh(y, wrong_n, left=right_n, color=ORANGE, label="to review")
    left.barh(y, todo_n, left=[a + b for a, b in zip(right_n, wrong_n)], color=GREY, label="not answered yet")
    left.set_yticks(list(y), [n.replace("_", " ", 1).replace("_", " ") for n in names])
    left.invert_yaxis()
    left.set_xlabel("questions in the section")
    left.set_title("Per notebook section")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=8, frameon=False)

    doms = list(DOMAINS)
    pct = [100 * summary["domains"][d]["correct"] / summary["domains"][d]["attempted"]
           if summary["domains"][d]["attempted"] else 0 for d in doms]
    short = {1: "Develop", 2: "Security", 3: "Deploy", 4: "Troubleshoot"}
    bars = right.bar([f"D{d}\n{short[d]}" for d in doms], pct, color=BLUE)
    for bar, d in zip(bars, doms):
        s = summary["domains"][d]
        right.annotate(f"{s['correct']}/{s['attempted']}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                       ha="center", va="bottom", fontsize=8)
    right.axhline(100 * PASS_FRACTION, color="black", linestyle="--", linewidth=1, label="~72% (about a pass)")
    right.tick_params(axis="x", labelsize=8)
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8, frameon=False)
    right.set_ylim(0, 105)
    right.set_ylabel("% right of questions asked")
    right.set_xlabel("exam domain")
    right.set_title("Per exam domain")
    return fig


class ProgressView:
    """The progress figure as a widget that redraws itself after every answer recorded in this kernel."""

    def __init__(self, store=None, bank=None):
        import ipywidgets as w

        from .progress import default_store

        self.store = store if store is not None else default_store()
        self.bank = bank if bank is not None else load_bank()
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.note = w.HTML()
        self.widget = w.VBox([self.image, self.note])
        self.redraws = 0
        self.redraw()
        self.key = self.store.subscribe(lambda _: self.redraw(), key=cell_key("progress"))

    def redraw(self) -> None:
        self.image.value = figure_png(progress_figure(self.store, self.bank))
        self.note.value = drawn_note("Progress", self.store.count())
        self.redraws += 1

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def show_progress(store=None, bank=None):
    """Show your progress. In Jupyter: a live ``ProgressView`` (displayed; None returned); elsewhere the Figure."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is None:
        return progress_figure(store, bank)
    from IPython.display import display

    display(ProgressView(store, bank))
    return None


def figure_png(fig) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96)
    return buf.getvalue()


def exam_figure(report):
    """Per-domain percentages and the scaled-score estimate against the 720 pass mark."""
    fig = _figure(11, 3.6)
    left, right = fig.subplots(1, 2, width_ratios=[1.2, 1])
    fig.suptitle(f"Practice exam on this module ({report.total} questions): by domain and module readiness")
    doms = list(report.per_domain)
    pct = [100 * c / t for c, t in report.per_domain.values()]
    left.bar([f"D{d}" for d in doms], pct, color=BLUE)
    left.axhline(100 * PASS_FRACTION, color="black", linestyle="--", linewidth=1)
    left.set_ylim(0, 105)
    left.set_ylabel("% correct")
    left.set_xlabel("exam domain")
    left.set_title("Per domain")
    right.barh([0], [report.scaled - MIN_SCALED], left=MIN_SCALED, height=0.5,
               color=GREEN if report.passed else ORANGE)
    right.axvline(PASS_SCALED, color="black", linestyle="--", linewidth=1.5)
    right.text(PASS_SCALED, 0.42, " 720 pass mark", fontsize=9)
    right.text(report.scaled, -0.42, f" {report.scaled} (estimate)", fontsize=9)
    right.set_xlim(MIN_SCALED, MAX_SCALED)
    right.set_ylim(-0.6, 0.6)
    right.set_yticks([])
    right.set_xlabel("scaled score (100-1,000)")
    right.set_title("Module readiness (estimate)")
    return fig
