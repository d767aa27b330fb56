"""Inline checks: right answers pass, each kind of wrong answer gets a clear message (expected vs actual, a hint)."""
import io

import pytest
from PIL import Image

from lambdalab import labs
from lambdalab.labs import generate, lab01
from lambdalab.labs.execute import is_check_cell


def notebook_namespace(path):
    """Run a lab notebook's code cells (not its check cells or hidden cells) in a fresh dict, as a kernel would."""
    nb = generate.read_master(path)
    namespace = {"__name__": "__main__"}
    for cell in nb.cells:
        if cell.cell_type == "code" and not is_check_cell(cell.source) and not generate.is_hidden(cell):
            exec(compile(cell.source, f"<{path.name}>", "exec"), namespace)
    return namespace


@pytest.fixture
def solution(root, backend):
    return notebook_namespace(root / "solutions" / "lab01_thumbnail.ipynb")


@pytest.fixture
def student(root, backend):
    return notebook_namespace(root / "labs" / "lab01_thumbnail.ipynb")


def test_the_solution_passes_every_public_check_and_says_hidden_checks_come_at_grading(solution, capsys):
    report = labs.check("lab01", namespace=solution)
    assert report.passed and report.points == report.max_points == 11
    assert all(not r.hidden for r in report.results)
    text = capsys.readouterr().out
    assert "5 of 5 public checks passed (11/11 points)" in text
    assert "Hidden checks run when your lab is graded (9 more points)" in text


def test_the_solution_passes_the_hidden_checks_whatever_the_seed(solution):
    for seed in (1, 2):
        report = labs.check("lab01", namespace=solution, hidden=True, seed=seed)
        assert report.passed, report.text()
        assert report.points == lab01.LAB.points == 20


def test_one_task_at_a_time(solution):
    report = labs.check("lab01", "task2", namespace=solution)
    assert [r.id for r in report.results] == ["task2.landscape_fits_the_box", "task2.portrait_keeps_its_shape"]
    assert "Task 2: make the thumbnail: 2 of 2 public checks passed (4/4 points)" in report.text()
    assert "other image sizes and other values of size" in report.footer()  # hidden checks named, not their inputs


def test_check_finds_the_functions_in_the_callers_namespace(solution):
    namespace = dict(solution)
    exec('from lambdalab import labs\nreport = labs.check("lab01", "task1")', namespace)
    assert namespace["report"].passed


def test_the_student_version_is_reported_as_not_written_yet(student):
    report = labs.check("lab01", namespace=student)
    assert not report.passed and report.points == 0
    assert {r.status for r in report.results} == {"todo"}
    assert "`decode_key` is not written yet" in report["decodes_the_example"].message
    assert "`handler` is not written yet" in report["writes_the_thumbnail"].message


def test_a_handler_that_calls_an_unwritten_function_names_that_function(solution, student):
    solution["make_thumbnail"] = student["make_thumbnail"]  # the handler looks it up in the notebook's globals
    result = labs.check("lab01", "task3", namespace=solution)["writes_the_thumbnail"]
    assert result.status == "todo"
    assert "`make_thumbnail` is not written yet (`handler` calls it)" in result.message


def test_a_missing_function_is_reported_with_what_to_do(backend):
    result = labs.check("lab01", "task1", namespace={})["decodes_the_example"]
    assert result.status == "missing"
    assert "`decode_key` is not defined. Run the cell where you write it" in result.message


def test_unquote_instead_of_unquote_plus_shows_expected_actual_and_a_hint(solution):
    from urllib.parse import unquote

    report = labs.check("lab01", "task1", namespace=dict(solution, decode_key=unquote))
    result = report["decodes_the_example"]
    assert result.status == "failed"
    assert result.expected == "'my vacation photo (1).jpg'"
    assert result.actual == "'my+vacation+photo+(1).jpg'"
    assert "unquote_plus" in result.hint
    text = report.text()
    assert "expected: 'my vacation photo (1).jpg'" in text and "actual:   'my+vacation+photo+(1).jpg'" in text
    html = report._repr_html_()
    assert "<code>&#x27;my+vacation+photo+(1).jpg&#x27;</code>" in html and "wrong answer" in html


def test_a_name_never_imported_gets_a_hint_not_a_bare_name_error(solution):
    """A student writes `unquote(...)` without importing it: the check says what to do, and suggests the close name."""
    code = "def decode_key(raw_key):\n    return unquote(raw_key)\n"
    namespace = dict(solution)
    exec(code, namespace)
    report = labs.check("lab01", "task1", namespace=namespace)
    result = report["decodes_the_example"]
    assert result.status == "error" and "NameError" in result.message
    assert "`unquote` is not defined" in result.hint and "Did you mean `unquote_plus`" in result.hint
    assert "`from urllib.parse import unquote`" in result.hint  # where the name really lives
    assert "hint:" in report.text()


def test_a_misspelt_name_of_the_students_own_is_not_sent_to_an_import(solution):
    """`save_click` for `save_clicks`: no module defines it, so the hint does not invent an import."""
    namespace = dict(solution, save_clicks=lambda: None)
    exec("def decode_key(raw_key):\n    return save_click(raw_key)\n", namespace)
    hint = labs.check("lab01", "task1", namespace=namespace)["decodes_the_example"].hint
    assert "import it (" not in hint and "define it (or import it)" in hint
    assert "Did you mean `save_clicks`" in hint


def test_a_wrong_import_inside_a_function_gets_a_hint(solution):
    namespace = dict(solution)
    exec("def decode_key(raw_key):\n    from urllib.parse import unquote_pluss\n    return raw_key\n", namespace)
    result = labs.check("lab01", "task1", namespace=namespace)["decodes_the_example"]
    assert result.status == "error" and "ImportError" in result.message
    assert "The import failed" in result.hint


def test_score_shows_points_per_task_and_the_total(solution, student):
    from lambdalab.labs import lab01

    full = labs.score("lab01", namespace=solution)
    assert full.points == full.max_points == sum(c.points for c in lab01.LAB.checks())  # public: hidden at grading
    assert [row[0] for row in full.tasks()] == [t.title for t in lab01.LAB.tasks.values()]
    text = full.text()
    assert f"your score {full.points}/{full.max_points} points" in text and "Total" in text
    assert "Hidden checks run when your lab is graded" in text
    half = labs.score("lab01", namespace=dict(student, decode_key=solution["decode_key"]))
    task1 = sum(c.points for c in lab01.LAB.checks("task1"))  # public checks only
    assert half.points == task1 and half.tasks()[0][3:] == (task1, task1)
    assert all(row[3] == 0 for row in half.tasks()[1:])
    assert "not written yet" in half.text() and "<table>" in half._repr_html_()


def test_hard_coded_answers_pass_the_public_check_but_not_the_hidden_ones(solution):
    namespace = dict(solution, decode_key=lambda raw_key: "my vacation photo (1).jpg")
    report = labs.check("lab01", "task1", namespace=namespace, hidden=True, seed=3)
    assert [r.status for r in report.results] == ["passed", "failed", "failed"]
    assert report.points == 2


def _resize_to_box(image_bytes, size=150):
    image = Image.open(io.BytesIO(image_bytes)).resize((size, size))
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG")
    return out.getvalue()


def test_a_thumbnail_that_ignores_the_aspect_ratio_fails_with_both_sizes(solution):
    result = labs.check("lab01", "task2", namespace=dict(solution, make_thumbnail=_resize_to_box))[
        "portrait_keeps_its_shape"]
    assert result.status == "failed"
    assert (result.expected, result.actual) == ("75x150 pixels", "150x150 pixels")
    assert "aspect ratio" in result.hint


def test_returning_an_image_instead_of_bytes_is_explained(solution):
    def make_thumbnail(image_bytes, size=150):
        image = Image.open(io.BytesIO(image_bytes))
        image.thumbnail((size, size))
        return image

    result = labs.check("lab01", "task2", namespace=dict(solution, make_thumbnail=make_thumbnail))[
        "landscape_fits_the_box"]
    assert result.status == "failed" and "bytes" in result.message and "BytesIO" in result.hint


def test_forgetting_to_convert_transparent_png_fails_a_hidden_check_with_a_hint(solution):
    def make_thumbnail(image_bytes, size=150):
        image = Image.open(io.BytesIO(image_bytes))
        image.thumbnail((size, size))
        out = io.BytesIO()
        image.save(out, "JPEG")
        return out.getvalue()

    report = labs.check("lab01", "task2", namespace=dict(solution, make_thumbnail=make_thumbnail), hidden=True)
    assert report["landscape_fits_the_box"].passed
    result = report["converts_png_and_gif"]
    assert result.status in ("failed", "error")
    assert "convert('RGB')" in (result.hint or "")


def _variant_handler(root, old, new):
    nb = generate.read_master(root / "solutions" / "lab01_thumbnail.ipynb")
    cell = next(c for c in nb.cells if c.get("id") == "task3-code")
    assert old in cell.source
    return cell.source.replace(old, new)


def test_a_hard_coded_output_bucket_is_caught_and_the_hint_says_where_the_thumbnail_went(root, solution):
    from lambdalab import aws

    aws.client("s3").create_bucket(Bucket="my-thumbnails")
    namespace = dict(solution)
    exec(_variant_handler(root, 'os.environ["OUTPUT_BUCKET"]', '"my-thumbnails"'), namespace)
    result = labs.check("lab01", "task3", namespace=namespace)["writes_the_thumbnail"]
    assert result.status == "failed"
    assert "photos/thumb-cat.jpg" in result.expected
    assert "It is in bucket 'my-thumbnails' instead" in result.hint


def test_a_handler_that_crashes_on_a_non_image_is_told_to_catch_the_error(root, solution):
    namespace = dict(solution)
    source = _variant_handler(root, "except OSError as error:", "except KeyError as error:")
    exec(source, namespace)
    report = labs.check("lab01", "task3", namespace=namespace)
    assert report["writes_the_thumbnail"].passed
    result = report["rejects_a_non_image"]
    assert result.status == "error"
    assert "UnidentifiedImageError" in result.message and "(in `make_thumbnail`" in result.message
    assert "try/except" in result.hint


def test_a_silent_rejection_fails_the_hidden_logging_check(root, solution):
    namespace = dict(solution)
    exec(_variant_handler(root, 'logger.warning("Skipping %s: not an image (%s)", key, error)', "pass"), namespace)
    report = labs.check("lab01", "task3", namespace=namespace, hidden=True)
    assert report["rejects_a_non_image"].passed
    assert report["logs_why_it_rejects"].status == "failed"
    assert "(nothing logged)" in report["logs_why_it_rejects"].actual


def test_an_endless_loop_is_stopped_by_the_time_limit(solution):
    def decode_key(raw_key):
        while True:
            pass

    result = labs.check("lab01", "task1", namespace=dict(solution, decode_key=decode_key), timeout=0.5)[
        "decodes_the_example"]
    assert result.status == "timeout" and "loop that never ends" in result.message


def test_unknown_lab_or_task_says_what_exists(backend):
    with pytest.raises(ValueError, match="There is no lab 'lab99'. Labs with checks: lab01"):
        labs.check("lab99", namespace={})
    with pytest.raises(ValueError, match="lab01 has no task 'task9'. Its tasks: task1, task2, task3"):
        labs.check("lab01", "task9", namespace={})
    assert labs.load("lab01_thumbnail") is labs.load("lab01")


class _AlwaysEqual(str):
    """What a student might return to game an equality check: equal to anything, and it looks right too."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = str.__hash__

    def __repr__(self):
        return "'my vacation photo (1).jpg'"


class _Anything:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


def test_an_object_that_claims_to_equal_anything_does_not_pass(solution):
    for fake in (_AlwaysEqual("nope"), _Anything()):
        report = labs.check("lab01", "task1", namespace=dict(solution, decode_key=lambda raw_key, fake=fake: fake), hidden=True,
                            seed=5)
        assert [r.status for r in report.results] == ["failed"] * 3, report.text()

    def handler(event, context):  # writes nothing, but its result "equals" whatever the check expects
        return {"processed": _Anything(), "rejected": _Anything()}

    result = labs.check("lab01", "task3", namespace=dict(solution, handler=handler))["rejects_a_non_image"]
    assert result.status == "failed"


def test_a_str_subclass_with_the_right_text_still_passes(solution):
    class Key(str):
        pass

    from urllib.parse import unquote_plus

    report = labs.check("lab01", "task1", namespace=dict(solution, decode_key=lambda k: Key(unquote_plus(k))),
                        hidden=True, seed=5)
    assert report.passed, report.text()
