"""The project's own files describe one environment: pyproject, the lock, environment.yml and the Makefile agree."""
import pathlib
import re
import tomllib

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    wanted = {_name(r) for r in _pyproject()["project"]["dependencies"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    conda -= {"flask", "flask-cors"}  # what moto[server] brings on PyPI, spelled out for conda
    pip_part = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda |= {_name(d) for d in pip_part if not d.startswith("-")}  # from PyPI: not on conda-forge
    assert wanted == conda, (f"only in pyproject: {sorted(wanted - conda)}; "
                             f"only in environment.yml: {sorted(conda - wanted)}")
    pip_part = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_part, "environment.yml must install the lambdalab package itself"


def test_lock_pins_every_dependency_exactly():
    lock = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.lock line not pinned exactly: {line!r}"
            lock[name.lower().replace("_", "-")] = version
    project = _pyproject()["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert _name(requirement) in lock, f"{requirement} is missing from requirements.lock: run `make lock`"


def test_makefile_offers_the_two_commands_and_ci_calls_the_test_one():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "lambdalab lab" in makefile  # course.lab_command(): the course folder as root, notebook 00 open
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme and "conda env create -f environment.yml" in readme


def test_layout():
    for folder in ("notebooks", "labs", "solutions", "lib/lambdalab", "data", "tests"):
        assert (ROOT / folder).is_dir(), folder
    assert (ROOT / "lib/lambdalab/handlers/__init__.py").exists()


def test_importing_lambdalab_is_light():
    import subprocess
    import sys

    code = "import sys, lambdalab, lambdalab.handlers; print(sorted(m for m in ('boto3', 'moto', 'matplotlib', 'ipywidgets') if m in sys.modules))"
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "[]"
