"""Execute a notebook the way a learner does: top to bottom on a fresh kernel, then again in the same kernel."""
import pathlib

import nbformat
from nbclient import NotebookClient


def run_notebook(path, *, twice=True, timeout=300, cwd=None, extra_cells=()):
    """Run every cell (and ``extra_cells``, code strings appended at the end); return the executed notebook.

    With ``twice`` the same kernel runs the whole notebook a second time, which catches cells that are not
    idempotent ("bucket already exists", duplicated records). Raises nbclient's CellExecutionError on any error.
    """
    path = pathlib.Path(path)
    nb = nbformat.read(path, as_version=4)
    for source in extra_cells:
        nb.cells.append(nbformat.v4.new_code_cell(source))
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd or path.parent)}})
    with client.setup_kernel():
        for _ in range(2 if twice else 1):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
    return nb


def outputs_text(nb):
    """All text a notebook printed or displayed, joined (for assertions)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if "text" in out:
                parts.append(out["text"])
            data = out.get("data", {})
            for kind in ("text/plain", "text/markdown", "text/html"):
                if kind in data:
                    parts.append(data[kind])
    return "\n".join(parts)
