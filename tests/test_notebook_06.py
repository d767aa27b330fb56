"""Notebook 06 runs top to bottom twice in one kernel, shows what it teaches, and never shows a secret's value."""
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "06_config_and_security.ipynb"
# Appended to the run: every password Secrets Manager holds, read in the notebook's own kernel at the end.
REVEAL = """
from lambdalab import aws as _aws
_sm = _aws.client("secretsmanager")
_found = []
for _secret in _sm.list_secrets()["SecretList"]:
    for _v in _sm.list_secret_version_ids(SecretId=_secret["ARN"], IncludeDeprecated=True)["Versions"]:
        _found.append(json.loads(_sm.get_secret_value(SecretId=_secret["ARN"], VersionId=_v["VersionId"])
                                 ["SecretString"])["password"])
print("PASSWORDS=" + json.dumps(_found))
"""


def test_has_its_diagrams_callouts_and_checkpoint():
    nb = json.loads(NOTEBOOK.read_text())
    sources = "\n".join("".join(c["source"]) for c in nb["cells"])
    assert sources.count("```mermaid") == 2 and sources.count("> **On AWS:**") >= 3
    assert "".join(nb["cells"][-1]["source"]).strip() == 'quiz.checkpoint("06_config_and_security")'


@pytest.mark.notebook
def test_runs_twice_shows_the_lessons_and_never_a_secret(tmp_path, monkeypatch):
    from notebook_runner import outputs_text, run_notebook

    monkeypatch.setenv("LAMBDALAB_PROGRESS_DIR", str(tmp_path))
    nb = run_notebook(NOTEBOOK, twice=True, timeout=180, extra_cells=[REVEAL])
    revealed = nb.cells.pop()
    passwords = json.loads(outputs_text(nbformat_like(revealed)).split("PASSWORDS=", 1)[1])
    shown = outputs_text(nb)
    assert len(passwords) == 2 and all(len(p) >= 24 for p in passwords)  # the rotation's two versions
    assert not any(p in shown for p in passwords)
    assert "photos-out ['cats/thumb-tom.jpg']" in shown and "photos-archive ['cats/thumb-felix.jpg']" in shown
    assert "Lambda allows 4 KB (4,096 bytes)" in shown
    assert "GetSecretValue per environment: [1, 1]" in shown
    assert "is a rotation half done?" in shown and "'refreshed_after_refusal': True" in shown
    assert "assumed-role/thumbnail-narrow/thumbnail is not authorized to perform: s3:PutObject" in shown
    assert "action s3:*, resource *" in shown and "least privilege: True" in shown
    assert "explicitly denied by statement 'KeepOriginals'" in shown
    assert "someone-elses-bucket  no statement allows it (implicit deny)" in shown


def nbformat_like(cell):
    """outputs_text takes a notebook: wrap one cell."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(cell)
    return nb
