"""The widgets, driven in plain Python: checkpoints, feedback, score, review mode, the exam view, progress plots."""
import ipywidgets as widgets
import pytest

from lambdalab import quiz
from lambdalab.quiz import bank as bank_mod
from lambdalab.quiz import progress
from lambdalab.quiz.widgets import md_html

BANK = bank_mod.load_bank()


@pytest.fixture(autouse=True)
def own_progress(tmp_path, monkeypatch):
    """Each test gets an empty progress file."""
    monkeypatch.setenv(progress.ENV_VAR, str(tmp_path))
    return progress.default_store()


def widget_texts(widget):
    """Every piece of text a widget tree would show in the browser (values, descriptions, option labels)."""
    out = []
    for attr in ("value", "description", "placeholder"):
        value = getattr(widget, attr, None)
        if isinstance(value, str):
            out.append(value)
    for label in getattr(widget, "_options_labels", ()) or ():
        out.append(label)
    for child in getattr(widget, "children", ()):
        out += widget_texts(child)
    return out


def wrong_letter(q):
    return next(k for k in q.options if k not in q.answer)


def test_checkpoint_accepts_number_or_stem_and_rejects_unknown_sections():
    by_number, by_stem = quiz.checkpoint("02"), quiz.checkpoint("02_s3_file_processing")
    assert [c.question.id for c in by_number] == [c.question.id for c in by_stem]
    assert len(by_number) == len(BANK.in_section("02"))
    with pytest.raises(ValueError, match="03_dynamodb_streams"):
        quiz.checkpoint("42")


@pytest.mark.parametrize("section", bank_mod.SECTIONS)
def test_every_notebook_has_a_checkpoint_that_renders(section):
    view = quiz.checkpoint(section)
    assert len(view) == len(BANK.in_section(section)) > 0
    assert isinstance(view.widget, widgets.VBox)
    bundle = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_types_filter():
    text = quiz.checkpoint("08", types="text")
    choice = quiz.checkpoint("08", types="choice")
    assert len(text) == len(choice) == 5
    assert {c.question.type for c in text} == {"text"} and {c.question.type for c in choice} == {"single"}
    with pytest.raises(ValueError, match="types must be"):
        quiz.checkpoint("08", types="essay")


def test_no_answer_key_or_explanation_is_shown_before_answering():
    for section in bank_mod.SECTIONS:
        shown = "\n".join(widget_texts(quiz.checkpoint(section).widget))
        for card in quiz.checkpoint(section):
            q = card.question
            for text in list(q.explanations.values()) + ([q.explanation] if q.explanation else []):
                assert text[:60] not in shown, f"{q.id}: an explanation is visible before answering"
            assert "Correct" not in shown and "Expected answer" not in shown


def test_single_answer_card_wrong_then_right(own_progress):
    view = quiz.checkpoint("02")
    card = view[0]
    q = card.question
    assert q.type == "single" and isinstance(card.input, widgets.RadioButtons) and card.input.value is None
    card.check_button.click()  # nothing chosen yet
    assert "Choose an answer first" in card.feedback.value and own_progress.count() == 0

    card.select(wrong_letter(q))
    card.check_button.click()
    assert "Not quite" in card.feedback.value
    assert "Try again" in card.feedback.value
    assert md_html(q.explanations[wrong_letter(q)])[:60] in card.feedback.value
    assert view.score == (0, 1, len(view)) and "Score: 0 of" in view.score_label.value

    card.select(q.answer[0])
    card.check_button.click()
    assert "Correct." in card.feedback.value and "Not quite" not in card.feedback.value
    assert q.doc in card.feedback.value
    assert view.score == (1, 1, len(view)) and "Score: 1 of" in view.score_label.value

    answers = own_progress.answers()
    assert [(a.question_id, a.correct, a.mode) for a in answers] == [(q.id, False, "checkpoint"), (q.id, True, "checkpoint")]
    assert answers[0].section == q.section and answers[0].domain == q.domain


def test_second_wrong_attempt_explains_every_option():
    card = quiz.checkpoint("07")[0]
    q = card.question
    card.select(wrong_letter(q))
    card.check()
    assert md_html(q.explanations[q.answer[0]])[:40] not in card.feedback.value
    card.check()
    assert md_html(q.explanations[q.answer[0]])[:40] in card.feedback.value


def test_select_two_card_one_of_two_is_wrong():
    view = quiz.checkpoint("02")
    card = next(c for c in view if c.question.type == "multiple")
    q = card.question
    assert isinstance(card.input, widgets.VBox) and len(card.boxes) == len(q.options)
    card.select([q.answer[0]])
    result = card.check()
    assert not result.correct and "select TWO" in card.feedback.value
    card.select(list(q.answer))
    assert card.check().correct and "Correct." in card.feedback.value


def test_free_text_card_accepts_synonyms(own_progress):
    card = quiz.checkpoint("08", types="text")[0]
    assert isinstance(card.input, widgets.Text)
    card.check()
    assert "Type an answer first" in card.feedback.value
    card.select("Amazon SQS")
    card.check_button.click()
    assert "Not quite" in card.feedback.value and "Try again in other words" in card.feedback.value
    card.select("  event-bridge ")
    card.check_button.click()
    assert "Correct." in card.feedback.value and "Amazon EventBridge" in card.feedback.value
    assert [a.answer for a in own_progress.answers()] == ["Amazon SQS", "  event-bridge "]


def test_enter_in_the_text_box_submits_the_answer(own_progress):
    card = quiz.checkpoint("08", types="text")[0]
    card.select("event-bridge")
    card.input._handle_string_msg(None, {"event": "submit"}, [])  # what the browser sends when Enter is pressed
    assert "Correct." in card.feedback.value and card.attempts == 1
    assert [a.answer for a in own_progress.answers()] == ["event-bridge"]


def test_options_keep_their_radio_beside_the_first_line(own_progress):
    """The CSS every quiz view carries: each option a flex row, the input not floated (measured in test_browser)."""
    from lambdalab.quiz.widgets import CSS

    assert "display: flex !important" in CSS and "float: none !important" in CSS and "align-items: flex-start" in CSS
    assert CSS in quiz.checkpoint("02").header.value
    assert CSS in quiz.practice_exam(n=5, seed=1).widget.children[0].value
    assert CSS in quiz.review().header.value


def test_review_re_asks_what_was_wrong(own_progress):
    empty = quiz.review()
    assert len(empty) == 0 and "Nothing to review" in "".join(widget_texts(empty.widget))
    view = quiz.checkpoint("03")
    for card in view.cards[:3]:
        card.select(wrong_letter(card.question) if card.question.type == "single" else [wrong_letter(card.question)])
        card.check()
    view[1].select(list(view[1].question.answer) if view[1].question.type == "multiple" else view[1].question.answer[0])
    view[1].check()
    review = quiz.review()
    assert [c.question.id for c in review] == [view[2].question.id, view[0].question.id]
    first = review[0]
    first.select(first.question.answer[0] if first.question.type == "single" else list(first.question.answer))
    first.check()
    assert own_progress.answers()[-1].mode == "review"
    assert [c.question.id for c in quiz.review()] == [view[0].question.id]


def test_a_check_updates_the_review_and_progress_views_on_the_page(own_progress):
    """Observer pattern: the store tells every live view; each says when it was drawn."""
    progress_view = quiz.ProgressView()
    review = quiz.review()
    assert len(review) == 0 and progress_view.redraws == 1
    assert "drawn at" in progress_view.note.value and "from 0 recorded answers" in progress_view.note.value
    first_png = progress_view.image.value
    view = quiz.checkpoint("03")
    card = view[0]
    card.select(wrong_letter(card.question) if card.question.type == "single" else [wrong_letter(card.question)])
    card.check()
    assert progress_view.redraws == 2 and progress_view.image.value != first_png
    assert "from 1 recorded answer;" in progress_view.note.value
    assert [c.question.id for c in review] == [card.question.id]  # the review list grew, without re-running it
    assert "from 1 recorded answer" in review.note.value
    assert review.cards[0].widget in review.widget.children
    # answered rightly in the review: it stays on the list (its feedback is there to read) ...
    mine = review[0]
    mine.select(mine.question.answer[0] if mine.question.type == "single" else list(mine.question.answer))
    mine.check()
    assert [c.question.id for c in review] == [card.question.id] and "Correct" in mine.feedback.value
    # ... while a wrong answer given elsewhere adds a question, numbered in the list
    other = view[1]
    other.select(wrong_letter(other.question) if other.question.type == "single" else [wrong_letter(other.question)])
    other.check()
    assert [c.question.id for c in review] == [other.question.id, card.question.id]
    assert "Question 1 of 2" in review[0].stem.value and "Question 2 of 2" in review[1].stem.value
    assert progress_view.redraws == 4


def test_the_practice_exam_redraws_the_views_once(own_progress):
    progress_view, review = quiz.ProgressView(), quiz.review(limit=30)
    exam = quiz.practice_exam(n=10, seed=3)
    exam.start()
    exam.finish_button.click()
    exam.finish_button.click()
    assert exam.report.correct == 0 and progress_view.redraws == 2
    assert len(review) == 10  # every unanswered exam question is now to review


def test_a_rerun_cell_replaces_its_views_subscription(own_progress, monkeypatch):
    from lambdalab.quiz import live

    monkeypatch.setattr(live, "cell_key", lambda kind: (kind, "cell-1"))
    monkeypatch.setattr(quiz.plots, "cell_key", live.cell_key)
    store = progress.default_store()
    before = len(store._listeners)
    first, second = quiz.ProgressView(), quiz.ProgressView()
    assert len(store._listeners) == before + 1
    store.record("x", correct=True)
    assert (first.redraws, second.redraws) == (1, 2)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def answer_current(view, right=True):
    q = view.exam.items[view.index].question
    key = list(q.answer) if right else [wrong_letter(q)] + list(q.answer[1:])
    view.select(key[0] if q.type == "single" else key)


def test_exam_view_start_answer_flag_navigate_finish(own_progress):
    view = quiz.practice_exam(n=10, minutes=20, seed=3, clock=FakeClock())
    assert not view.exam.started and "Start the exam" in widget_texts(view.widget)
    view.start_button.click()
    assert view.exam.started and "Time left: 20:00" in view.timer.value and view.index == 0
    answer_current(view)
    assert view.exam.items[0].answer is not None
    view.flag_button.click()
    assert view.exam.flagged() == [0] and "Flagged: 1" in view.status.value
    assert view.flag_button.description == "Unflag"
    view.next_button.click()
    assert view.index == 1
    answer_current(view, right=False)
    view.jump.value = 5
    assert view.index == 5
    view.prev_button.click()
    assert view.index == 4
    view.jump.value = 0
    assert view.index == 0 and "⚑" in view.jump.options[0][0] and "✓" in view.jump.options[0][0]
    view.finish_button.click()
    assert "8 unanswered, 1 flagged" in view.status.value and not view.exam.finished
    view.finish_button.click()
    report = view.report
    assert report and report.correct == 1 and report.total == 10
    shown = "\n".join(widget_texts(view.widget))
    assert "Module readiness" in shown and "not the whole exam" in shown and "720" in shown
    assert any(isinstance(w, widgets.Image) for w in view.body.children)
    answers = own_progress.answers()  # every question the exam asked, unanswered ones as not correct
    assert [a.mode for a in answers] == ["exam"] * 10 and sum(a.correct for a in answers) == 1


def test_exam_view_ends_when_time_is_up():
    clock = FakeClock()
    view = quiz.practice_exam(n=5, minutes=1, seed=1, clock=clock)
    view.start_button.click()
    answer_current(view)
    clock.now = 61
    view.tick.value = 61  # the browser's ticker fires; the kernel notices the time is up
    assert view.exam.finished and view.report.timed_out
    assert "Time is up" in view.timer.value
    assert view.report.correct == 1


def test_exam_view_hides_the_key_until_the_end():
    view = quiz.practice_exam(n=10, seed=2, clock=FakeClock())
    view.start_button.click()
    for _ in range(10):
        shown = "\n".join(widget_texts(view.widget))
        q = view.exam.items[view.index].question
        assert not any(text[:50] in shown for text in q.explanations.values())
        view.next_button.click()


def test_progress_figure_empty_and_with_answers(own_progress):
    empty = quiz.progress_figure()
    assert "no answers yet" in empty.axes[0].get_title()
    own_progress.record("mem-1769", correct=True, section="07_memory_and_performance", domain=4)
    own_progress.record("s3-recursion", correct=False, section="02_s3_file_processing", domain=1)
    fig = quiz.progress_figure()
    assert "2 answers recorded" in fig.get_suptitle()
    left, right = fig.axes
    assert left.get_title() == "Per notebook section" and left.get_xlabel()
    assert right.get_title() == "Per exam domain" and right.get_ylabel() and right.get_xlabel()
    assert quiz.show_progress() is not None  # outside Jupyter the figure is returned


def test_checkpoint_options_are_shuffled_stably_so_position_gives_nothing_away():
    from lambdalab.quiz.bank import load_bank
    from lambdalab.quiz.widgets import QuestionCard, display_order

    bank = load_bank()
    choice = [q for q in bank if q.is_choice]
    first_is_key = sum(display_order(q)[0] in q.answer for q in choice if q.type == "single")
    singles = sum(q.type == "single" for q in choice)
    assert first_is_key < singles * 0.5, "the key must not sit in the first position most of the time"
    q = next(q for q in choice if q.type == "single")
    shown = [value for _, value in QuestionCard(q).input.options]
    assert shown == display_order(q) == display_order(q) and sorted(shown) == sorted(q.options)


def test_free_text_the_grader_cannot_judge_is_self_assessed(own_progress):
    card = quiz.checkpoint("08", types="text")[0]  # seed-router-text
    assert card.assess.layout.display == "none"
    card.select("Even Bridge")  # right, but not in words the rules can be sure of
    result = card.check()
    assert result.needs_self_assessment and card.assess.layout.display == "flex"
    assert "Cannot tell" in card.feedback.value and "Amazon EventBridge" in card.feedback.value  # the model answer
    assert own_progress.answers() == []  # nothing recorded until the learner says which it was
    card.had_it_button.click()
    assert card.result.correct and card.result.self_assessed and card.assess.layout.display == "none"
    assert "Self-assessed: you had it" in card.feedback.value
    [saved] = own_progress.answers()
    assert saved.correct and saved.self_assessed and saved.answer == "Even Bridge"
    card.had_it_button.click()  # a second click changes nothing
    assert len(own_progress.answers()) == 1


def test_self_assessing_i_did_not_records_a_wrong_answer(own_progress):
    card = quiz.checkpoint("08", types="text")[0]
    card.select("Even Bridge")
    card.check()
    card.did_not_button.click()
    [saved] = own_progress.answers()
    assert not saved.correct and saved.self_assessed
    assert "seed-router-text" in own_progress.wrong_ids()
    card.select("SNS")  # a graded answer is not self-assessed
    assert not card.check().needs_self_assessment and card.assess.layout.display == "none"
    assert [a.self_assessed for a in own_progress.answers()] == [True, False]
