"""What the live views (progress plot, review list) share: the key of the cell that shows them, and the note that says
when they were drawn.

A view subscribes to the progress store under ``cell_key(kind)``: re-running the cell replaces the old subscription
instead of adding one, so a notebook run twice does not redraw every plot twice.
"""
from __future__ import annotations

import datetime as _dt


def cell_key(kind: str):
    """``(kind, cell id)`` for the notebook cell running now (JupyterLab sends its id), else a key of its own."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        kernel = getattr(shell, "kernel", None)
        message = kernel.get_parent("shell") if kernel is not None else {}  # the execute request, with metadata
        cell = ((message or {}).get("metadata") or {}).get("cellId")
    except Exception:  # noqa: BLE001 - outside a kernel, or an older kernel: no cell id, no replacement
        cell = None
    return (kind, cell) if cell else object()


def drawn_note(what: str, answers: int) -> str:
    """``Drawn at 14:02:07 from 12 answers; ...`` in small grey HTML."""
    now = _dt.datetime.now().astimezone().strftime("%H:%M:%S")
    return (f"<small class='lambdalab-note'>{what} drawn at {now} from {answers} recorded answer"
            f"{'' if answers == 1 else 's'}; it updates when you press Check on this page.</small>")
