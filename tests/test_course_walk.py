"""A learner's walk through the course in a real browser: start the course the README's way (``lambdalab lab``, which
``make lab`` runs) headless, open notebook 00 by the URL it prints, follow "Next" from notebook to notebook and into
each lab, Run All in each, and fail on a dead link, an error or stderr output, "Error displaying widget" or a broken
image. A screenshot of each page goes to $LAMBDALAB_SCREENSHOTS (default: the test's temp folder).

It walks whatever notebooks exist: "Next" is the link in a notebook's navigation line whose text ends with an arrow.
Run All: every notebook is already executed (twice) by the notebook tests, so the walk runs in the browser only
where a browser sees more than nbclient does: notebook 00 (first contact: environment check, live progress, a
checkpoint), the first lab reached, and notebook 08 (practice exam, review, progress). Every other page is opened, its
Markdown rendered and checked (dead links, broken images, Mermaid errors) and screenshotted. LAMBDALAB_WALK=full runs
every page (measured: see the issue 17 report), for a release check.

Where a navigation line has no such link to the next notebook that exists, or a lab is linked from no notebook, the
walk opens it by its URL and lists the gap (test_links.py asserts the chain itself), so every notebook in notebooks/
and every lab in labs/ is opened and run. Pages left behind are closed and their kernels shut down (see ``leave``).
"""
import json
import os
import pathlib
import time
import urllib.parse
import urllib.request

import pytest

from browser_harness import (
    ROOT,
    KernelTraffic,
    active_panel,
    browser,
    copy_course,
    jupyter_server,
    problems_on_show,
    require_browser,
    run_all,
    screenshot,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
START = "notebooks/00_start_here.ipynb"
FULL = os.environ.get("LAMBDALAB_WALK") == "full"


def runs_all(path: str, visited: list) -> bool:
    first_lab = path.startswith("labs/") and not any(p.startswith("labs/") for p in visited)
    return FULL or first_lab or path in (START, "notebooks/08_checkpoint_review.ipynb")


def course_path(href: str, base: str) -> str | None:
    """``notebooks/02_x.ipynb`` for a link JupyterLab rendered as ``{base}/files/notebooks/02_x.ipynb?_xsrf=...``."""
    parts = urllib.parse.urlsplit(href)
    if f"{parts.scheme}://{parts.netloc}" != base or not parts.path.startswith("/files/"):
        return None
    return urllib.parse.unquote(parts.path[len("/files/"):])


def links_on_show(page, base: str) -> list[tuple[str, str, str]]:
    """(text, course path, href) of every link to a file of the course in the notebook on show."""
    found = active_panel(page).locator(".jp-RenderedMarkdown a[href]").evaluate_all(
        "els => els.map(e => [e.textContent.trim(), e.href])")
    return [(text, path, href) for text, href in found if (path := course_path(href, base))]


def dead_links(page, links) -> list[str]:
    dead = []
    for text, path, href in links:
        status = page.request.get(href).status
        if status != 200:
            dead.append(f"[{text}]({path}) answers HTTP {status}")
    return dead


def open_by_link(page, text: str, path: str) -> None:
    """Click the link as a learner does, then wait until its notebook is the one on show, with its kernel idle."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    link = active_panel(page).locator(".jp-RenderedMarkdown a", has_text=text).first
    try:
        link.click(timeout=5_000)
    except PlaywrightTimeout:  # a floating cell toolbar can cover a link in the top cell: click it as the DOM does
        link.dispatch_event("click")
    name = pathlib.PurePosixPath(path).name
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")).to_contain_text(name, timeout=60_000)
    expect(active_panel(page).locator(".jp-Notebook")).to_be_visible(timeout=60_000)
    wait_idle(page)


def open_by_url(page, traffic: KernelTraffic, base: str, token: str, path: str) -> None:
    from playwright.sync_api import expect

    traffic.settle(page)  # the page is about to be replaced: let it have its replies first
    page.goto(f"{base}/lab/tree/{path}?reset&token={token}")  # reset: only this page, not the restored workspace
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")).to_contain_text(
        pathlib.PurePosixPath(path).name, timeout=60_000)
    wait_idle(page)


def session_kernel(base: str, token: str, path: str) -> str | None:
    """The id of the kernel the server runs for the notebook at PATH, if any."""
    request = urllib.request.Request(f"{base}/api/sessions", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return next((s["kernel"]["id"] for s in json.load(r) if s.get("path") == path and s.get("kernel")), None)


def leave(page, traffic: KernelTraffic, base: str, token: str, path: str) -> None:
    """Close the page of a notebook the walk has left and end its kernel (the server keeps one per notebook).

    In this order, so that JupyterLab never holds a connection to a kernel that is going away: wait until the page has
    every reply it asked the kernel for (``KernelTraffic``), close the tab (discarding the outputs of Run All), wait
    until its kernel websocket is closed, and only then shut the kernel down through the sessions API. Shutting the
    kernel down under an open tab made JupyterLab throw "Canceled future for create_subshell_request ..." or
    "Kernel is dead" in the page when a request was still in flight (seen on a loaded machine).
    """
    from playwright.sync_api import expect

    kernel = session_kernel(base, token, path)
    if kernel and traffic.in_flight(kernel):
        print(f"    leaving {path}: waiting for replies to {sorted(traffic.in_flight(kernel).values())}", flush=True)
        traffic.settle(page, kernel)
    name = pathlib.PurePosixPath(path).name
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=name)
    tab.first.locator(".lm-TabBar-tabCloseIcon").click(force=True)
    dialog = page.locator(".jp-Dialog")
    deadline = time.monotonic() + 30
    while tab.count():
        if dialog.count():  # "Save your work": the walk's outputs are not for keeping
            dialog.get_by_role("button", name="Discard").click()
        if time.monotonic() > deadline:
            raise AssertionError(f"the tab of {path} did not close")
        page.wait_for_timeout(100)
    expect(dialog).to_have_count(0)
    deadline = time.monotonic() + 30
    while kernel and traffic.connected(kernel):
        if time.monotonic() > deadline:
            raise AssertionError(f"the page kept its connection to the kernel of {path} after its tab closed")
        page.wait_for_timeout(100)
    headers = {"Authorization": f"token {token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/sessions", headers=headers), timeout=10) as r:
        sessions = json.load(r)
    for session in sessions:
        if session.get("path") == path:
            urllib.request.urlopen(urllib.request.Request(f"{base}/api/sessions/{session['id']}", method="DELETE",
                                                          headers=headers), timeout=30).close()


def activate_tab(page, name: str) -> None:
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=name).first.click()
    page.wait_for_timeout(300)


def test_walk_the_course_from_the_printed_url(tmp_path):
    require_browser()
    course = copy_course(tmp_path / "course")
    shots = pathlib.Path(os.environ.get("LAMBDALAB_SCREENSHOTS") or tmp_path / "screenshots")
    visited, problems, timings = [], [], {}
    with jupyter_server(course, tmp_path / "server") as (url, base, token), browser() as chromium:
        assert urllib.parse.urlsplit(url).path == f"/lab/tree/{START}", f"the printed URL does not open 00: {url}"
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        page_errors = []
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        traffic = KernelTraffic(page)
        page.goto(url)
        from playwright.sync_api import expect

        expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")).to_contain_text(
            "00_start_here.ipynb", timeout=90_000)
        wait_idle(page)

        def visit(path: str) -> list:
            started = time.monotonic()
            if runs_all(path, visited):
                run_all(page)
            else:
                expect(active_panel(page).locator(".jp-RenderedMarkdown").first).to_be_visible(timeout=60_000)
                page.wait_for_timeout(1500)  # Mermaid and images render after the Markdown
            timings[path] = round(time.monotonic() - started, 1)
            print(f"  {path}: {timings[path]} s", flush=True)
            visited.append(path)
            links = links_on_show(page, base)
            problems.extend(f"{path}: {p}" for p in problems_on_show(page) + dead_links(page, links))
            screenshot(page, shots, pathlib.PurePosixPath(path).stem)
            return links

        order = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        labs = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "labs").glob("*.ipynb"))
        gaps, current = [], START
        while True:
            links = visit(current)
            for text, lab, _ in links:
                if lab.startswith("labs/") and lab.endswith(".ipynb") and lab not in visited:
                    open_by_link(page, text, lab)
                    visit(lab)
                    leave(page, traffic, base, token, lab)
                    activate_tab(page, pathlib.PurePosixPath(current).name)
            left = current
            following = [(t, p) for t, p, _ in links if t.endswith("→") and p.startswith("notebooks/")]
            expected = order[order.index(current) + 1] if current in order[:-1] else None
            if following and following[0][1] not in visited and following[0][1] in (expected, None):
                text, current = following[0]
                open_by_link(page, text, current)
            elif expected and expected not in visited:
                if following and following[0][1] != expected:
                    gaps.append(f"{left}: 'Next →' leads to {following[0][1]}, not {expected}")
                gaps.append(f"{left}: no 'Next →' link to {expected}; opened by its URL")
                current = expected
                open_by_url(page, traffic, base, token, current)
            else:
                break
            leave(page, traffic, base, token, left)
        for lab in labs:
            if lab not in visited:
                gaps.append(f"{lab}: linked from no notebook; opened by its URL")
                open_by_url(page, traffic, base, token, lab)
                visit(lab)
                leave(page, traffic, base, token, lab)
        assert not page_errors, page_errors

    total = round(sum(timings.values()), 1)
    print(f"\nwalked {len(visited)} pages; Run All seconds (total {total}): {timings}; screenshots in {shots}")
    print("navigation gaps (test_links.py asserts the chain):\n  " + "\n  ".join(gaps or ["none"]))
    assert not problems, "\n".join(problems)
    assert [p for p in visited if p.startswith("notebooks/")] == order, "a notebook was skipped"
    assert sorted(p for p in visited if p.startswith("labs/")) == labs
