"""Validation like nbgrader's, for every lab in solutions/ and labs/ (new labs are picked up automatically):
- each solution runs top to bottom twice with no error, and the grading path gives it full points;
- each student version runs top to bottom twice with no error (the checks report, they do not raise), and the
  grading path gives it zero points."""
import pytest

from lambdalab.labs import execute, generate, load
from notebook_runner import outputs_text, run_notebook

pytestmark = pytest.mark.notebook
ROOT = generate.repo_root()
LABS = [(lab_id, master.name) for lab_id, master, _ in generate.pairs(ROOT)]


@pytest.mark.parametrize("lab_id, name", LABS)
def test_solution_runs_twice_and_passes_every_check(lab_id, name):
    nb = run_notebook(ROOT / "solutions" / name)
    text = outputs_text(nb)
    assert "not written yet" not in text and "wrong answer" not in text
    check_cells = [c for c in nb.cells if c.cell_type == "code" and execute.is_check_cell(c.source)]
    assert check_cells, f"{name} has no check cells"
    for cell in check_cells:
        shown = [o for o in cell.outputs if o.get("output_type") in ("display_data", "execute_result")]
        assert len(shown) == 1, f"a check cell should show its report once, got {len(shown)}"


@pytest.mark.parametrize("lab_id, name", LABS)
def test_solution_gets_full_points_through_the_grading_path(lab_id, name, tmp_path):
    from lambdalab.labs.autograder import complete

    lab = load(lab_id)
    report = execute.run_submission(ROOT / "solutions" / name, lab_id, timeout=120, seed=99, workdir=tmp_path)
    results = complete(lab, report["results"])
    failed = [(r.id, r.status, r.message) for r in results if not r.passed]
    assert report["status"] == "graded" and not failed
    assert sum(r.points for r in results) == lab.points


@pytest.mark.parametrize("lab_id, name", LABS)
def test_student_version_runs_twice_and_scores_zero(lab_id, name, tmp_path):
    from lambdalab.labs.autograder import complete

    nb = run_notebook(ROOT / "labs" / name)  # raises if any cell errors
    assert "not written yet" in outputs_text(nb)
    lab = load(lab_id)
    report = execute.run_submission(ROOT / "labs" / name, lab_id, timeout=120, seed=99, workdir=tmp_path)
    assert report["status"] == "graded"
    assert all(c["status"] == "ok" for c in report["cells"].values())
    results = complete(lab, report["results"])
    assert sum(r.points for r in results) == 0
    assert {r.status for r in results} <= {"todo", "missing"}
