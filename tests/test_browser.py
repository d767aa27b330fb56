"""A checkpoint in a real browser: JupyterLab in headless Chromium runs a notebook, a learner answers wrongly, then
rightly, and sees the matching feedback (recipe: /shared/reference/browser-testing.md).

Skips with a reason when Chromium or Playwright is missing, except when LAMBDALAB_REQUIRE_BROWSER=1 (set by CI):
then a missing browser is a failure, so CI can never pass without running this test.
"""
import contextlib
import json
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from lambdalab.quiz.bank import load_bank
from lambdalab.quiz.widgets import option_label

CHROMIUM = os.environ.get("LAMBDALAB_CHROMIUM", "/usr/bin/chromium")
SECTION = "07"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check"]
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed (pip install playwright)"
    if not (pathlib.Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium, or set LAMBDALAB_CHROMIUM)"
    return None


def require_browser():
    """Skip with the reason, or (under LAMBDALAB_REQUIRE_BROWSER=1, as in CI) fail, when no browser is available."""
    reason = _missing()
    if reason and os.environ.get("LAMBDALAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"LAMBDALAB_REQUIRE_BROWSER=1 but {reason}")
    if reason:
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_notebook(path: pathlib.Path) -> None:
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": src}
             for src in ("from lambdalab import quiz", f'quiz.checkpoint("{SECTION}")')]
    path.write_text(json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}))


@contextlib.contextmanager
def jupyter_lab(tmp: pathlib.Path):
    """A fresh JupyterLab server in temp folders; yields (base_url, token, progress_dir)."""
    root, progress = tmp / "root", tmp / "progress"
    root.mkdir()
    _write_notebook(root / "quiz.ipynb")
    env = {**os.environ, "LAMBDALAB_PROGRESS_DIR": str(progress)}
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("JUPYTERLAB_SETTINGS_DIR", "settings"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
                     ("IPYTHONDIR", "ipython")):
        (tmp / sub).mkdir()
        env[var] = str(tmp / sub)
    for name, value in SETTINGS.items():
        target = tmp / "settings" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(tmp / "server.log", "w")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2).close()
                break
            except OSError as error:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start:\n{(tmp / 'server.log').read_text()[-3000:]}") from error
                time.sleep(0.2)
        yield base, token, progress
    finally:
        server.terminate()  # SIGTERM: the server shuts its kernels down
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_checkpoint_in_jupyterlab_wrong_then_right(tmp_path):
    require_browser()
    with jupyter_lab(tmp_path) as (base, token, progress):
        drive_checkpoint(base, token, progress)


def drive_checkpoint(base, token, progress):
    from playwright.sync_api import expect, sync_playwright

    q = load_bank().in_section(SECTION)[0]
    assert q.type == "single"
    right = option_label(q.options[q.answer[0]])
    wrong = option_label(q.options[next(k for k in q.options if k not in q.answer)])
    page_errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.goto(f"{base}/lab/tree/quiz.ipynb?reset&token={token}")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle")).to_be_visible(timeout=60_000)
            page.locator(".lm-MenuBar-item", has_text="Run").click()
            page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()

            card = page.locator(".lambdalab-card").first
            expect(card).to_be_visible(timeout=60_000)
            feedback = card.locator(".widget-html-content").last
            card.get_by_role("radio", name=wrong, exact=True).click()
            card.get_by_role("button", name="Check").click()
            expect(feedback).to_contain_text("Not quite", timeout=20_000)
            expect(feedback).to_contain_text("Try again")

            card.get_by_role("radio", name=right, exact=True).click()
            card.get_by_role("button", name="Check").click()
            expect(feedback).to_contain_text("Correct.", timeout=20_000)
            expect(page.locator(".lambdalab-quiz").first).to_contain_text("Score: 1 of")
            assert page.get_by_text("Error displaying widget").count() == 0
        finally:
            browser.close()
    assert not page_errors, page_errors

    from lambdalab.quiz.progress import ProgressStore

    answers = ProgressStore(progress / "progress.sqlite").answers()
    assert [(a.question_id, a.correct) for a in answers] == [(q.id, False), (q.id, True)]
