"""Progress kept in SQLite: where it lives, what it keeps, two writers at once, damaged files, unwritable folders."""
import pathlib
import sqlite3
import subprocess
import sys
import textwrap
import threading

import pytest

from lambdalab.quiz import progress
from lambdalab.quiz.bank import load_bank
from lambdalab.quiz.progress import ProgressStore

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def path(tmp_path):
    return tmp_path / "progress.sqlite"


def test_location_follows_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(progress.ENV_VAR, str(tmp_path / "hub" / "alice"))
    assert progress.progress_path() == tmp_path / "hub" / "alice" / "progress.sqlite"
    store = progress.default_store()
    assert store.path == progress.progress_path() and progress.default_store() is store
    store.record("mem-1769", correct=True)
    assert (tmp_path / "hub" / "alice" / "progress.sqlite").is_file()


def test_default_location_is_a_folder_in_home(tmp_path, monkeypatch):
    monkeypatch.delenv(progress.ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert progress.progress_path() == tmp_path / ".lambdalab" / "progress.sqlite"


def test_every_answer_is_kept_with_time_result_and_mode(path):
    store = ProgressStore(path)
    store.record("mem-1769", correct=False, mode="checkpoint", answer=["B"], section="07_memory_and_performance",
                 domain=4)
    store.record("mem-1769", correct=True, mode="review", answer=["A"])
    store.record("s3-recursion", correct=False, mode="exam", answer=("A", "C"))
    answers = store.answers()
    assert [a.question_id for a in answers] == ["mem-1769", "mem-1769", "s3-recursion"]
    first = answers[0]
    assert first.mode == "checkpoint" and first.answer == ["B"] and first.correct is False
    assert first.section == "07_memory_and_performance" and first.domain == 4
    assert first.answered_at.endswith("+00:00") and "T" in first.answered_at
    assert first.session == progress.SESSION
    assert [a.mode for a in store.answers(mode="exam")] == ["exam"]
    assert store.latest()["mem-1769"].correct is True
    assert store.wrong_ids() == ["s3-recursion"]
    assert store.count() == 3
    # a second store on the same file (another notebook) sees everything
    assert ProgressStore(path).count() == 3


def test_the_file_uses_wal_mode(path):
    ProgressStore(path).record("mem-1769", correct=True)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_unknown_mode_is_refused(path):
    with pytest.raises(ValueError, match="mode must be one of"):
        ProgressStore(path).record("mem-1769", correct=True, mode="homework")


def test_summary_counts_per_section_and_domain(path):
    bank = load_bank()
    store = ProgressStore(path)
    assert store.summary(bank)["answers"] == 0
    store.record("mem-1769", correct=False)
    store.record("mem-1769", correct=True)  # the latest answer counts
    store.record("mem-billing", correct=False)
    summary = store.summary(bank)
    mem = summary["sections"]["07_memory_and_performance"]
    assert mem["questions"] == 13 and mem["attempted"] == 2 and mem["correct"] == 1
    assert summary["sections"]["00_start_here"]["correct"] == 1  # mem-1769 is also in the start-here quiz
    assert summary["domains"][4]["attempted"] == 2 and summary["domains"][4]["correct"] == 1
    assert summary["answers"] == 3


WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {lib!r})
    from lambdalab.quiz.progress import ProgressStore
    store = ProgressStore({path!r})
    for i in range({n}):
        store.record(f"q-{{sys.argv[1]}}-{{i}}", correct=i % 2 == 0, mode="checkpoint")
""")


def test_two_notebooks_writing_at_once_lose_nothing(path):
    n = 150
    script = WRITER.format(lib=str(ROOT / "lib"), path=str(path), n=n)
    procs = [subprocess.Popen([sys.executable, "-c", script, name], stderr=subprocess.PIPE, text=True)
             for name in ("left", "right")]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert not any(errors), errors  # no "busy", "damaged" or "not saved" messages
    store = ProgressStore(path)
    ids = [a.question_id for a in store.answers()]
    assert len(ids) == 2 * n == len(set(ids))
    assert {f"q-left-{i}" for i in range(n)} | {f"q-right-{i}" for i in range(n)} == set(ids)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_threads_sharing_one_store(path):
    store = ProgressStore(path)

    def write(name):
        for i in range(50):
            store.record(f"{name}-{i}", correct=True)

    threads = [threading.Thread(target=write, args=(f"t{k}",)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 200


def set_aside_files(folder):
    """The set-aside database files (their -wal/-shm companions move along with them)."""
    return sorted(p.name for p in pathlib.Path(folder).glob("progress.sqlite.corrupt-*")
                  if not p.name.endswith(("-wal", "-shm")))


def test_garbage_file_is_set_aside_and_a_fresh_one_started(path, capsys):
    path.write_bytes(b"this is not an SQLite database, it was overwritten by accident" * 100)
    store = ProgressStore(path)
    store.record("mem-1769", correct=True)  # never raises
    err = capsys.readouterr().err
    assert "was damaged" in err and "set aside as progress.sqlite.corrupt-" in err and "fresh" in err
    aside = set_aside_files(path.parent)
    assert len(aside) == 1 and (path.parent / aside[0]).read_bytes().startswith(b"this is not an SQLite")
    assert [a.question_id for a in store.answers()] == ["mem-1769"]


def test_truncated_database_is_set_aside(path, capsys):
    store = ProgressStore(path)
    for i in range(40):
        store.record(f"q-{i}", correct=True, answer="x" * 3000)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    for extra in ("-wal", "-shm"):
        pathlib.Path(str(path) + extra).unlink(missing_ok=True)
    path.write_bytes(data[: len(data) // 2])  # a crash mid-copy, a full disk...
    fresh = ProgressStore(path)
    fresh.record("after", correct=True)
    assert "was damaged" in capsys.readouterr().err
    assert [a.question_id for a in fresh.answers()] == ["after"]
    assert len(set_aside_files(path.parent)) == 1


def test_a_foreign_sqlite_file_is_set_aside(path, capsys):
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE answers (something TEXT)")
    store = ProgressStore(path)
    store.record("mem-1769", correct=True)
    assert "was damaged" in capsys.readouterr().err
    assert store.count() == 1 and len(set_aside_files(path.parent)) == 1


def test_damage_while_running_is_handled_too(path, capsys):
    store = ProgressStore(path)
    store.record("before", correct=True)
    for extra in ("", "-wal", "-shm"):
        pathlib.Path(str(path) + extra).unlink(missing_ok=True)
    path.write_bytes(b"\x00garbage" * 512)
    store.record("after", correct=False)
    assert "was damaged" in capsys.readouterr().err
    assert [a.question_id for a in store.answers()] == ["after"]


def test_unwritable_folder_keeps_answers_in_memory(tmp_path, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    store = ProgressStore(blocker / "progress.sqlite")
    store.record("mem-1769", correct=True)
    store.record("mem-billing", correct=False)
    assert "kept in memory" in capsys.readouterr().err
    assert store.count() == 2 and store.wrong_ids() == ["mem-billing"]
    assert "in memory" in repr(store)


def test_a_full_disk_is_not_mistaken_for_a_damaged_file(path, capsys):
    store = ProgressStore(path)
    store.record("before", correct=True)

    def disk_full(conn):
        if conn is not store._memory:
            raise sqlite3.OperationalError("database or disk is full")
        return "kept"

    assert store._run(disk_full, write=True) == "kept"  # no crash: kept in memory
    err = capsys.readouterr().err
    assert "damaged" not in err and "database or disk is full" in err and "kept in memory" in err
    assert path.exists() and set_aside_files(path.parent) == []  # the learner's answers stay where they were
    assert [a.question_id for a in ProgressStore(path).answers()] == ["before"]


def test_an_answer_that_is_not_json_is_read_back_as_text(path):
    store = ProgressStore(path)
    store.record("mem-1769", correct=True, answer=["A"])
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE answers SET answer = '{half a value'")
    assert store.answers()[0].answer == "{half a value"
    assert store.wrong_ids() == []


def test_a_progress_file_from_before_self_assessment_gets_the_column_and_keeps_its_rows(path):
    with sqlite3.connect(path) as conn:
        conn.executescript("""CREATE TABLE answers (id INTEGER PRIMARY KEY AUTOINCREMENT, question_id TEXT NOT NULL,
            section TEXT, domain INTEGER, mode TEXT NOT NULL, answer TEXT, correct INTEGER NOT NULL,
            answered_at TEXT NOT NULL, session TEXT);
            INSERT INTO answers (question_id, mode, answer, correct, answered_at)
            VALUES ('mem-1769', 'checkpoint', '["A"]', 1, '2026-01-01T00:00:00.000+00:00');""")
    store = ProgressStore(path)
    store.record("seed-router-text", correct=True, answer="Even Bridge", self_assessed=True)
    old, new = store.answers()
    assert old.question_id == "mem-1769" and old.correct and not old.self_assessed
    assert new.self_assessed and new.answer == "Even Bridge"
