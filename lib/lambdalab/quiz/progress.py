"""Progress kept across sessions and notebooks: every answer, with its time and result, in a small SQLite file.

Where: ``$LAMBDALAB_PROGRESS_DIR/progress.sqlite`` (default folder ``~/.lambdalab``), so a JupyterHub or a workshop
can put it on a per-user volume. Why SQLite: two notebooks open at once are two processes writing the same file;
WAL mode plus a busy timeout lets both write without losing or corrupting an answer. A damaged file is renamed to
``progress.sqlite.corrupt-<timestamp>`` with a printed message and a fresh one is started: answering a quiz never
crashes because of the progress file (if the folder cannot be written, answers are kept in memory for the session).
Views on a page stay live: ``subscribe(callback)`` is told of every answer this process records (observer pattern),
so a checkpoint's Check redraws the progress plot and the review list shown elsewhere in the notebook.
SQLite's WAL mode needs a local disk: on a JupyterHub whose home folders are on NFS, point the variable at local storage.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import pathlib
import sqlite3
import sys
import threading
import uuid
from dataclasses import dataclass

ENV_VAR = "LAMBDALAB_PROGRESS_DIR"
FILENAME = "progress.sqlite"
MODES = ("checkpoint", "exam", "review")
SESSION = uuid.uuid4().hex[:12]  # tells two notebooks' answers apart
_COLUMNS = ["id", "question_id", "section", "domain", "mode", "answer", "correct", "answered_at", "session",
            "self_assessed"]
_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    question_id TEXT    NOT NULL,
    section     TEXT,
    domain      INTEGER,
    mode        TEXT    NOT NULL,
    answer      TEXT,
    correct     INTEGER NOT NULL,
    answered_at TEXT    NOT NULL,
    session     TEXT,
    self_assessed INTEGER NOT NULL DEFAULT 0  -- 1: a free-text answer the learner judged against the model answer
);
CREATE INDEX IF NOT EXISTS answers_by_question ON answers (question_id, id);
"""


def progress_dir() -> pathlib.Path:
    """The folder that holds the progress file (``$LAMBDALAB_PROGRESS_DIR``, else ``~/.lambdalab``)."""
    return pathlib.Path(os.environ.get(ENV_VAR) or pathlib.Path.home() / ".lambdalab").expanduser()


def progress_path() -> pathlib.Path:
    return progress_dir() / FILENAME


@dataclass(frozen=True)
class Answer:
    """One recorded answer."""

    id: int
    question_id: str
    section: str | None
    domain: int | None
    mode: str
    answer: object
    correct: bool
    answered_at: str  # ISO 8601, UTC
    session: str | None
    self_assessed: bool = False  # the learner said "I had it" / "I did not" (the grader could not tell)


@dataclass(frozen=True)
class Recorded:
    """What a subscriber is told about one answer just recorded (``source``: whatever recorded it, e.g. a card)."""

    question_id: str
    mode: str
    correct: bool
    source: object = None


class ProgressStore:
    """The SQLite progress file. Each call opens a short connection, so many processes can share the file."""

    def __init__(self, path=None, *, timeout: float = 30.0):
        self.path = pathlib.Path(path) if path else progress_path()
        self.timeout = timeout
        self._checked = False
        self._memory: sqlite3.Connection | None = None  # fallback when the folder is not writable
        self._lock = threading.Lock()
        self._listeners: dict = {}  # key -> callback(list[Recorded])
        self._pending: list | None = None  # inside batch(): notifications wait here

    # -- public API ----------------------------------------------------------------------------------------------
    def record(self, question_id: str, *, correct: bool, mode: str = "checkpoint", answer=None,
               section: str | None = None, domain: int | None = None, at: _dt.datetime | None = None,
               source=None, self_assessed: bool = False) -> None:
        """Append one answer and tell the subscribers. Never raises for a damaged or unwritable file (see the module
        docstring). ``source`` is passed on to subscribers (a view ignores answers its own cards gave);
        ``self_assessed``: the learner judged a free-text answer the grader could not ("I had it" / "I did not")."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        when = (at or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)
        row = (question_id, section, domain, mode, json.dumps(_jsonable(answer)), int(bool(correct)),
               when.isoformat(timespec="milliseconds"), SESSION, int(bool(self_assessed)))
        self._run(lambda c: c.execute(
            "INSERT INTO answers (question_id, section, domain, mode, answer, correct, answered_at, session, "
            "self_assessed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row), write=True)
        self._notify([Recorded(question_id, mode, bool(correct), source)])

    # -- live views (observer pattern) ---------------------------------------------------------------------------
    def subscribe(self, callback, key=None):
        """Call ``callback(list_of_Recorded)`` after each answer (or batch) this process records; returns the key.

        A second subscription with the same ``key`` replaces the first (a re-run notebook cell replaces its view).
        """
        key = key if key is not None else object()
        self._listeners[key] = callback
        return key

    def unsubscribe(self, key) -> None:
        self._listeners.pop(key, None)

    @contextlib.contextmanager
    def batch(self):
        """Record many answers, then tell the subscribers once (the practice exam saves 20 answers at its end)."""
        if self._pending is not None:
            yield
            return
        self._pending = []
        try:
            yield
        finally:
            pending, self._pending = self._pending, None
            self._notify(pending)

    def _notify(self, recorded: list) -> None:
        if self._pending is not None:
            self._pending.extend(recorded)
            return
        if not recorded:
            return
        for callback in list(self._listeners.values()):
            try:
                callback(recorded)
            except Exception as exc:  # noqa: BLE001 - a broken view must not lose or block an answer
                _say(f"lambdalab: a progress view could not update ({type(exc).__name__}: {exc}); re-run its cell.")

    def answers(self, mode: str | None = None) -> list[Answer]:
        """Every recorded answer, oldest first (optionally only one mode)."""
        sql, args = f"SELECT {', '.join(_COLUMNS)} FROM answers", ()
        if mode:
            sql, args = sql + " WHERE mode = ?", (mode,)
        rows = self._run(lambda c: c.execute(sql + " ORDER BY id", args).fetchall()) or []
        return [Answer(r[0], r[1], r[2], r[3], r[4], _loads(r[5]), bool(r[6]), r[7], r[8], bool(r[9])) for r in rows]

    def latest(self) -> dict[str, Answer]:
        """The most recent answer to each question."""
        found: dict[str, Answer] = {}
        for a in self.answers():
            found[a.question_id] = a
        return found

    def wrong_ids(self) -> list[str]:
        """Questions whose most recent answer was wrong, most recently answered first."""
        wrong = [a for a in self.latest().values() if not a.correct]
        return [a.question_id for a in sorted(wrong, key=lambda a: a.id, reverse=True)]

    def summary(self, bank) -> dict:
        """Per section and per domain: questions, attempted, correct (by each question's latest answer)."""
        from .bank import SECTIONS

        latest = self.latest()
        sections = {s: {"questions": 0, "attempted": 0, "correct": 0} for s in SECTIONS}
        domains = {d: {"questions": 0, "attempted": 0, "correct": 0} for d in (1, 2, 3, 4)}
        for q in bank:
            a = latest.get(q.id)
            for bucket in [sections[s] for s in q.sections] + [domains[q.domain]]:
                bucket["questions"] += 1
                bucket["attempted"] += a is not None
                bucket["correct"] += bool(a and a.correct)
        return {"sections": sections, "domains": domains, "answers": len(self.answers())}

    def count(self) -> int:
        """How many answers are recorded."""
        rows = self._run(lambda c: c.execute("SELECT COUNT(*) FROM answers").fetchone())
        return rows[0] if rows else 0

    def __repr__(self):
        where = "in memory (folder not writable)" if self._memory else str(self.path)
        return f"<ProgressStore {where}>"

    # -- plumbing ------------------------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._memory is not None:
            return self._memory
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        if not self._checked:
            self._check(conn)
        return conn

    def _check(self, conn: sqlite3.Connection) -> None:
        """First use in this process: is the file a healthy progress database? Set up WAL and the table."""
        status = conn.execute("PRAGMA quick_check").fetchone()[0]
        if status != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {status}")
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(_SCHEMA)
        columns = [r[1] for r in conn.execute("PRAGMA table_info(answers)")]
        if columns == _COLUMNS[:-1]:  # a progress file from before self-assessment: add the column, keep the rows
            conn.execute("ALTER TABLE answers ADD COLUMN self_assessed INTEGER NOT NULL DEFAULT 0")
            columns = _COLUMNS
        if columns != _COLUMNS:
            raise sqlite3.DatabaseError(f"unexpected table layout {columns}")
        self._checked = True

    def _run(self, work, write: bool = False):
        for attempt in (1, 2, 3):
            try:
                conn = self._connect()
                try:
                    if write:
                        conn.execute("BEGIN IMMEDIATE")
                        try:
                            result = work(conn)
                            conn.execute("COMMIT")
                        except BaseException:
                            try:
                                conn.execute("ROLLBACK")
                            except sqlite3.Error:
                                pass
                            raise
                        return result
                    return work(conn)
                finally:
                    if conn is not self._memory:
                        conn.close()
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    if attempt >= 2:
                        _say(f"lambdalab: the progress file {self.path} stayed busy ({exc}); this answer was not saved.")
                        return None
                    continue
                if self._memory is not None:
                    raise
                if _unwritable(exc):
                    self._use_memory(exc)
                elif "malformed" in str(exc) or "not a database" in str(exc):
                    self._set_aside(exc)
                elif attempt == 1:  # e.g. "no such table" after another notebook set the file aside: check again
                    self._checked = False
                elif "no such" in str(exc):  # still no table or column of ours: another program's database
                    self._set_aside(exc)
                else:  # a disk that is full or failing: the file is not damaged, so it is not set aside
                    self._use_memory(exc)
            except sqlite3.DatabaseError as exc:  # not a database, malformed, wrong layout
                self._set_aside(exc)
            except OSError as exc:  # the folder cannot be created
                self._use_memory(exc)
        return None

    def _set_aside(self, error: Exception) -> None:
        """Rename a damaged file (and its WAL/SHM companions) out of the way; the next call starts a fresh one."""
        with self._lock:
            self._checked = False
            if self._memory is not None or not self.path.exists():
                return
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
            try:
                self.path.rename(target)
            except FileNotFoundError:
                return  # another notebook set it aside first
            for extra in ("-wal", "-shm"):
                companion = self.path.with_name(self.path.name + extra)
                if companion.exists():
                    try:
                        companion.rename(target.with_name(target.name + extra))
                    except OSError:
                        pass
            _say(f"lambdalab: your progress file {self.path} was damaged ({error}). It was set aside as "
                 f"{target.name} in the same folder and a fresh progress file was started. Your earlier answers are "
                 "in the set-aside copy; nothing else needs doing.")

    def _use_memory(self, error: Exception) -> None:
        _say(f"lambdalab: cannot write progress to {self.path.parent} ({error}). Answers are kept in memory for this "
             f"session only. Set {ENV_VAR} to a writable folder to keep them.")
        self._memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._memory.executescript(_SCHEMA)
        self._checked = True


def _unwritable(exc: Exception) -> bool:
    text = str(exc)
    return "unable to open" in text or "readonly" in text or "read-only" in text


def _loads(text):
    """A stored answer; a value that is not JSON (a hand-edited or half-damaged row) is kept as its text."""
    if not text:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _jsonable(value):
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    return value


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


_stores: dict[pathlib.Path, ProgressStore] = {}


def default_store() -> ProgressStore:
    """The store for the current ``$LAMBDALAB_PROGRESS_DIR`` (one per path, so the setting can change)."""
    path = progress_path()
    if path not in _stores:
        _stores[path] = ProgressStore(path)
    return _stores[path]
