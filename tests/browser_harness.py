"""JupyterLab in headless Chromium, for the browser tests (recipe: shared/reference/browser-testing.md).

``jupyter_server(root, tmp)`` starts JupyterLab the way the README does (``lambdalab lab``, so the course folder is the
root and the printed URL opens notebook 00), in temp config folders, and yields the URL it printed. ``browser()``
launches the system Chromium. Both skip with a reason when Chromium or Playwright is missing, except under
LAMBDALAB_REQUIRE_BROWSER=1 (CI): then a missing browser is a failure.
"""
import contextlib
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("LAMBDALAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check"]
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
COURSE_PARTS = ("notebooks", "labs", "data", "docs", "README.md", "requirements.lock")
STDERR_MIME = "application/vnd.jupyter.stderr"  # JupyterLab shows stderr streams AND errors with this type


def missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed (pip install playwright)"
    if not (pathlib.Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium, or set LAMBDALAB_CHROMIUM)"
    return None


def require_browser():
    """Skip with the reason, or (under LAMBDALAB_REQUIRE_BROWSER=1, as in CI) fail, when no browser is available."""
    reason = missing()
    if reason and os.environ.get("LAMBDALAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"LAMBDALAB_REQUIRE_BROWSER=1 but {reason}")
    if reason:
        pytest.skip(reason)


def copy_course(target: pathlib.Path) -> pathlib.Path:
    """The parts of the course a learner opens, copied (checkpoints and outputs must not land in the repo)."""
    target.mkdir(parents=True)
    for name in COURSE_PARTS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        elif source.exists():
            shutil.copy(source, target / name)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyter_server(root: pathlib.Path, tmp: pathlib.Path, *, token: str | None = None):
    """``lambdalab lab --root ROOT --no-browser`` in temp config folders; yields (printed URL, base URL, token)."""
    env = {**os.environ, "LAMBDALAB_PROGRESS_DIR": str(tmp / "progress")}
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("JUPYTERLAB_SETTINGS_DIR", "settings"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
                     ("IPYTHONDIR", "ipython")):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(tmp / sub)
    for name, value in SETTINGS.items():
        target = tmp / "settings" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    port = free_port()
    cmd = [sys.executable, "-m", "lambdalab.cli", "lab", "--root", str(root), "--no-browser",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if token:
        cmd.append(f"--IdentityProvider.token={token}")
    log_path = tmp / "server.log"
    log = open(log_path, "w")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline, url = time.monotonic() + 90, None
        while url is None:
            found = re.search(rf"(http://127\.0\.0\.1:{port}/\S+)", log_path.read_text())
            if found:
                url = found.group(1)
            elif server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not start:\n{log_path.read_text()[-3000:]}")
            else:
                time.sleep(0.2)
        parts = urllib.parse.urlsplit(url)
        # a token given on the command line is printed masked ("?token=..."): use the one given
        printed_token = token or urllib.parse.parse_qs(parts.query).get("token", [""])[0]
        base = f"{parts.scheme}://{parts.netloc}"
        while True:  # the URL is printed when the server listens; wait until the API answers too
            try:
                urllib.request.urlopen(f"{base}/api/status?token={printed_token}", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url, base, printed_token
    finally:
        server.terminate()  # SIGTERM: the server shuts its kernels down
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@contextlib.contextmanager
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def active_panel(page):
    """The notebook panel on show (others stay open in their tabs, hidden)."""
    return page.locator("#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden)")


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    from playwright.sync_api import expect

    expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle")).to_be_visible(timeout=timeout_ms)


def run_all(page, timeout_s: float = 300) -> None:
    """Run > Run All Cells on the notebook on show, then wait until every code cell has an execution count.

    The notebook is clicked first so that it is the one the Run menu acts on; if no cell has started after 20 s
    (the menu acted on nothing), Run All is asked again.
    """
    panel = active_panel(page)
    deadline = time.monotonic() + timeout_s
    asked, asked_at = 0, 0.0
    while True:
        if asked == 0 or (asked < 3 and time.monotonic() > asked_at + 20 and not started(panel)):
            panel.locator(".jp-Cell .jp-InputPrompt").first.click()
            page.locator(".lm-MenuBar-item", has_text="Run").click()
            page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
            asked, asked_at = asked + 1, time.monotonic()
        prompts = panel.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
        if prompts and all(re.fullmatch(r"\[\d+\]:", p.strip()) for p in prompts):
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"Run All did not finish in {timeout_s:g} s (asked {asked} times); prompts: {prompts}")
        time.sleep(0.5)
    wait_idle(page)


def started(panel) -> bool:
    return any(p.strip() != "[ ]:" for p in panel.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts())


def problems_on_show(page) -> list[str]:
    """Error or stderr outputs, widgets that failed to display, and broken images in the notebook on show."""
    panel = active_panel(page)
    found = [f"stderr/error output: {t.strip()[:400]}"
             for t in panel.locator(f'.jp-OutputArea-output[data-mime-type="{STDERR_MIME}"]').all_inner_texts()]
    if panel.get_by_text("Error displaying widget").count():
        found.append("Error displaying widget")
    if panel.get_by_text("Syntax error in text").count():
        found.append("a Mermaid diagram failed to render (Syntax error in text)")
    images = panel.locator("img")
    with contextlib.suppress(Exception):  # a slow server: judge what has loaded by then, and name what has not
        images.evaluate_all("els => Promise.race([Promise.all(els.map(e => e.complete ? null : new Promise(done => "
                            "{e.addEventListener('load', done); e.addEventListener('error', done);}))), "
                            "new Promise(done => setTimeout(done, 15000))])")
    state = images.evaluate_all("els => els.map(e => [e.complete, e.naturalWidth, (e.getAttribute('src') || '')"
                                ".slice(0, 80)])")
    found += [f"broken image: {src}" for complete, width, src in state if complete and width == 0]
    found += [f"image still loading after 15 s: {src}" for complete, _, src in state if not complete]
    return found


def screenshot(page, folder: pathlib.Path, name: str) -> pathlib.Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


class KernelTraffic:
    """The Jupyter messages the page exchanges with its kernels, read off the kernel websockets.

    JupyterLab 4.4+ sends requests of its own that the status bar's "| Idle" does not cover: with ipykernel 7 each
    widget comm target gets a kernel subshell (setting ``commsOverSubshells``, default ``perCommTarget``), so opening
    a notebook or displaying a widget sends a ``create_subshell_request`` on the control channel. Shutting a kernel
    down while such a request is in flight makes JupyterLab throw in the page ("Canceled future for
    create_subshell_request message before replies were done", "Kernel is dead"). ``settle`` waits until every
    request the page sent to a kernel has its reply, so the walk leaves a page only when the page is done with it.
    """

    def __init__(self, page):
        self.pending: dict[str, dict[str, str]] = {}  # kernel id -> {msg_id: msg_type} sent, reply not yet seen
        self.sockets: dict[str, int] = {}  # kernel id -> websockets the page has open to it
        page.on("websocket", self._watch)

    def _watch(self, ws) -> None:
        found = re.search(r"/api/kernels/([0-9a-f-]{36})/channels", ws.url)
        if not found:
            return
        kernel = found.group(1)
        self.sockets[kernel] = self.sockets.get(kernel, 0) + 1
        self.pending.setdefault(kernel, {})
        ws.on("framesent", lambda payload: self._sent(kernel, payload))
        ws.on("framereceived", lambda payload: self._received(kernel, payload))
        ws.on("close", lambda _ws: self.sockets.update({kernel: self.sockets[kernel] - 1}))

    def connected(self, kernel: str) -> bool:
        return self.sockets.get(kernel, 0) > 0

    @staticmethod
    def _parse(payload) -> tuple[str, dict, dict]:
        """(channel, header, parent header) of a frame: JSON text, or the binary v1.kernel.websocket.jupyter.org."""
        if isinstance(payload, str):
            msg = json.loads(payload)
            return msg.get("channel", ""), msg.get("header", {}), msg.get("parent_header", {})
        count = int.from_bytes(payload[:8], "little")
        offsets = [int.from_bytes(payload[8 * (i + 1):8 * (i + 2)], "little") for i in range(count)]
        part = [payload[offsets[i]:offsets[i + 1]] for i in range(count - 1)]
        return part[0].decode(), json.loads(part[1] or b"{}"), json.loads(part[2] or b"{}")

    def _sent(self, kernel: str, payload) -> None:
        channel, header, _ = self._parse(payload)
        if channel in ("shell", "control") and header.get("msg_type", "").endswith("_request"):
            self.pending[kernel][header["msg_id"]] = header["msg_type"]

    def _received(self, kernel: str, payload) -> None:
        channel, _, parent = self._parse(payload)
        if channel in ("shell", "control"):
            self.pending[kernel].pop(parent.get("msg_id"), None)

    def in_flight(self, kernel: str | None = None) -> dict[str, str]:
        kernels = [kernel] if kernel else list(self.pending)
        return {msg_id: kind for k in kernels for msg_id, kind in self.pending.get(k, {}).items()}

    def settle(self, page, kernel: str | None = None, timeout_s: float = 60) -> None:
        """Wait until no request the page sent to KERNEL (default: any kernel) is waiting for its reply."""
        deadline = time.monotonic() + timeout_s
        while self.in_flight(kernel):
            if time.monotonic() > deadline:
                raise AssertionError(f"kernel {kernel or '(any)'} left requests unanswered for {timeout_s:g} s: "
                                     f"{sorted(self.in_flight(kernel).values())}")
            page.wait_for_timeout(100)  # lets Playwright deliver the websocket events
