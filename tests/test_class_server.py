"""A class on one server: Binder / repo2docker builds the repository as it is from environment.yml, and each learner
gets a backend and a progress file of their own (per kernel, per home folder)."""
import os
import pathlib
import subprocess
import sys
from importlib import metadata

import yaml
from packaging.requirements import Requirement

ROOT = pathlib.Path(__file__).resolve().parent.parent
# the files repo2docker reads before environment.yml (any of them would take over the build)
REPO2DOCKER_FIRST = ("Dockerfile", "binder/Dockerfile", ".binder/Dockerfile", "binder/environment.yml",
                     ".binder/environment.yml", "binder/requirements.txt", ".binder/requirements.txt", "Pipfile")


def test_repo2docker_builds_from_environment_yml_and_needs_no_post_build():
    assert not [f for f in REPO2DOCKER_FIRST if (ROOT / f).exists()]
    assert not (ROOT / "postBuild").exists() and not (ROOT / "binder").exists()
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert any(d.startswith("jupyterlab") for d in conda) and any(d.startswith("ipywidgets") for d in conda)
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip  # the course's package, from the repository root: no postBuild step needed
    assert (ROOT / "data" / "make_sample_images.py").exists()  # notebooks make their sample images themselves


def test_every_requirement_of_environment_yml_is_met_by_the_tested_environment():
    """As far as this machine allows (no conda here): each conda and pip requirement, version range included, is
    satisfied by what the tests run on, so conda-forge's resolution cannot need anything the course was not tested
    with below those bounds."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    wanted = [d.split("#")[0].strip() for d in env["dependencies"] if isinstance(d, str)]
    wanted += [d.split("#")[0].strip() for d in pip if not d.startswith("-")]
    unmet = []
    for line in wanted:
        requirement = Requirement(line.replace(" ", ""))
        if requirement.name in ("python", "pip"):
            if requirement.name == "python":
                assert requirement.specifier.contains(".".join(map(str, sys.version_info[:3])))
            continue
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            unmet.append(f"{line}: not installed")
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            unmet.append(f"{line}: installed {version}")
    assert not unmet, unmet


def test_each_learner_has_a_backend_and_progress_of_their_own(tmp_path):
    """Two learners' kernels (two processes, two home folders): separate moto state, separate progress files."""
    code = ("import json, os; from lambdalab import aws; from lambdalab.quiz import progress; aws.start(); "
            "s3 = aws.client('s3'); s3.create_bucket(Bucket=os.environ['BUCKET']); "
            "print(json.dumps([b['Name'] for b in s3.list_buckets()['Buckets']] + [str(progress.progress_dir())]))")
    seen = []
    for learner in ("ann", "bob"):
        home = tmp_path / learner
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAMBDALAB_")}
        env.update(HOME=str(home), BUCKET=f"{learner}-photos")
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
        assert run.returncode == 0, run.stderr
        seen.append(run.stdout.strip().splitlines()[-1])
    assert seen[0] == f'["ann-photos", "{tmp_path / "ann" / ".lambdalab"}"]'
    assert seen[1] == f'["bob-photos", "{tmp_path / "bob" / ".lambdalab"}"]'
