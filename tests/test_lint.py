"""The linter is part of the test command: ruff with pyproject's small rule set over the library, tests and benchmarks."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _ruff(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def test_ruff_finds_nothing_in_lib_tests_and_benchmarks():
    done = _ruff("lib", "tests", "benchmarks")
    assert done.returncode == 0, f"ruff found problems (fix them, or `ruff check --fix`):\n{done.stdout}{done.stderr}"


def test_ruff_uses_the_project_rules_and_reports_a_finding(tmp_path):
    """The check above can fail: the same config flags an unused import and unsorted imports."""
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "bad.py").write_text("import sys\nimport os\n\nprint(os.sep)\n")
    done = _ruff("bad.py", cwd=tmp_path)
    assert done.returncode == 1
    assert "F401" in done.stdout and "I001" in done.stdout, done.stdout
