"""The question bank: load ``data/questions/*.yaml`` (one file per notebook) and check every question.

The files are plain YAML so that a reviewer can read and change them without Python; the format is described in
``data/questions/README.md``. ``load_bank()`` refuses a bank with a problem and lists every problem it found, so a
typo never reaches a learner as a wrong key.
"""
from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parents[3]
QUESTIONS_DIR = ROOT / "data" / "questions"

SECTIONS = (
    "00_start_here",
    "01_event_driven_model",
    "02_s3_file_processing",
    "03_dynamodb_streams",
    "04_kinesis_streams",
    "05_eventbridge_rules",
    "06_config_and_security",
    "07_memory_and_performance",
    "08_checkpoint_review",
)

DOMAINS = {1: "Development with AWS Services", 2: "Security", 3: "Deployment", 4: "Troubleshooting and Optimization"}
TASKS = {
    "1.1": "Develop code for applications hosted on AWS",
    "1.2": "Develop code for AWS Lambda",
    "1.3": "Use data stores in application development",
    "2.1": "Implement authentication and/or authorization for applications and AWS services",
    "2.2": "Implement encryption by using AWS services",
    "2.3": "Manage sensitive data in application code",
    "3.1": "Prepare application artifacts to be deployed to AWS",
    "3.2": "Test applications in development environments",
    "3.3": "Automate deployment testing",
    "3.4": "Deploy code by using AWS CI/CD services",
    "4.1": "Assist in a root cause analysis",
    "4.2": "Instrument code for observability",
    "4.3": "Optimize applications by using AWS services and features",
}
TYPES = ("single", "multiple", "text")
SELECT_WORDS = {2: "TWO", 3: "THREE", 4: "FOUR"}
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DOC_RE = re.compile(r"^https://(docs\.aws\.amazon\.com|aws\.amazon\.com)/[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+$")


class BankError(ValueError):
    """The bank has problems; the message lists each one with its file and question id."""


@dataclass(frozen=True, eq=False)
class Question:
    """One question. ``answer`` holds option letters (choice types); text questions use ``accepted``."""

    id: str
    section: str
    domain: int
    task: str
    services: tuple[str, ...]
    type: str
    question: str
    doc: str
    also_in: tuple[str, ...] = ()
    options: dict = field(default_factory=dict)
    answer: tuple[str, ...] = ()
    explanations: dict = field(default_factory=dict)
    accepted: tuple[str, ...] = ()
    ideas: tuple = ()  # free text: ways of stating the key idea (groups of phrases), see free_text.py
    wrong: tuple[str, ...] = ()  # free text: phrases that make an answer wrong
    explanation: str = ""
    source: str = ""

    @property
    def rules(self):
        """The compiled free-text rules (text questions only)."""
        from .free_text import Rules

        if "_rules" not in self.__dict__:
            object.__setattr__(self, "_rules", Rules.from_spec(
                self.ideas, self.wrong, self.accepted, f"{self.question}\n{self.explanation}"))
        return self.__dict__["_rules"]

    @property
    def sections(self) -> tuple[str, ...]:
        return (self.section, *self.also_in)

    @property
    def is_choice(self) -> bool:
        return self.type in ("single", "multiple")

    @property
    def select(self) -> int:
        """How many options the learner must pick (1 for single answer, 0 for free text)."""
        return len(self.answer) if self.is_choice else 0

    def __repr__(self) -> str:  # never show the key in a repr
        return f"Question({self.id!r}, section={self.section!r}, domain={self.domain}, type={self.type!r})"


class Bank:
    """All questions, in file order, with look-ups by id and by section."""

    def __init__(self, questions: list[Question]):
        self.questions = questions
        self.by_id = {q.id: q for q in questions}

    def __len__(self):
        return len(self.questions)

    def __iter__(self):
        return iter(self.questions)

    def __contains__(self, question_id):
        return question_id in self.by_id

    def __getitem__(self, question_id: str) -> Question:
        try:
            return self.by_id[question_id]
        except KeyError:
            raise ValueError(f"No question with id {question_id!r} in the bank "
                             f"({len(self)} questions; ids look like 's3-unquote-plus').") from None

    def in_section(self, section: str) -> list[Question]:
        """Questions of a section: its own first, then those also tagged to it."""
        section = resolve_section(section)
        own = [q for q in self.questions if q.section == section]
        return own + [q for q in self.questions if section in q.also_in]

    def __repr__(self):
        return f"<Bank: {len(self)} questions in {len({q.section for q in self})} sections>"


def resolve_section(name) -> str:
    """``"02"``, ``2`` or ``"02_s3_file_processing"`` -> ``"02_s3_file_processing"``; ValueError otherwise."""
    text = str(name).strip()
    if text in SECTIONS:
        return text
    if text.isdigit():
        for stem in SECTIONS:
            if int(stem[:2]) == int(text):
                return stem
    raise ValueError(f"Unknown section {name!r}. Use a notebook number like '02' or one of: {', '.join(SECTIONS)}")


_cache: dict[pathlib.Path, tuple[tuple, Bank]] = {}


def load_bank(path=None) -> Bank:
    """Load and validate every ``*.yaml`` file under ``path`` (default ``data/questions``); cached until a file changes."""
    folder = pathlib.Path(path) if path else QUESTIONS_DIR
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise BankError(f"No question files (*.yaml) found in {folder}. The course expects data/questions/ "
                        "next to lib/ (run from a clone of the course repository).")
    stamp = tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    cached = _cache.get(folder)
    if cached and cached[0] == stamp:
        return cached[1]
    raw = {f: _read_yaml(f) for f in files}
    questions, problems = [], []
    for f, doc in raw.items():
        qs, errs = _parse_file(f, doc)
        questions += qs
        problems += errs
    problems += _check_bank(questions)
    if problems:
        raise BankError(f"{len(problems)} problem(s) in the question bank {folder}:\n  - " + "\n  - ".join(problems))
    bank = Bank(questions)
    _cache[folder] = (stamp, bank)
    return bank


def _read_yaml(path: pathlib.Path):
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except yaml.YAMLError as exc:
        raise BankError(f"{path.name} is not valid YAML: {exc}") from None


def _parse_file(path: pathlib.Path, doc) -> tuple[list[Question], list[str]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("questions"), list):
        return [], [f"{path.name}: expected a mapping with a 'questions' list"]
    questions, problems = [], []
    for i, item in enumerate(doc["questions"]):
        where = f"{path.name} #{i + 1} ({item.get('id', '?') if isinstance(item, dict) else '?'})"
        errs = validate_question(item, file_section=path.stem)
        if errs:
            problems += [f"{where}: {e}" for e in errs]
            continue
        questions.append(_build(item, path.name))
    return questions, problems


def _build(item: dict, source: str) -> Question:
    choice = item["type"] in ("single", "multiple")
    answer = item.get("answer")
    return Question(
        id=item["id"], section=item["section"], domain=item["domain"], task=str(item["task"]),
        services=tuple(item["services"]), type=item["type"], question=item["question"].strip(), doc=item["doc"],
        also_in=tuple(item.get("also_in", ())),
        options={str(k): str(v).strip() for k, v in item.get("options", {}).items()},
        answer=tuple([answer] if isinstance(answer, str) else answer) if choice else (),
        explanations={str(k): str(v).strip() for k, v in item.get("explanations", {}).items()},
        accepted=tuple(item.get("accepted", ())),
        ideas=tuple(tuple(tuple(str(p) for p in group) for group in idea) for idea in item.get("ideas", ())),
        wrong=tuple(str(p) for p in item.get("wrong", ())),
        explanation=str(item.get("explanation", "")).strip(),
        source=source,
    )


_COMMON = {"id", "section", "also_in", "domain", "task", "services", "type", "question", "doc"}
_CHOICE = _COMMON | {"options", "answer", "explanations"}
_TEXT = _COMMON | {"accepted", "ideas", "wrong", "explanation"}


def validate_question(item, file_section: str | None = None) -> list[str]:
    """Every problem with one raw question (a dict from YAML); an empty list means it is fine."""
    if not isinstance(item, dict):
        return ["a question must be a mapping"]
    errs = []
    qtype = item.get("type")
    if qtype not in TYPES:
        return [f"type must be one of {TYPES}, not {qtype!r}"]
    allowed = _TEXT if qtype == "text" else _CHOICE
    required = (_COMMON | {"accepted", "ideas", "explanation"} if qtype == "text" else _CHOICE) - {"also_in"}
    errs += [f"missing field {k!r}" for k in sorted(required - item.keys())]
    errs += [f"unknown field {k!r}" for k in sorted(item.keys() - allowed)]
    if errs:
        return errs
    if not isinstance(item["id"], str) or not ID_RE.match(item["id"]):
        errs.append(f"id {item['id']!r} must be lower-case words joined by '-'")
    if item["section"] not in SECTIONS:
        errs.append(f"section {item['section']!r} is not a notebook stem ({', '.join(SECTIONS)})")
    elif file_section and item["section"] != file_section:
        errs.append(f"section {item['section']!r} does not match its file {file_section}.yaml")
    also = item.get("also_in", [])
    if not isinstance(also, list) or any(s not in SECTIONS or s == item["section"] for s in also):
        errs.append(f"also_in must list other notebook stems, got {also!r}")
    if item["domain"] not in DOMAINS:
        errs.append(f"domain must be 1-4, not {item['domain']!r}")
    task = str(item["task"])
    if task not in TASKS or (item["domain"] in DOMAINS and not task.startswith(f"{item['domain']}.")):
        errs.append(f"task {task!r} is not a task of domain {item['domain']} ({', '.join(TASKS)})")
    if not _nonempty_strings(item["services"]):
        errs.append("services must be a non-empty list of AWS service names")
    if not isinstance(item["question"], str) or len(item["question"].strip()) < 20:
        errs.append("question text is missing or too short")
    if not isinstance(item["doc"], str) or not DOC_RE.match(item["doc"]):
        errs.append(f"doc {item['doc']!r} must be an https link to docs.aws.amazon.com (or aws.amazon.com)")
    errs += _validate_text(item) if qtype == "text" else _validate_choice(item)
    return errs


def _nonempty_strings(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v.strip() for v in value)


def _validate_choice(item) -> list[str]:
    errs = []
    options, answer, explanations = item["options"], item["answer"], item["explanations"]
    if not isinstance(options, dict) or not all(isinstance(v, str) and v.strip() for v in options.values()):
        return ["options must map letters to non-empty text"]
    letters = [str(k) for k in options]
    expected = [chr(ord("A") + i) for i in range(len(letters))]
    if letters != expected:
        errs.append(f"options must be lettered {''.join(expected)} in order, got {''.join(letters)}")
    if len(set(v.strip().lower() for v in options.values())) != len(options):
        errs.append("two options have the same text")
    keys = [answer] if isinstance(answer, str) else answer
    if not isinstance(keys, list) or not keys or any(k not in letters for k in keys) or len(set(keys)) != len(keys):
        return errs + [f"answer {answer!r} must be option letter(s) from {''.join(letters)}"]
    if item["type"] == "single":
        if len(options) != 4:
            errs.append(f"a single-answer question has 4 options, this one has {len(options)}")
        if not isinstance(answer, str):
            errs.append("a single-answer question has one answer letter")
    else:
        if len(options) < 5:
            errs.append(f"a multiple-response question has 5 or more options, this one has {len(options)}")
        if not 2 <= len(keys) < len(options):
            errs.append("a multiple-response question has at least 2 correct options and some wrong ones")
        word = SELECT_WORDS.get(len(keys))
        if word and f"Select {word}." not in item["question"]:
            errs.append(f"the question must say 'Select {word}.' (it has {len(keys)} correct options)")
    if not isinstance(explanations, dict) or sorted(map(str, explanations)) != sorted(letters):
        errs.append("explanations must explain every option, one entry per option letter")
    elif not all(isinstance(v, str) and len(v.strip()) >= 15 for v in explanations.values()):
        errs.append("every explanation must say why the option is right or wrong (15+ characters)")
    return errs


def _validate_text(item) -> list[str]:
    from .free_text import compile_phrase

    errs = []
    if not _nonempty_strings(item["accepted"]):
        errs.append("accepted must be a non-empty list of accepted answers")
    ideas = item["ideas"]
    if not isinstance(ideas, list) or not ideas or not all(
            isinstance(idea, list) and idea and all(_nonempty_strings(g) for g in idea) for idea in ideas):
        errs.append("ideas must be a list of ideas, each a list of groups of phrases (e.g. [[[cpu], [scales]]])")
    if "wrong" in item and not _nonempty_strings(item["wrong"]):
        errs.append("wrong must be a list of phrases that make an answer wrong")
    if not errs:
        for phrase in [p for idea in ideas for g in idea for p in g] + list(item.get("wrong", [])):
            try:
                compile_phrase(phrase)
            except ValueError as exc:
                errs.append(str(exc))
    if not isinstance(item["explanation"], str) or len(item["explanation"].strip()) < 30:
        errs.append("a free-text question needs an explanation (30+ characters)")
    return errs


def _check_bank(questions: list[Question]) -> list[str]:
    problems = []
    seen: dict[str, str] = {}
    for q in questions:
        if q.id in seen:
            problems.append(f"duplicate id {q.id!r} in {q.source} and {seen[q.id]}")
        seen[q.id] = q.source
    return problems
