"""A checkpoint in a real browser: JupyterLab in headless Chromium runs a notebook, a learner answers wrongly, then
rightly, and sees the matching feedback (recipe: /shared/reference/browser-testing.md).

Skips with a reason when Chromium or Playwright is missing, except when LAMBDALAB_REQUIRE_BROWSER=1 (set by CI):
then a missing browser is a failure, so CI can never pass without running this test.
"""
import json
import pathlib
import secrets

import pytest

from browser_harness import browser, jupyter_server, problems_on_show, require_browser, wait_idle
from lambdalab.quiz.bank import load_bank
from lambdalab.quiz.widgets import option_label

SECTION = "07"
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _write_notebook(path: pathlib.Path, sources) -> None:
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": src}
             for src in sources]
    path.write_text(json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}))


def open_and_run(page, base, token, name):
    from playwright.sync_api import expect

    page.goto(f"{base}/lab/tree/{name}?reset&token={token}")
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    wait_idle(page, 60_000)
    page.locator(".lm-MenuBar-item", has_text="Run").click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    return expect


def test_checkpoint_in_jupyterlab_wrong_then_right(tmp_path):
    require_browser()
    root = tmp_path / "root"
    root.mkdir()
    _write_notebook(root / "quiz.ipynb", ["from lambdalab import quiz", "quiz.show_progress()",
                                          f'quiz.checkpoint("{SECTION}")'])
    with jupyter_server(root, tmp_path / "server", token=secrets.token_hex(16)) as (_, base, token):
        drive_checkpoint(base, token, tmp_path / "server" / "progress")


def drive_checkpoint(base, token, progress):
    q = load_bank().in_section(SECTION)[0]
    assert q.type == "single"
    right = option_label(q.options[q.answer[0]])
    wrong = option_label(q.options[next(k for k in q.options if k not in q.answer)])
    page_errors = []
    with browser() as chromium:
        page = chromium.new_page()
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        expect = open_and_run(page, base, token, "quiz.ipynb")

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
        # the progress view above the checkpoint redrew itself after each Check (live, not stale)
        expect(page.get_by_text("from 2 recorded answers", exact=False)).to_be_visible(timeout=20_000)
        assert page.get_by_text("Error displaying widget").count() == 0
    assert not page_errors, page_errors

    from lambdalab.quiz.progress import ProgressStore

    answers = ProgressStore(progress / "progress.sqlite").answers()
    assert [(a.question_id, a.correct) for a in answers] == [(q.id, False), (q.id, True)]


LONG = ("This option is long on purpose: " * 12)[:300]
LAYOUT_CELLS = [
    f"""import dataclasses
from lambdalab.quiz.bank import Bank, load_bank
from lambdalab.quiz.exam import Exam
from lambdalab.quiz.progress import ProgressStore
from lambdalab.quiz.widgets import CheckpointView, ExamView, ReviewView

LONG = {LONG!r}
def stretched(q):  # the right option becomes 300 characters long
    return dataclasses.replace(q, options={{k: LONG if k == q.answer[0] else v for k, v in q.options.items()}})
bank = Bank([stretched(q) if q.is_choice else q for q in load_bank()])
single = next(q for q in bank if q.type == "single")
multiple = next(q for q in bank if q.type == "multiple")
text = next(q for q in bank if q.type == "text")
store = ProgressStore("layout-progress.sqlite")""",
    'CheckpointView([single, multiple, text], title="Checkpoint view", store=store)',
    'store.record(single.id, correct=False)\nReviewView(store=store, bank=bank)',
    "exam = ExamView(Exam(3, bank=bank, seed=1, record=False))\nexam.start()\nexam.widget",
    # what the course walk must catch: a stderr box and a broken image
    "import sys\nfrom IPython.display import HTML\nprint('a stderr box', file=sys.stderr)\n"
    "HTML('<img src=\"no-such-image.png\" alt=\"missing\">')",
]
MEASURE = """() => [...document.querySelectorAll('.lambdalab-quiz label')].filter(l => l.querySelector('input')).map(l => {
  const input = l.querySelector('input').getBoundingClientRect();
  const walker = document.createTreeWalker(l, NodeFilter.SHOW_TEXT);
  let node; while ((node = walker.nextNode()) && !node.textContent.trim()) {}
  if (!node) return null;
  const range = document.createRange(); range.selectNodeContents(node);
  const lines = [...range.getClientRects()].filter(r => r.width > 0);
  const view = l.closest('.lambdalab-quiz').querySelector('h4');
  return {view: view ? view.textContent : '', text: node.textContent.slice(0, 40), chars: node.textContent.length,
          inputTop: input.top, inputBottom: input.bottom, inputLeft: input.left, inputRight: input.right,
          lineTop: lines[0].top, lineBottom: lines[0].bottom, lineLeft: lines[0].left,
          lines: new Set(lines.map(r => Math.round(r.top))).size};
}).filter(Boolean)"""


def test_radio_sits_beside_the_first_line_of_a_300_character_option(tmp_path):
    """Measured, not eyeballed: in the checkpoint, review and exam views, at a wide and a narrow window, every radio
    and checkbox is left of its label's first line and vertically inside it, and the long option really wraps.
    Enter submits a free-text answer, and Tab goes from an option to its Check button."""
    require_browser()
    root = tmp_path / "root"
    root.mkdir()
    _write_notebook(root / "layout.ipynb", LAYOUT_CELLS)
    with jupyter_server(root, tmp_path / "server", token=secrets.token_hex(16)) as (_, base, token), \
            browser() as chromium:
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        expect = open_and_run(page, base, token, "layout.ipynb")
        expect(page.locator(".lambdalab-quiz")).to_have_count(3, timeout=60_000)
        expect(page.get_by_role("button", name="Next")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("a stderr box", exact=True)).to_be_visible(timeout=30_000)
        page.wait_for_timeout(500)
        found = problems_on_show(page)  # the walk's detector sees what it must fail on
        assert any("a stderr box" in f for f in found) and any("no-such-image.png" in f for f in found), found
        for width in (1280, 620):
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(400)
            options = page.evaluate(MEASURE)
            views = {o["view"] for o in options}
            assert {"Checkpoint view", "Review: questions you got wrong before", "Practice exam"} <= views, views
            long = [o for o in options if o["chars"] >= 299]  # 300, trailing space dropped by option_label
            assert {o["view"] for o in long} == views, "each view shows a 300-character option"
            for o in options:
                where = f"{o['view']} / {o['text']!r} at {width}px"
                middle = (o["inputTop"] + o["inputBottom"]) / 2
                assert o["lineTop"] <= middle <= o["lineBottom"], f"{where}: the input is not beside the first line {o}"
                assert o["inputRight"] <= o["lineLeft"] + 1, f"{where}: the input is not left of its text {o}"
                assert o["lineLeft"] - o["inputRight"] < 24, f"{where}: the input is far from its text {o}"
            assert all(o["lines"] >= 2 for o in long), "the 300-character option should wrap onto more lines"
        page.screenshot(path=str(tmp_path / "layout-narrow.png"))

        card = page.locator(".lambdalab-card", has=page.locator("input[type=text]")).first
        box = card.locator("input[type=text]")
        box.fill("Amazon SQS")
        box.press("Enter")
        expect(card.locator(".widget-html-content").last).to_contain_text("Not quite", timeout=20_000)
        box.focus()
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent").strip() == "Check", page.evaluate("document.activeElement.outerHTML.slice(0, 300)")
        first = page.locator(".lambdalab-card").first
        radios = first.get_by_role("radio")
        values = radios.evaluate_all("els => els.map(e => e.value)")
        radios.first.focus()
        for value in values[1:]:  # Tab goes through the options in the order they are shown, then to Check
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.value") == value
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent").strip() == "Check"
