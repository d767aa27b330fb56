"""Checkpoint quizzes, a practice exam and kept progress for the DVA-C02 course.

    from lambdalab import quiz
    quiz.checkpoint("02")            # a notebook's checkpoint, graded inline (widgets)
    quiz.grade("s3-unquote-plus", "A")   # the same grading, in plain Python
    quiz.practice_exam(n=20, minutes=40) # a timed mock exam drawn by the exam's domain weights
    quiz.review()                    # re-ask what you got wrong before
    quiz.show_progress()             # per-section and per-domain progress plot

The questions live in ``data/questions/*.yaml`` (one file per notebook). Names load lazily so that importing this
package stays cheap: matplotlib and ipywidgets are imported only when something is shown.
"""
import importlib

_WHERE = {
    "load_bank": "bank",
    "resolve_section": "bank",
    "SECTIONS": "bank",
    "Question": "bank",
    "grade": "grading",
    "self_assess": "grading",
    "Result": "grading",
    "checkpoint": "widgets",
    "practice_exam": "widgets",
    "review": "widgets",
    "Exam": "exam",
    "draw": "exam",
    "scaled_score": "scoring",
    "domain_quota": "scoring",
    "ProgressStore": "progress",
    "progress_path": "progress",
    "show_progress": "plots",
    "ProgressView": "plots",
    "progress_figure": "plots",
}
__all__ = list(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'lambdalab.quiz' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
