"""Nothing lost: the backup before each run, idempotent grading, a run killed with SIGKILL.

All on ``lstm-from-scratch`` (NumPy only, a few seconds a student), in a throw-away course.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder_helpers import (  # noqa: E402
    REPO, check_gradebook_integrity, copy_course, fill, gradebook_rows, run_cli, sandbox_available,
    solution_answers,
)

pytestmark = pytest.mark.slow
A = "lstm-from-scratch"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    work = tmp_path_factory.mktemp("gradebook")
    root = copy_course(work / "course")
    run_cli("release", A, "--course", root, "--no-html")
    rel = root / "release" / A / f"{A}.ipynb"
    sol = solution_answers(root, A)
    wrong = dict(sol, **{"lstm-backward": sol["lstm-backward"].replace("dh[:, t] + dh_next", "dh[:, t]")})
    subs = work / "class"
    fill(rel, sol, subs / "amy" / A / f"{A}.ipynb")
    fill(rel, wrong, subs / "bo" / A / f"{A}.ipynb")
    (subs / "cy" / A).mkdir(parents=True)
    (subs / "cy" / A / f"{A}.ipynb").write_bytes(rel.read_bytes())
    return root, subs, work


EXPECTED = {"amy": 12.0, "bo": 9.0, "cy": 0.0}


def _table_counts(db):
    con = sqlite3.connect(str(db))
    try:
        return {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("student", "submitted_assignment", "submitted_notebook", "grade", "comment")}
    finally:
        con.close()


def test_grading_twice_gives_the_same_gradebook_and_a_sound_backup(course):
    root, subs, _ = course
    run_cli("grade", A, subs, "--course", root, "--jobs", 2)
    first, counts = gradebook_rows(root, A), _table_counts(root / "gradebook.db")
    assert {s: r["code"] for s, r in first.items()} == EXPECTED
    run_cli("grade", A, subs, "--course", root, "--jobs", 2)
    assert gradebook_rows(root, A) == first
    assert _table_counts(root / "gradebook.db") == counts
    check_gradebook_integrity(root)
    # the backup is a consistent SQLite copy of the gradebook as it was before the second run
    backup = root / "gradebook.db.backup"
    con = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        con.close()
    assert _table_counts(backup) == counts


def _merged(db):
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM submitted_assignment").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def test_resume_grades_again_what_changed(course, tmp_path):
    """--resume skips a student only if their submission, the tests and the limits are the same."""
    root, subs, _ = course
    run_cli("grade", A, subs, "--course", root)
    out = run_cli("grade", A, subs, "--course", root, "--resume").stdout
    assert len(re.findall(r"skipped: graded already", out)) == 3
    out = run_cli("grade", A, subs, "--course", root, "--resume", "--cell-timeout", 59).stdout
    assert "skipped" not in out, "other limits: graded again"
    assert {s: r["code"] for s, r in gradebook_rows(root, A).items()} == EXPECTED


def test_a_run_killed_half_way_and_started_again_grades_everyone_once(course, tmp_path):
    root, subs, work = course
    fresh = copy_course(tmp_path / "course")
    run_cli("release", A, "--course", fresh, "--no-html")
    args = [sys.executable, "-m", "autograder", "grade", A, str(subs), "--course", str(fresh),
            "--jobs", "1"] + ([] if sandbox_available() or os.environ.get("CI") else ["--no-sandbox"])
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        journal = fresh / "gradebook.db.journal.json"       # written right after each merge
        while not (journal.is_file() and _merged(fresh / "gradebook.db") >= 1):
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no student was merged within 120 s"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)                    # kill -9 the grading run
        proc.wait(10)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)              # and its orphaned worker, if any
        except ProcessLookupError:
            pass
    merged = gradebook_rows(fresh, A)
    assert 1 <= len(merged) < 3, f"the run was killed after {len(merged)} student(s)"
    check_gradebook_integrity(fresh)

    again = run_cli("grade", A, subs, "--course", fresh, "--resume").stdout   # started again
    skipped = re.findall(r"^\[\d/3\] (\S+) .*skipped: graded already", again, re.M)
    assert sorted(skipped) == sorted(merged), again        # what was merged is not graded twice
    assert len(re.findall(r"^\[\d/3\] ", again, re.M)) == 3
    rows = gradebook_rows(fresh, A)
    assert {s: r["code"] for s, r in rows.items()} == EXPECTED
    check_gradebook_integrity(fresh)                          # one submission each, nothing torn
    assert _table_counts(fresh / "gradebook.db")["submitted_assignment"] == 3


def test_a_resubmission_replaces_only_that_student(course, tmp_path):
    root, subs, _ = course
    run_cli("grade", A, subs, "--course", root)
    before = gradebook_rows(root, A)
    late = tmp_path / "late"
    fill(root / "release" / A / f"{A}.ipynb", solution_answers(root, A), late / "bo" / A / f"{A}.ipynb")
    run_cli("grade", A, late, "--course", root)
    after = gradebook_rows(root, A)
    assert after["bo"]["code"] == 12.0 and after["bo"]["reasons"] == []
    assert {s: r for s, r in after.items() if s != "bo"} == {s: r for s, r in before.items() if s != "bo"}
    check_gradebook_integrity(root)
