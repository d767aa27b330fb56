"""The autograder on a class of synthetic submissions made from the solution: one of each bad kind, graded right,
none stopping the batch. Grading runs once for the module (about 30 s on 2 cores)."""
import csv
import json

import pytest

from lambdalab import cli
from lambdalab.labs import autograder, lab01, synthetic

pytestmark = pytest.mark.xdist_group("autograder")  # with `--dist loadfile` (make test) one worker grades once
LAB = lab01.LAB
HARD_CODED = 'def decode_key(raw_key):\n    return "my vacation photo (1).jpg"'
EXPECTED = {  # student: (points, submission status)
    "correct": (20, "graded"),
    "todo": (0, "graded"),
    "invalid_json": (0, "invalid notebook"),
    "not_a_notebook": (0, "invalid notebook"),
    "syntax_error": (4, "graded"),  # task 1 only: make_thumbnail is never defined, and the handler needs it
    "runtime_error": (20, "graded"),  # a stray cell raised; everything was still defined
    "loops": (20, "graded"),  # the endless cell is interrupted, the rest runs
    "stubborn": (20, "graded"),  # ignores interrupts: a new kernel replays the cells before and skips it
    "kills_kernel": (20, "graded"),
    "no_checks": (20, "graded"),  # grading never relies on the check cells
    "empty_folder": (0, "no notebook"),
    "hard_coded": (18, "graded"),  # passes the public check of task 1, fails its two hidden ones
}


@pytest.fixture(scope="session")  # built once per worker even if other modules run in between
def graded(root, tmp_path_factory):
    master = root / "solutions" / "lab01_thumbnail.ipynb"
    folder = tmp_path_factory.mktemp("submissions")
    synthetic.make_class(master, "lab01", folder)
    solved = synthetic.variant(master, "lab01", "correct")
    handler_cell = next(c for c in solved.cells if c.get("id") == "task3-code")
    synthetic.write(folder, "hard_coded", synthetic.replace_cells(solved, {
        "task1-code": HARD_CODED,  # and a handler that does not use decode_key, so only task 1 is hard-coded
        "task3-code": handler_cell.source.replace("decode_key(record", "unquote_plus(record")}))
    out = folder.parent / "out" / "grades.csv"
    book = autograder.grade(folder, "lab01", out, timeout=8, check_timeout=20, jobs=2, seed=1234, progress=False)
    return book, out


def test_every_kind_of_submission_gets_the_expected_grade(graded):
    book, _ = graded
    got = {g.student: (g.points, g.status) for g in book.graded}
    assert got == EXPECTED


def test_what_went_wrong_is_reported_per_submission(graded):
    book, _ = graded
    assert book["correct"].problems() == []
    assert "not valid JSON" in book["invalid_json"].message
    assert "not a Jupyter notebook" in book["not_a_notebook"].message
    assert any("raised SyntaxError" in p for p in book["syntax_error"].problems())
    assert any("raised ZeroDivisionError" in p for p in book["runtime_error"].problems())
    assert any("(`while True:`) was stopped: still running after 8" in p for p in book["loops"].problems())
    assert book["loops"].restarts == 0
    assert book["stubborn"].restarts == 1 and book["kills_kernel"].restarts == 1
    assert any("crashed the kernel" in p for p in book["kills_kernel"].problems())


def test_check_statuses_explain_the_points(graded):
    book, _ = graded
    assert {r.status for r in book["todo"].results} == {"todo"}
    statuses = {r.id: r.status for r in book["syntax_error"].results}
    assert statuses["task1.decodes_random_keys"] == "passed"
    assert statuses["task2.landscape_fits_the_box"] == "missing"
    assert statuses["task3.writes_the_thumbnail"] == "error"
    hard = {r.id: (r.status, r.points) for r in book["hard_coded"].results}
    assert hard["task1.decodes_the_example"] == ("passed", 2)
    assert hard["task1.decodes_tricky_keys"] == ("failed", 0) and hard["task1.decodes_random_keys"] == ("failed", 0)


def test_the_gradebook_csv_has_a_row_per_check_and_a_total_per_student(graded):
    book, out = graded
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["student", "lab", "check", "points", "max", "status", "time", "detail"]
    assert len(rows) == len(EXPECTED) * (len(LAB.checks(public=True, hidden=True)) + 1)
    totals = {r["student"]: (int(r["points"]), int(r["max"]), r["status"]) for r in rows if r["check"] == "TOTAL"}
    assert totals == {s: (p, 20, status) for s, (p, status) in EXPECTED.items()}
    row = next(r for r in rows if r["student"] == "hard_coded" and r["check"] == "task1.decodes_tricky_keys")
    assert row["status"] == "failed" and "expected 'a+b=c.jpg'" in row["detail"]
    assert float(next(r for r in rows if r["student"] == "correct" and r["check"] == "TOTAL")["time"]) > 0


def test_each_student_gets_a_feedback_file(graded):
    book, out = graded
    folder = out.parent / "grades-feedback"
    assert sorted(p.stem for p in folder.glob("*.md")) == sorted(EXPECTED)
    text = (folder / "hard_coded.md").read_text()
    assert "**Score: 18 / 20**" in text and "hidden checks 7/9" in text
    assert "expected: `'a+b=c.jpg'`" in text and "hint:" in text
    assert "seed 1234" in text
    assert "was stopped" in (folder / "loops.md").read_text()
    assert "Every cell ran without an error." in (folder / "correct.md").read_text()


def test_a_submission_over_the_whole_budget_is_stopped_and_the_batch_goes_on(root, tmp_path):
    master = root / "solutions" / "lab01_thumbnail.ipynb"
    path = synthetic.write(tmp_path, "slow", synthetic.variant(master, "lab01", "loops"))
    result = autograder.grade_one(autograder.Submission("slow", path), LAB, timeout=600, check_timeout=20, seed=1,
                                  budget=4)
    assert result.status == "grader timeout" and result.points == 0
    assert result.seconds < 15
    assert {r.status for r in result.results} == {"not run"}


def test_points_come_from_the_lab_not_from_what_the_kernel_reports():
    forged = [{"id": "task1.decodes_the_example", "task": "task1", "title": "x", "status": "failed", "points": 99,
               "max_points": 99, "hidden": False}]
    results = autograder.complete(LAB, forged)
    assert [r.id for r in results] == [c.id for c in LAB.checks(public=True, hidden=True)]
    assert results[0].points == 0 and results[0].max_points == 2
    assert sum(r.max_points for r in results) == 20


def test_submissions_in_student_folders(tmp_path):
    (tmp_path / "alice" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "alice" / ".ipynb_checkpoints" / "lab01_thumbnail-checkpoint.ipynb").write_text("{}")
    (tmp_path / "alice" / "lab01_thumbnail.ipynb").write_text("{}")
    (tmp_path / "alice" / "scratch.ipynb").write_text("{}")
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "my work.ipynb").write_text("{}")
    (tmp_path / "carol.ipynb").write_text("{}")
    (tmp_path / "notes.txt").write_text("not a submission")
    subs = {s.student: s for s in autograder.find_submissions(tmp_path, LAB)}
    assert sorted(subs) == ["alice", "bob", "carol"]
    assert subs["alice"].path.name == "lab01_thumbnail.ipynb"
    assert subs["bob"].path.name == "my work.ipynb"


def test_the_grade_command(tmp_path, capsys):
    folder = tmp_path / "subs"
    synthetic.write(folder, "broken", '{"cells": [')
    synthetic.write(folder, "absent", None)
    out = tmp_path / "grades.csv"
    code = cli.main(["grade", str(folder), "--lab", "lab01", "--out", str(out), "--seed", "7", "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Graded 2 submission(s) of lab01" in printed and "--seed 7" in printed
    assert "broken: invalid notebook, 0/20" in printed and "absent: no notebook, 0/20" in printed
    assert out.exists() and (tmp_path / "grades-feedback" / "broken.md").exists()
    assert cli.main(["grade", str(folder), "--lab", "lab99", "--quiet"]) == 2
    assert "There is no lab 'lab99'" in capsys.readouterr().err


def test_the_worker_prints_one_json_report(tmp_path, capsys):
    from lambdalab.labs import execute

    path = synthetic.write(tmp_path, "x", "not json")
    assert execute.main([str(path), "--lab", "lab01"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "invalid notebook" and report["results"] == []


def test_a_crash_of_the_grader_itself_is_reported_not_raised(root, tmp_path):
    from lambdalab.labs.core import Lab

    ghost = Lab("lab77", "A lab with no checks module", "lab77_ghost")
    path = synthetic.write(tmp_path, "x", synthetic.variant(root / "solutions" / "lab01_thumbnail.ipynb", "lab01",
                                                            "correct"))
    result = autograder.grade_one(autograder.Submission("x", path), ghost, timeout=10, check_timeout=10, seed=1)
    assert result.status == "grader error"
    assert "There is no lab 'lab77'" in result.message


def test_submission_folders_as_zip_tools_and_file_systems_leave_them(tmp_path):
    import unicodedata

    (tmp_path / "dave").mkdir()
    (tmp_path / "dave" / "._my work.ipynb").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # macOS zip residue
    (tmp_path / "dave" / "my work.ipynb").write_text("{}")
    (tmp_path / "dave" / "__MACOSX").mkdir()
    (tmp_path / "dave" / "__MACOSX" / "lab01_thumbnail.ipynb").write_text("{}")
    (tmp_path / "erin" / "old").mkdir(parents=True)
    (tmp_path / "erin" / "lab01_thumbnail (1).ipynb").write_text("{}")
    (tmp_path / "erin" / "old" / "lab01_thumbnail.ipynb").write_text("{}")
    (tmp_path / "erin" / "lab01_thumbnail.ipynb").write_text("{}")
    (tmp_path / "Frank.ipynb").write_text("{}")
    (tmp_path / "frank").mkdir()
    (tmp_path / "frank" / "lab01.ipynb").write_text("{}")
    (tmp_path / unicodedata.normalize("NFD", "José.ipynb")).write_text("{}")
    subs = {s.student: s for s in autograder.find_submissions(tmp_path, LAB)}
    assert sorted(subs) == sorted(["dave", "erin", "Frank", "frank-2", "José"])  # one feedback file each, even on macOS
    assert subs["dave"].path.name == "my work.ipynb"
    assert subs["erin"].path == tmp_path / "erin" / "lab01_thumbnail.ipynb"
    assert "graded lab01_thumbnail.ipynb" in subs["erin"].note


def test_after_a_cell_times_out_later_cells_report_their_own_errors(tmp_path):
    """nbclient leaves the timed-out cell's output reader running: it took the next cells' messages, so an error
    after an endless loop was graded "ok" (and each later cell waited 4 s for its own "idle" message)."""
    import nbformat

    from lambdalab.labs import execute

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in (
        "while True:\n    pass", "x = 1", "raise ValueError('after the loop')", "print(x)")])
    path = tmp_path / "after_loop.ipynb"
    nbformat.write(nb, path)
    report = execute.run_submission(path, "lab01", timeout=3, check_timeout=5, seed=1, workdir=tmp_path)
    assert [report["cells"][str(i)]["status"] for i in range(4)] == ["timeout", "ok", "error", "ok"], report["cells"]
    assert report["cells"]["2"]["error"] == "ValueError: after the loop"
