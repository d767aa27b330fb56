"""The learner's path: the course opens at notebook 00, the environment check reads the lock, the library's modules
import in one direction only, and expected messages are not styled as errors."""
import ast
import logging
import pathlib
import subprocess
import sys

import pytest

from lambdalab import course, notices

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIB = ROOT / "lib" / "lambdalab"


def _imports(path: pathlib.Path, package: str) -> set[str]:
    """Sibling modules of ``package`` that ``path`` imports, anywhere in the file (inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found & {p.stem for p in (LIB / package).glob("*.py")}


@pytest.mark.parametrize("package", ["labs", "quiz"])
def test_modules_import_each_other_in_one_direction_only(package):
    graph = {p.stem: _imports(p, package) - {p.stem} for p in (LIB / package).glob("*.py") if p.stem != "__init__"}

    def reaches(start, target, seen=()):
        return any(n == target or (n not in seen and reaches(n, target, (*seen, n))) for n in graph.get(start, ()))

    circles = sorted(f"{a} <-> {b}" for a in graph for b in graph[a] if reaches(b, a))
    assert not circles, f"import circles in lambdalab.{package}: {circles}"


def test_the_circles_that_were_there_are_gone():
    assert "report" not in _imports(LIB / "labs" / "report.py", "labs") and "core" not in _imports(
        LIB / "labs" / "report.py", "labs")
    assert "exam" not in _imports(LIB / "quiz" / "plots.py", "quiz")


def test_lab_command_serves_the_course_folder_and_opens_notebook_00():
    cmd = course.lab_command(ROOT, "--no-browser")
    assert f"--ServerApp.root_dir={ROOT}" in cmd
    assert "--LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb" in cmd
    assert any(a.startswith("--ContentsManager.hide_globs=") and "'.venv'" in a for a in cmd)
    assert cmd[-1] == "--no-browser" and (ROOT / course.START_NOTEBOOK).is_file()
    assert course.root() == ROOT
    makefile = (ROOT / "Makefile").read_text()
    assert "$(BIN)/lambdalab lab" in makefile
    assert "lambdalab lab" in (ROOT / "README.md").read_text()


def test_environment_check_compares_installed_versions_with_the_lock(tmp_path):
    here = course.check_environment()
    assert here.checked > 50 and here.lock == ROOT / "requirements.lock"
    import boto3

    lock = tmp_path / "requirements.lock"
    lock.write_text(f"# a comment\nboto3=={boto3.__version__}\nPillow==0.0.1\nno-such-package-xyz==1.0\n")
    result = course.check_environment(lock)
    assert result.checked == 3 and not result.ok
    assert [(m.package, m.locked) for m in result.mismatches] == [("no-such-package-xyz", "1.0"), ("pillow", "0.0.1")]
    assert result.mismatches[0].installed is None
    text = result.text()
    assert "2 differ" in text and "not installed" in text and "make install" in text and "Restart" in text
    lock.write_text(f"boto3=={boto3.__version__}\n")
    good = course.check_environment(lock)
    assert good.ok and "all match" in good.text() and "make install" not in good.text()


def test_setup_prints_no_deprecation_of_our_own():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'license = "MIT"' in text and '"setuptools>=77"' in text  # SPDX string: no `project.license` warning


def test_expected_notices_go_to_stdout_and_errors_to_stderr(capsys):
    log = notices.logger("lambdalab.test-notices")
    log.warning("the loop was stopped, as expected")
    log.error("something really broke")
    out, err = capsys.readouterr()
    assert "the loop was stopped" in out and "the loop was stopped" not in err
    assert "something really broke" in err and "really broke" not in out
    assert notices.logger("lambdalab.test-notices") is log and len(log.handlers) == 2  # set up once
    assert log.getEffectiveLevel() == logging.INFO


def test_lambdalab_lab_passes_jupyter_arguments_through():
    out = subprocess.run([sys.executable, "-m", "lambdalab.cli", "lab", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "notebook 00" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "lambdalab.cli", "generate", "--bogus"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unrecognized arguments: --bogus" in bad.stderr


@pytest.mark.notebook
def test_a_lab_cells_name_error_shows_a_hint_under_its_traceback():
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from lambdalab import labs\nfrom urllib.parse import unquote_plus"),
                nbformat.v4.new_code_cell("unquote('my+photo.jpg')")]
    with pytest.raises(CellExecutionError):  # still an error: the hint teaches, it does not hide
        NotebookClient(nb, kernel_name="python3", timeout=60).execute()
    (error,) = nb.cells[1].outputs
    assert error.output_type == "error" and error.ename == "NameError"
    assert "Hint: `unquote` is not defined" in error.traceback[-1] and "`unquote_plus`" in error.traceback[-1]


@pytest.mark.parametrize("folder", ["solutions", "labs"])
def test_every_lab_ends_with_its_overall_score(folder):
    import json

    notebooks = sorted((ROOT / folder).glob("lab[0-9][0-9]_*.ipynb"))
    assert notebooks
    for path in notebooks:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        last = "".join([c for c in cells if c["cell_type"] == "code"][-1]["source"]).strip()
        assert last == f'labs.score("{path.name[:5]}")', f"{path.name}: the last code cell should show the score"
