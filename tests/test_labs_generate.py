"""The student-version generator: markers, hidden cells, outputs, determinism, labs/ in step with solutions/."""
import json
import re

import nbformat
import pytest

from lambdalab import cli
from lambdalab.labs import available, generate, load
from lambdalab.labs.generate import MarkerError, student_code, student_markdown

SOLVED = '''def area(w, h):
    """Area of a rectangle."""
    # BEGIN SOLUTION: multiply the sides
    result = w * h
    return result
    # END SOLUTION'''


def test_a_solution_block_becomes_a_todo_and_a_raise_at_the_same_indent():
    out = student_code(SOLVED)
    assert out == ('def area(w, h):\n    """Area of a rectangle."""\n    # TODO: multiply the sides\n'
                   "    raise NotImplementedError")
    assert "w * h" not in out


def test_default_todo_text_and_several_blocks_in_one_cell():
    source = ("x = 1\n# BEGIN SOLUTION\ny = 2\n# END SOLUTION\nz = 3\n"
              "if z:\n    ### BEGIN SOLUTION\n    w = 4\n    ### END SOLUTION")
    assert student_code(source) == ("x = 1\n# TODO: write your code here\nraise NotImplementedError\nz = 3\nif z:\n"
                                    "    # TODO: write your code here\n    raise NotImplementedError")


def test_a_student_line_replaces_the_raise_for_top_level_code():
    source = ("# BEGIN SOLUTION: list the allowed actions\n# STUDENT: actions = []\n"
              "actions = ['s3:GetObject']\n# END SOLUTION")
    assert student_code(source) == "# TODO: list the allowed actions\nactions = []"


@pytest.mark.parametrize("source, message", [
    ("# BEGIN SOLUTION\nx = 1", "line 1: BEGIN SOLUTION has no END SOLUTION"),
    ("x = 1\n# END SOLUTION", "line 2: END SOLUTION without a BEGIN SOLUTION"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "line 2: BEGIN SOLUTION inside the block opened on line 1"),
])
def test_malformed_markers_are_refused_with_the_line(source, message):
    with pytest.raises(MarkerError, match=re.escape(message)):
        student_code(source, "lab99 cell 3")


def test_markdown_solution_blocks_are_removed():
    source = "Why two buckets?\n<!-- BEGIN SOLUTION -->\nBecause of recursion.\n<!-- END SOLUTION -->\nNext."
    assert student_markdown(source) == "Why two buckets?\nNext."


def _master(tmp_path, cells, name="lab07_demo"):
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                        "language": "python"}})
    for index, cell in enumerate(nb.cells):
        cell.id = f"c{index}"
    (tmp_path / "solutions").mkdir(exist_ok=True)
    path = tmp_path / "solutions" / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def _demo_cells():
    solved = nbformat.v4.new_code_cell(SOLVED, metadata={"lambdalab": {"task": "task1"}, "tags": ["keep-me"]})
    solved.outputs = [nbformat.v4.new_output("stream", text="leaked answer 42\n")]
    solved.execution_count = 7
    return [
        nbformat.v4.new_markdown_cell("# Lab 7"),
        solved,
        nbformat.v4.new_code_cell('from lambdalab import labs; labs.check("lab07", "task1")'),
        nbformat.v4.new_code_cell("# HIDDEN\nassert area(2, 3) == 6"),
        nbformat.v4.new_markdown_cell("<!-- HIDDEN -->\nInstructor notes: the answer is w * h."),
        nbformat.v4.new_code_cell("secret = 1", metadata={"tags": ["hidden"]}),
    ]


def test_student_version_drops_hidden_cells_outputs_and_counts_but_keeps_ids_and_task_metadata(tmp_path):
    _master(tmp_path, _demo_cells())
    [(path, changed)] = generate.generate(tmp_path)
    assert changed and path == tmp_path / "labs" / "lab07_demo.ipynb"
    text = path.read_text()
    nb = nbformat.reads(text, as_version=4)
    assert [c.id for c in nb.cells] == ["c0", "c1", "c2"]
    assert nb.cells[1].metadata == {"lambdalab": {"task": "task1"}, "tags": ["keep-me"]}
    assert nb.cells[1].outputs == [] and nb.cells[1].execution_count is None
    for leaked in ("w * h", "leaked answer", "HIDDEN", "secret", "Instructor notes"):
        assert leaked not in text
    assert nb.metadata["lambdalab"] == {"lab": "lab07", "version": "student",
                                        "generated_from": "solutions/lab07_demo.ipynb"}
    nbformat.validate(nb)


def test_generating_twice_gives_byte_identical_files_and_stale_sees_an_edit(tmp_path):
    master = _master(tmp_path, _demo_cells())
    [(path, _)] = generate.generate(tmp_path)
    first = path.read_bytes()
    assert generate.generate(tmp_path) == [(path, False)]
    assert path.read_bytes() == first
    assert generate.stale(tmp_path) == []

    data = json.loads(master.read_text())
    data["cells"][0]["source"] = "# Lab 7, revised"
    master.write_text(json.dumps(data))
    assert generate.stale(tmp_path) == [path]
    assert cli.main(["check-generated", "--root", str(tmp_path)]) == 1
    assert cli.main(["generate", "--root", str(tmp_path)]) == 0
    assert cli.main(["check-generated", "--root", str(tmp_path)]) == 0


def test_cells_without_ids_get_stable_ones(tmp_path):
    master = _master(tmp_path, _demo_cells())
    data = json.loads(master.read_text())
    for cell in data["cells"]:
        del cell["id"]
    data["nbformat_minor"] = 4
    master.write_text(json.dumps(data))
    first = generate.expected_text("lab07", master)
    assert first == generate.expected_text("lab07", master)
    assert '"id": "cell-0"' in first


# --- the real labs ---------------------------------------------------------------------------------------------

def test_labs_folder_is_up_to_date_with_solutions(root):
    stale = generate.stale(root)
    assert not stale, f"out of date: {stale}; run `lambdalab generate` (or `make students`)"


@pytest.mark.parametrize("lab_id", available())
def test_every_lab_with_checks_has_a_clean_master_notebook(root, lab_id):
    lab = load(lab_id)
    master = root / "solutions" / f"{lab.notebook}.ipynb"
    assert master.exists(), f"{lab_id} has checks but no master notebook {master}"
    assert generate.lint(master, lab) == []


def test_every_master_notebook_has_checks(root):
    for lab_id, master, _ in generate.pairs(root):
        assert lab_id in available(), f"{master.name} has no check module lambdalab/labs/{lab_id}.py"


def test_lab01_student_version_has_todos_and_no_solutions(root):
    text = (root / "labs" / "lab01_thumbnail.ipynb").read_text()
    nb = nbformat.reads(text, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert code.count("raise NotImplementedError") == 3
    for solution in ("return unquote_plus(raw_key)", "image.thumbnail((size, size))", "s3.put_object",
                     "BEGIN SOLUTION", "hidden=True"):
        assert solution not in code
    for task in ("task1", "task2", "task3"):
        assert f'labs.check("lab01", "{task}")' in code
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("source", [
    "def f():\n    # begin solution\n    return 42\n    # end solution",
    "def f():\n    # Begin Solution: the answer\n    return 42\n    # END SOLUTION",
    "x = 1\n#BEGIN_SOLUTION\nanswer = 42",
])
def test_a_marker_written_slightly_wrong_is_refused_not_left_in_the_student_version(source):
    with pytest.raises(MarkerError, match="looks like a solution marker"):
        student_code(source, "lab99 cell 3")


def test_a_markdown_marker_written_slightly_wrong_is_refused():
    with pytest.raises(MarkerError, match="looks like a solution marker"):
        student_markdown("Task 1\n<!-- begin solution -->\nThe answer is unquote_plus.\n<!-- end solution -->")
