"""The question bank validates: schema, every field, every option explained, links, ids, coverage, the seeds."""
import json
import subprocess
import sys
import time
from collections import Counter
from urllib.parse import urlparse

import pytest
import yaml

from lambdalab.quiz import bank as bank_mod
from lambdalab.quiz import exam, grading

QDIR = bank_mod.QUESTIONS_DIR
FILES = sorted(QDIR.glob("*.yaml"))


@pytest.fixture(scope="module")
def bank():
    return bank_mod.load_bank()


def raw_questions():
    for f in FILES:
        for item in yaml.safe_load(f.read_text())["questions"]:
            yield f, item


def test_one_file_per_section_with_a_readme():
    assert [f.stem for f in FILES] == [s for s in bank_mod.SECTIONS if s != "00_start_here"]
    assert (QDIR / "README.md").is_file()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_file_matches_json_schema(path):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((QDIR / "schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = [f"{list(e.path)}: {e.message}" for e in
              jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(path.read_text()))]
    assert not errors, "\n".join(errors)


def test_schema_sections_match_the_code():
    schema = json.loads((QDIR / "schema.json").read_text())
    assert tuple(schema["$defs"]["section"]["enum"]) == bank_mod.SECTIONS


def test_every_raw_question_passes_the_semantic_checks():
    problems = [f"{f.name} {item.get('id')}: {e}" for f, item in raw_questions()
                for e in bank_mod.validate_question(item, file_section=f.stem)]
    assert not problems, "\n".join(problems)


def test_bank_loads_quickly_and_is_big_enough():
    bank_mod._cache.clear()
    start = time.perf_counter()
    b = bank_mod.load_bank()
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"loading and validating took {elapsed:.2f} s"
    assert len(b) >= 65
    assert len([q for q in b if q.section != "08_checkpoint_review"]) >= 60
    assert bank_mod.load_bank() is b  # cached until a file changes


def test_ids_are_unique_across_files():
    ids = Counter(item["id"] for _, item in raw_questions())
    assert [i for i, n in ids.items() if n > 1] == []


def test_every_field_and_every_option_explained(bank):
    for q in bank:
        assert q.id and q.section in bank_mod.SECTIONS and q.domain in (1, 2, 3, 4), q.id
        assert q.task in bank_mod.TASKS and q.task.startswith(f"{q.domain}."), q.id
        assert q.services and all(s.strip() for s in q.services), q.id
        assert len(q.question) >= 20, q.id
        if q.is_choice:
            assert set(q.explanations) == set(q.options), f"{q.id}: every option needs an explanation"
            assert all(len(v) >= 15 for v in q.explanations.values()), q.id
            assert set(q.answer) <= set(q.options), q.id
            if q.type == "single":
                assert len(q.options) == 4 and len(q.answer) == 1, q.id
            else:
                assert len(q.options) >= 5 and 2 <= len(q.answer) < len(q.options), q.id
                assert f"Select {bank_mod.SELECT_WORDS[len(q.answer)]}." in q.question, q.id
        else:
            assert q.accepted and len(q.explanation) >= 30, q.id


def test_doc_links_are_well_formed(bank):
    for q in bank:
        url = urlparse(q.doc)
        assert url.scheme == "https" and url.netloc in {"docs.aws.amazon.com", "aws.amazon.com"}, q.doc
        assert url.path not in ("", "/") and " " not in q.doc, q.doc
        assert url.path.endswith((".html", "/")), f"{q.id}: {q.doc} does not look like a documentation page"


def test_all_notebook_sections_are_covered(bank):
    for section in bank_mod.SECTIONS:
        assert bank.in_section(section), f"{section} has no checkpoint questions"
    for section in bank_mod.SECTIONS[1:8]:
        own = [q for q in bank if q.section == section]
        assert len(own) >= 8, f"{section} has only {len(own)} questions"


def test_question_types_and_domains_are_all_represented(bank):
    assert {q.type for q in bank} == {"single", "multiple", "text"}
    assert any(q.type == "multiple" and q.select == 3 for q in bank)
    assert {q.domain for q in bank} == {1, 2, 3, 4}


def test_the_pool_can_fill_a_full_65_question_exam(bank):
    pools = Counter(q.domain for q in bank if q.is_choice)
    for domain, need in exam.domain_quota(65).items():
        assert pools[domain] >= need, f"domain {domain}: {pools[domain]} questions, a full exam needs {need}"


SEEDS = {  # the study guide's five checkpoint questions and its answers
    "seed-router": ("Amazon EventBridge", "EventBridge"),
    "seed-streams": ("real-time reaction to every change, downstream systems stay in sync", "real time"),
    "seed-secrets": ("better security, rotation, no plain text in the console", "rotat"),
    "seed-memory": ("CPU scales linearly with configured memory", "linear"),
    "seed-least-privilege": ("only the permissions the task needs", "only"),
}


@pytest.mark.parametrize("stem", SEEDS)
def test_seed_question_offered_as_text_and_choice(bank, stem):
    answer, word = SEEDS[stem]
    text_q, choice_q = bank[f"{stem}-text"], bank[f"{stem}-choice"]
    assert text_q.type == "text" and choice_q.type == "single"
    assert text_q.section == choice_q.section == "08_checkpoint_review"
    assert text_q.question == choice_q.question
    assert grading.grade(text_q.id, answer).correct
    assert word.lower() in choice_q.options[choice_q.answer[0]].lower()


def test_stale_figures_only_appear_in_wrong_options(bank):
    stale = ("1,792 MB", "256 KB", "100 ms", "64 MB", "3,008 MB")
    for q in bank:
        for key in q.answer:
            text = q.options[key]
            assert not any(s in text for s in stale), f"{q.id}: the key {key} states a stale figure: {text}"


def test_resolve_section_accepts_numbers_and_stems():
    assert bank_mod.resolve_section("02") == bank_mod.resolve_section(2) == "02_s3_file_processing"
    assert bank_mod.resolve_section("02_s3_file_processing") == "02_s3_file_processing"
    with pytest.raises(ValueError, match="01_event_driven_model"):
        bank_mod.resolve_section("s3")
    with pytest.raises(ValueError, match="Unknown section"):
        bank_mod.resolve_section("99")


def test_unknown_id_is_a_clear_error(bank):
    with pytest.raises(ValueError, match="No question with id 'nope'"):
        bank["nope"]


def test_repr_never_shows_the_key(bank):
    q = bank["s3-unquote-plus"]
    assert "unquote_plus" not in repr(q) and "answer" not in repr(q)


GOOD = {
    "id": "demo-question", "section": "02_s3_file_processing", "domain": 1, "task": "1.2",
    "services": ["AWS Lambda"], "type": "single", "question": "Which option is right in this small scenario?",
    "options": {"A": "one", "B": "two", "C": "three", "D": "four"}, "answer": "B",
    "explanations": {k: f"Because option {k} is explained here." for k in "ABCD"},
    "doc": "https://docs.aws.amazon.com/lambda/latest/dg/welcome.html",
}


@pytest.mark.parametrize("change, message", [
    ({"explanations": {k: "Explained well enough here." for k in "ABC"}}, "explain every option"),
    ({"answer": "E"}, "must be option letter"),
    ({"doc": "http://example.com/page"}, "https link"),
    ({"doc": "docs.aws.amazon.com/lambda"}, "https link"),
    ({"task": "2.1"}, "not a task of domain 1"),
    ({"domain": 5}, "domain must be 1-4"),
    ({"section": "02_s3"}, "not a notebook stem"),
    ({"section": "03_dynamodb_streams"}, "does not match its file"),
    ({"id": "Bad Id"}, "lower-case"),
    ({"services": []}, "services"),
    ({"options": {"A": "one", "B": "two", "C": "three"}}, "4 options"),
    ({"type": "multiple", "answer": ["A", "B"], "options": {k: k * 3 for k in "ABCDE"},
      "explanations": {k: f"Because option {k} is explained." for k in "ABCDE"}}, "Select TWO."),
    ({"type": "text"}, "unknown field"),
    ({"colour": "blue"}, "unknown field 'colour'"),
])
def test_validator_reports_each_problem(change, message):
    item = {**GOOD, **change}
    errors = bank_mod.validate_question(item, file_section="02_s3_file_processing")
    assert any(message in e for e in errors), errors
    assert bank_mod.validate_question(GOOD, file_section="02_s3_file_processing") == []


def test_load_bank_refuses_duplicates_and_lists_problems(tmp_path):
    doc = {"questions": [GOOD, {**GOOD}, {**GOOD, "id": "other", "answer": "Z"}]}
    (tmp_path / "02_s3_file_processing.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(bank_mod.BankError) as err:
        bank_mod.load_bank(tmp_path)
    assert "duplicate id 'demo-question'" in str(err.value)
    assert "other" in str(err.value) and "must be option letter" in str(err.value)


def test_load_bank_on_an_empty_folder_says_what_is_missing(tmp_path):
    with pytest.raises(bank_mod.BankError, match="No question files"):
        bank_mod.load_bank(tmp_path)


def test_importing_the_quiz_package_is_cheap():
    """Cheap by construction (measured in benchmarks, not timed here): the plotting and widget stacks load lazily."""
    code = ("import lambdalab.quiz as q; q.load_bank; import sys; "
            "print(sorted(m for m in ('matplotlib', 'ipywidgets', 'boto3', 'moto') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", f"importing lambdalab.quiz loaded {out}: import those lazily"


def _key_length_rank(q):
    """0 when the key is strictly the longest option, 1 when one option is longer, ..."""
    return sum(len(t) > len(q.options[q.answer[0]]) for t in q.options.values())


def test_the_key_is_not_given_away_by_its_length(bank):
    """A test-wise learner who picks the longest option (or never picks it) must not score much above chance."""
    single = [q for q in bank if q.type == "single"]
    longest = [q.id for q in single if _key_length_rank(q) == 0 and
               sum(len(t) == len(q.options[q.answer[0]]) for t in q.options.values()) == 1]
    share = len(longest) / len(single)
    print(f"\nkey is the longest option in {len(longest)} of {len(single)} single-answer questions ({share:.0%})")
    assert share <= 1 / 3, f"the key is the longest option in {share:.0%} of single-answer questions: {longest}"
    assert share >= 0.10, "the key is (almost) never the longest option: 'never pick the longest' would be a cue"
    ranks = Counter(_key_length_rank(q) for q in single)
    assert max(ranks.values()) / len(single) <= 0.45, f"the key's length rank is too predictable: {ranks}"
    # "Select TWO": picking the two longest options must not be the answer (chance: 1 in 10)
    multiple = [q for q in bank if q.type == "multiple"]
    longest_set = [q.id for q in multiple
                   if set(sorted(q.options, key=lambda k: -len(q.options[k]))[:q.select]) == set(q.answer)]
    assert len(longest_set) <= max(1, len(multiple) // 4), f"the keys are the longest options in {longest_set}"


def test_every_task_id_is_a_task_statement_of_the_exam_guide(bank):
    guide = {"1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "3.1", "3.2", "3.3", "3.4", "4.1", "4.2", "4.3"}
    assert set(bank_mod.TASKS) == guide  # the list is declared once, in bank.TASKS
    for q in bank:
        assert q.task in bank_mod.TASKS and q.task.split(".")[0] == str(q.domain), f"{q.id}: task {q.task}"
