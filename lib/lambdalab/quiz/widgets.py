"""The widget face of the quiz: checkpoints, the practice exam and review mode (ipywidgets, imported lazily).

All logic lives in ``grading`` and ``exam``; these classes only lay out widgets and call it. They work in plain
Python too (``card.select("B"); card.check_button.click()``), which is how the tests drive them. Nothing here shows
an answer key before the learner has answered.
"""
from __future__ import annotations

import hashlib
import re
import warnings
from html import escape

from .bank import DOMAINS, Question, load_bank, resolve_section
from .exam import Exam, ExamOver
from .grading import grade_question, self_assess
from .live import cell_key, drawn_note
from .plots import exam_figure, figure_png

# Each option is a flex row: the radio or checkbox stays beside the FIRST line of its label, however long the label
# and however narrow the window (ipywidgets' own CSS gives a label one fixed-height line and floats the input).
CSS = """<style>
.lambdalab-quiz .widget-radio-box label, .lambdalab-quiz .jupyter-widget-radio-box label,
.lambdalab-quiz .widget-checkbox label, .lambdalab-quiz .jupyter-widget-checkbox label {
  display: flex !important; flex-direction: row; align-items: flex-start; height: auto !important;
  line-height: 1.35 !important; white-space: normal !important; overflow: visible !important; overflow-wrap: anywhere;
  margin-bottom: 6px; }
.lambdalab-quiz .widget-radio-box input, .lambdalab-quiz .jupyter-widget-radio-box input,
.lambdalab-quiz .widget-checkbox input, .lambdalab-quiz .jupyter-widget-checkbox input {
  float: none !important; order: -1; flex: 0 0 auto; align-self: flex-start !important;
  height: calc(var(--jp-widgets-font-size, 13px) * 1.35) !important; margin: 0 8px 0 1px !important; }
.lambdalab-quiz .widget-checkbox, .lambdalab-quiz .jupyter-widget-checkbox, .lambdalab-quiz .widget-radio,
.lambdalab-quiz .jupyter-widget-radio { height: auto !important; }
.lambdalab-quiz label span { height: auto !important; line-height: 1.35 !important; white-space: normal !important;
  overflow: visible !important; font-size: var(--jp-widgets-font-size, 13px); }
.lambdalab-card { border-left: 3px solid #1565c0; padding: 4px 10px; margin: 10px 0; }
.lambdalab-ok { color: #1b5e20; } .lambdalab-no { color: #b71c1c; } .lambdalab-note { color: #555; }
.lambdalab-quiz pre { background: #f6f8fa; padding: 6px; white-space: pre-wrap; }
.lambdalab-quiz .widget-html-content { line-height: 1.45; }
</style>"""


def _w():
    import ipywidgets

    return ipywidgets


def option_label(text: str) -> str:
    """How an option reads on a radio button or checkbox (inline code marks removed)."""
    return " ".join(text.replace("`", "").split())


def display_order(q: Question) -> list[str]:
    """The option letters in the order a checkpoint shows them: shuffled, but the same for a question every time.

    The bank lists the key first for easy review; shown in that order, "always pick the first" would score 100%.
    """
    return sorted(q.options, key=lambda k: hashlib.sha256(f"{q.id}/{k}".encode()).hexdigest())


def md_html(text: str) -> str:
    """Escape, then render ```fenced``` blocks as <pre> and `inline code` as <code>."""
    out = []
    for i, part in enumerate(re.split(r"```(?:json|python|yaml)?\n?", text)):
        if i % 2:
            out.append(f"<pre>{escape(part.strip())}</pre>")
        else:
            html = re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(part.strip()))
            out.append(html.replace("\n\n", "<br><br>").replace("\n", " "))
    return "".join(out)


def stem_html(q: Question, number=None, total=None) -> str:
    where = f"Question {number}" + (f" of {total}" if total else "") if number else "Question"
    meta = f"{where} &middot; Domain {q.domain}: {escape(DOMAINS[q.domain])} &middot; {escape(', '.join(q.services))}"
    hint = "<i>Answer in a few words.</i>" if q.type == "text" else ""
    return f"<div class='lambdalab-note'><small>{meta}</small></div><div>{md_html(q.question)}</div>{hint}"


def explanation_html(q: Question, only=None, source=True) -> str:
    """Every option (or just ``only``) with right/wrong and why, plus (``source``) the documentation link."""
    if q.type == "text":
        body = (f"<p><b>Expected answer:</b> {escape(q.accepted[0])}</p><p>{md_html(q.explanation)}</p>")
    else:
        keys = [k for k in display_order(q) if only is None or k in only]
        items = "".join(
            f"<li><b>{escape(option_label(q.options[k]))}</b><br>"
            f"<span class='{'lambdalab-ok' if k in q.answer else 'lambdalab-no'}'>"
            f"{'Correct' if k in q.answer else 'Wrong'}:</span> {md_html(q.explanations[k])}</li>" for k in keys)
        body = f"<ul>{items}</ul>"
    link = f"<p><small>Source: <a href='{q.doc}' target='_blank'>{escape(q.doc)}</a></small></p>"
    return body + (link if source else "")


def feedback_html(q: Question, result, attempts: int) -> str:
    if result.self_assessed:
        verdict = "you had it" if result.correct else "you did not have it yet"
        css = "lambdalab-ok" if result.correct else "lambdalab-no"
        return f"<div class='{css}'><b>Self-assessed: {verdict}.</b></div>{explanation_html(q)}"
    if result.needs_self_assessment:
        return (f"<div class='lambdalab-note'><b>? Cannot tell.</b> {escape(result.feedback)}</div>"
                f"<p><b>Your answer:</b> {escape(str(result.given))}</p>{explanation_html(q)}")
    if result.correct:
        return f"<div class='lambdalab-ok'><b>&#10003; Correct.</b></div>{explanation_html(q)}"
    head = f"<div class='lambdalab-no'><b>&#10007; Not quite.</b> {escape(result.feedback)}</div>"
    if attempts >= 2:
        return head + explanation_html(q)
    if q.type == "text":
        return head + "<p class='lambdalab-note'>Try again in other words; after a second try the answer is shown.</p>"
    return (head + explanation_html(q, only=result.given, source=False) +
            "<p class='lambdalab-note'>Try again; after a second try every option is explained.</p>")


class QuestionCard:
    """One question as widgets: the stem, radio buttons / checkboxes / a text box, a Check button, feedback."""

    def __init__(self, q: Question, *, number=None, total=None, mode="checkpoint", store=None, on_check=None):
        w = _w()
        self.question, self.mode, self.store, self.on_check = q, mode, store, on_check
        self.attempts, self.result = 0, None
        if q.type == "single":
            self.input = w.RadioButtons(options=[(option_label(q.options[k]), k) for k in display_order(q)],
                                        value=None, layout=w.Layout(width="auto"))
        elif q.type == "multiple":
            self.boxes = {k: w.Checkbox(value=False, description=option_label(q.options[k]), indent=False,
                                        layout=w.Layout(width="auto")) for k in display_order(q)}
            self.input = w.VBox(list(self.boxes.values()))
        else:
            self.input = w.Text(placeholder="Type your answer, then press Enter or Check", layout=w.Layout(width="70%"))
            with warnings.catch_warnings():  # ipywidgets 8 marks on_submit deprecated; it is still how Enter arrives
                warnings.simplefilter("ignore", DeprecationWarning)
                self.input.on_submit(lambda _: self.check())
        self.check_button = w.Button(description="Check", button_style="primary", icon="check")
        self.check_button.on_click(lambda _: self.check())
        self.feedback = w.HTML("")
        # free text the grader cannot judge: the learner compares with the model answer and says which it was
        self.had_it_button = w.Button(description="I had it", button_style="success", icon="thumbs-up")
        self.did_not_button = w.Button(description="I did not", icon="thumbs-down")
        self.had_it_button.on_click(lambda _: self.self_assess(True))
        self.did_not_button.on_click(lambda _: self.self_assess(False))
        self.assess = w.HBox([self.had_it_button, self.did_not_button], layout=w.Layout(display="none"))
        self.stem = w.HTML(stem_html(q, number, total))
        self.widget = w.VBox([self.stem, self.input, self.check_button, self.feedback, self.assess])
        self.widget.add_class("lambdalab-card")

    def renumber(self, number, total) -> None:
        """Show this card as question ``number`` of ``total`` (a live review list grows and shrinks)."""
        self.stem.value = stem_html(self.question, number, total)

    def select(self, answer) -> None:
        """Set the input as a learner would: option letter(s) for choice questions, text for free text."""
        q = self.question
        if q.type == "single":
            self.input.value = answer
        elif q.type == "multiple":
            letters = set(answer) if not isinstance(answer, str) else set(re.findall(r"[A-Z]", answer.upper()))
            for k, box in self.boxes.items():
                box.value = k in letters
        else:
            self.input.value = answer

    def current_answer(self):
        if self.question.type == "multiple":
            return [k for k, box in self.boxes.items() if box.value]
        return self.input.value

    def check(self):
        """Grade the current input, show feedback, record it in progress; returns the Result (None if no answer)."""
        answer = self.current_answer()
        if not answer:
            self.feedback.value = "<div class='lambdalab-note'>Choose an answer first.</div>" if \
                self.question.is_choice else "<div class='lambdalab-note'>Type an answer first.</div>"
            return None
        try:
            result = grade_question(self.question, answer)
        except ValueError as exc:
            self.feedback.value = f"<div class='lambdalab-note'>{escape(str(exc))}</div>"
            return None
        self.attempts += 1
        self.result = result
        self.feedback.value = feedback_html(self.question, result, self.attempts)
        self.assess.layout.display = "flex" if result.needs_self_assessment else "none"
        if not result.needs_self_assessment:  # an unsure answer is recorded once the learner assesses it
            self._record(result)
        if self.on_check:
            self.on_check(self)
        return result

    def self_assess(self, had_it: bool):
        """"I had it" (True) / "I did not" (False) for an answer the grader could not judge; recorded as such."""
        if self.result is None or not self.result.needs_self_assessment:
            return None
        self.result = self_assess(self.result, had_it)
        self.feedback.value = feedback_html(self.question, self.result, self.attempts)
        self.assess.layout.display = "none"
        self._record(self.result)
        if self.on_check:
            self.on_check(self)
        return self.result

    def _record(self, result) -> None:
        from .progress import default_store

        q = self.question
        given = list(result.given) if isinstance(result.given, tuple) else result.given
        store = self.store if self.store is not None else default_store()
        store.record(q.id, correct=result.correct, mode=self.mode, answer=given, section=q.section, domain=q.domain,
                     source=self, self_assessed=result.self_assessed)


class CheckpointView:
    """A list of question cards with a running score. Displays itself in Jupyter."""

    def __init__(self, questions, *, title: str, mode="checkpoint", store=None, intro="", empty=""):
        w = _w()
        self.mode, self._store = mode, store
        self.cards = [self._card(q) for q in questions]
        for n, card in enumerate(self.cards, 1):
            card.renumber(n, len(self.cards))
        self.score_label = w.HTML()
        self._update()
        self.header = w.HTML(f"{CSS}<h4>{escape(title)}</h4><p class='lambdalab-note'>{intro}</p>")
        parts = [self.header] + ([c.widget for c in self.cards] or [w.HTML(f"<p>{empty}</p>")])
        self.widget = w.VBox(parts + ([self.score_label] if self.cards else []))
        self.widget.add_class("lambdalab-quiz")

    def _card(self, q: Question) -> QuestionCard:
        return QuestionCard(q, mode=self.mode, store=self._store, on_check=lambda _: self._update())

    @property
    def score(self) -> tuple[int, int, int]:
        """(right, answered, total), counting each card's latest check."""
        answered = [c for c in self.cards if c.result is not None]
        return sum(c.result.correct for c in answered), len(answered), len(self.cards)

    def _update(self):
        right, answered, total = self.score
        self.score_label.value = f"<b>Score: {right} of {total} right</b> &middot; {answered} of {total} answered"

    def __getitem__(self, i) -> QuestionCard:
        return self.cards[i]

    def __len__(self):
        return len(self.cards)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self):
        right, answered, total = self.score
        return f"<{type(self).__name__}: {total} questions, {answered} answered, {right} right>"


def _title(section: str) -> str:
    number, _, rest = section.partition("_")
    return f"{number} {rest.replace('_', ' ')}"


def checkpoint(section, *, types=None, store=None, bank=None) -> CheckpointView:
    """A notebook's checkpoint quiz, graded inline. ``section``: ``"02"`` or ``"02_s3_file_processing"``.

    ``types``: ``"choice"`` or ``"text"`` (or a list of ``single``/``multiple``/``text``) to show only some questions.
    """
    stem = resolve_section(section)
    questions = (bank if bank is not None else load_bank()).in_section(stem)
    if types is not None:
        wanted = {"choice": {"single", "multiple"}, "text": {"text"}}.get(types) if isinstance(types, str) else set(types)
        if not wanted:
            raise ValueError(f"types must be 'choice', 'text' or a list of single/multiple/text, not {types!r}")
        questions = [q for q in questions if q.type in wanted]
    return CheckpointView(questions, title=f"Checkpoint: {_title(stem)}", store=store,
                          intro="Answer, then press <b>Check</b>: the explanation appears after you answer. "
                                "Every answer is saved to your progress.")


class ReviewView(CheckpointView):
    """Review mode: the questions whose latest answer is wrong. It stays live: an answer given elsewhere on the page
    (a checkpoint, the practice exam) adds or removes questions; questions answered here stay until the cell is re-run,
    so their feedback can be read."""

    def __init__(self, limit: int = 10, *, store=None, bank=None):
        from .progress import default_store

        self.limit = limit
        self.bank = bank if bank is not None else load_bank()
        self.store = store if store is not None else default_store()
        w = _w()
        self.note = w.HTML()
        super().__init__(self._wanted(), title="Review: questions you got wrong before", mode="review",
                         store=self.store, intro="A right answer here takes the question off this list.",
                         empty="")
        self.empty = w.HTML(f"<p>{REVIEW_EMPTY}</p>")
        self._layout()
        self.key = self.store.subscribe(self._on_recorded, key=cell_key("review"))

    def _wanted(self) -> list[Question]:
        return [self.bank[i] for i in self.store.wrong_ids() if i in self.bank][: self.limit]

    def _on_recorded(self, recorded) -> None:
        if all(r.source in self.cards for r in recorded):
            return  # answered here: keep the list as it is, with the card's feedback
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the list from the progress store, keeping the cards already answered in this view."""
        keep = {c.question.id: c for c in self.cards if c.result is not None}
        wanted = self._wanted()
        ids = [q.id for q in wanted] + [i for i in keep if i not in {q.id for q in wanted}]
        old = {c.question.id: c for c in self.cards}
        self.cards = [old.get(i) or self._card(self.bank[i]) for i in ids]
        for n, card in enumerate(self.cards, 1):
            card.renumber(n, len(self.cards))
        self._layout()
        self._update()

    def _layout(self) -> None:
        self.note.value = drawn_note("This list was", self.store.count())
        body = [c.widget for c in self.cards] or [self.empty]
        self.widget.children = [self.header, self.note, *body] + ([self.score_label] if self.cards else [])


REVIEW_EMPTY = ("Nothing to review: no question's latest answer is wrong. Take a checkpoint or the practice exam, "
                "then come back.")


def review(limit: int = 10, *, store=None, bank=None) -> ReviewView:
    """Untimed review: re-ask up to ``limit`` questions whose latest answer was wrong (most recent first)."""
    return ReviewView(limit, store=store, bank=bank)


def practice_exam(n: int = 20, minutes=None, *, seed=None, store=None, bank=None, clock=None) -> "ExamView":
    """A timed practice exam of ``n`` questions (default time: 2 minutes a question, as on the real exam)."""
    extra = {"clock": clock} if clock else {}
    return ExamView(Exam(n, minutes, seed=seed, store=store, bank=bank, **extra))


class ExamView:
    """The exam's face: a Start button, one question at a time, navigation, flags, a timer and the report."""

    def __init__(self, exam: Exam):
        w = _w()
        self.exam, self.index, self._syncing, self._confirm = exam, 0, False, False
        self.timer = w.HTML()
        self.status = w.HTML()
        self.tick = w.Play(value=0, min=0, max=int(exam.minutes * 60) + 5, step=1, interval=1000,
                           show_repeat=False, layout=w.Layout(display="none"))
        self.tick.observe(lambda _: self._refresh_time(), "value")
        self.start_button = w.Button(description="Start the exam", button_style="success", icon="play")
        self.prev_button = w.Button(description="Previous", icon="arrow-left")
        self.next_button = w.Button(description="Next", icon="arrow-right")
        self.flag_button = w.Button(description="Flag for review", icon="flag")
        self.finish_button = w.Button(description="Finish exam", button_style="warning", icon="stop")
        self.jump = w.Dropdown(description="Go to", layout=w.Layout(width="160px"))
        self.start_button.on_click(lambda _: self.start())
        self.prev_button.on_click(lambda _: self.go(self.index - 1))
        self.next_button.on_click(lambda _: self.go(self.index + 1))
        self.flag_button.on_click(lambda _: self.toggle_flag())
        self.finish_button.on_click(lambda _: self.finish())
        self.jump.observe(self._on_jump, "value")
        self.nav = w.HBox([self.prev_button, self.next_button, self.flag_button, self.jump, self.finish_button],
                          layout=w.Layout(display="none", flex_flow="row wrap"))
        self.body = w.VBox()
        self.input = None
        n = len(exam)
        self.body.children = [w.HTML(
            f"<p><b>{n} questions</b> drawn by the exam's domain weights (32/26/24/18%), <b>{exam.minutes:g} minutes</b>. "
            "Options are shuffled. Flag questions to come back to them; unanswered questions count as wrong. "
            "The clock starts when you press Start; when time is up the exam ends and what you answered is graded.</p>"),
            self.start_button]
        header = w.HTML(f"{CSS}<h4>Practice exam</h4>")
        # the question before the buttons: Tab goes from the options to Previous/Next/Flag/Go to/Finish
        self.widget = w.VBox([header, self.timer, self.status, self.body, self.nav, self.tick])
        self.widget.add_class("lambdalab-quiz")

    # -- actions (what the buttons do) ---------------------------------------------------------------------------
    def start(self):
        self.exam.start()
        self.tick.playing = True
        self.nav.layout.display = "flex"
        self.go(0)

    def go(self, index: int):
        if self._over():
            return
        self.index = max(0, min(index, len(self.exam) - 1))
        self._confirm = False
        self._render()

    def select(self, answer):
        """Answer the current question as a learner would (option letters); saved at once."""
        q = self.exam.items[self.index].question
        if q.type == "single":
            self.input.value = answer
        else:
            for k, box in self.boxes.items():
                box.value = k in set(answer)

    def toggle_flag(self):
        if self._over():
            return
        item = self.exam.items[self.index]
        self.exam.flag(self.index, not item.flagged)
        self._render()

    def finish(self):
        if self.exam.finished:
            return self._show_report()
        left, flagged = self.exam.unanswered(), self.exam.flagged()
        if (left or flagged) and not self._confirm and not self.exam.expired:
            self._confirm = True
            self.status.value = (f"<b>{len(left)} unanswered, {len(flagged)} flagged.</b> "
                                 "Press <b>Finish exam</b> again to end the exam.")
            return None
        self.exam.finish()
        return self._show_report()

    @property
    def report(self):
        return self.exam.report

    # -- drawing -------------------------------------------------------------------------------------------------
    def _over(self) -> bool:
        if self.exam.check_time() or self.exam.finished:
            self._show_report()
            return True
        return False

    def _refresh_time(self):
        if self.exam.finished:
            return
        if self.exam.check_time():
            self._show_report()
            return
        left = int(self.exam.time_left())
        self.timer.value = (f"<b>Time left: {left // 60:02d}:{left % 60:02d}</b> of {self.exam.minutes:g} min "
                            f"&middot; {len(self.exam) - len(self.exam.unanswered())}/{len(self.exam)} answered")

    def _render(self):
        w = _w()
        item, i = self.exam.items[self.index], self.index
        q = item.question
        if q.type == "single":
            self.input = w.RadioButtons(options=[(option_label(t), k) for k, t in item.options],
                                        value=item.answer[0] if item.answer else None, layout=w.Layout(width="auto"))
            self.input.observe(lambda ch: self._save(ch["new"]), "value")
            self.boxes = {}
        else:
            self.boxes = {k: w.Checkbox(value=bool(item.answer and k in item.answer), description=option_label(t),
                                        indent=False, layout=w.Layout(width="auto")) for k, t in item.options}
            for box in self.boxes.values():
                box.observe(lambda _: self._save([k for k, b in self.boxes.items() if b.value]), "value")
            self.input = w.VBox(list(self.boxes.values()))
        flag = " &#9873; flagged" if item.flagged else ""
        self.body.children = [w.HTML(stem_html(q, i + 1, len(self.exam)) + f"<b>{flag}</b>"), self.input]
        self.flag_button.description = "Unflag" if item.flagged else "Flag for review"
        self.prev_button.disabled = i == 0
        self.next_button.disabled = i == len(self.exam) - 1
        self._sync_jump()
        flagged = self.exam.flagged()
        self.status.value = ("Flagged: " + ", ".join(str(f + 1) for f in flagged)) if flagged else ""
        self._refresh_time()

    def _sync_jump(self):
        self._syncing = True
        try:
            self.jump.options = [(f"{k + 1}{' ⚑' if it.flagged else ''}{' ✓' if it.answer else ''}", k)
                                 for k, it in enumerate(self.exam.items)]
            self.jump.value = self.index
        finally:
            self._syncing = False

    def _on_jump(self, change):
        if not self._syncing and change["new"] is not None and change["new"] != self.index:
            self.go(change["new"])

    def _save(self, answer):
        try:
            self.exam.answer(self.index, answer or None)
        except ExamOver:
            self._show_report()
            return
        self._sync_jump()
        self._refresh_time()

    def _show_report(self):
        w = _w()
        report = self.exam.report or self.exam.finish()
        self.tick.playing = False
        self.nav.layout.display = "none"
        spent = int(report.elapsed_s)
        banner = "<b>Time is up.</b> " if report.timed_out else ""
        self.timer.value = f"{banner}Finished after {spent // 60} min {spent % 60:02d} s."
        self.status.value = ""
        self.body.children = [w.HTML(report._repr_html_()),
                              w.Image(value=figure_png(exam_figure(report)), format="png", layout=w.Layout(width="90%"))]
        return report

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self):
        return f"<ExamView {self.exam!r}>"
