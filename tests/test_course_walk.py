"""A learner's walk through the course in a real browser: start the course the README's way (``lambdalab lab``, which
``make lab`` runs) headless, open notebook 00 by the URL it prints, follow "Next" from notebook to notebook and into
each lab, Run All in each, and fail on a dead link, an error or stderr output, "Error displaying widget" or a broken
image. A screenshot of each page goes to $LAMBDALAB_SCREENSHOTS (default: the test's temp folder).

It walks whatever notebooks exist: "Next" is the link in a notebook's navigation line whose text ends with an arrow
(a notebook not written yet is named without a link, so the line links the next one that exists). At the end every
notebook in notebooks/ and every lab in labs/ must have been reached.
"""
import os
import pathlib
import re
import time
import urllib.parse

import pytest

from browser_harness import (ROOT, active_panel, browser, copy_course, jupyter_server, problems_on_show,
                             require_browser, run_all, screenshot, wait_idle)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
START = "notebooks/00_start_here.ipynb"


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
    from playwright.sync_api import expect

    active_panel(page).locator(".jp-RenderedMarkdown a", has_text=text).first.click()
    name = pathlib.PurePosixPath(path).name
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")).to_contain_text(name, timeout=60_000)
    expect(active_panel(page).locator(".jp-Notebook")).to_be_visible(timeout=60_000)
    wait_idle(page)


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
        page.goto(url)
        from playwright.sync_api import expect

        expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")).to_contain_text(
            "00_start_here.ipynb", timeout=90_000)
        wait_idle(page)

        def visit(path: str) -> list:
            started = time.monotonic()
            run_all(page)
            timings[path] = round(time.monotonic() - started, 1)
            visited.append(path)
            links = links_on_show(page, base)
            problems.extend(f"{path}: {p}" for p in problems_on_show(page) + dead_links(page, links))
            screenshot(page, shots, pathlib.PurePosixPath(path).stem)
            return links

        current = START
        while True:
            links = visit(current)
            for text, lab, _ in links:
                if lab.startswith("labs/") and lab.endswith(".ipynb") and lab not in visited:
                    open_by_link(page, text, lab)
                    visit(lab)
                    activate_tab(page, pathlib.PurePosixPath(current).name)
            following = [(t, p) for t, p, _ in links if t.endswith("→") and p.startswith("notebooks/")]
            assert following or current.startswith("notebooks/08"), f"{current} has no 'Next →' link"
            if not following or following[0][1] in visited:
                break
            text, current = following[0]
            open_by_link(page, text, current)
        assert not page_errors, page_errors

    print(f"\nwalked {len(visited)} notebooks; Run All seconds: {timings}; screenshots in {shots}")
    assert not problems, "\n".join(problems)
    course_notebooks = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("*.ipynb"))
    labs = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "labs").glob("*.ipynb"))
    assert [p for p in visited if p.startswith("notebooks/")] == course_notebooks, "Next links skip a notebook"
    assert sorted(p for p in visited if p.startswith("labs/")) == labs, "a lab is not linked from its notebook"
    assert all(re.match(r"(notebooks|labs)/", p) for p in visited)
