"""Helpers for the grading pipeline's tests: a throw-away course, submissions, the CLI."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
COURSE = REPO / "course"
ASSIGNMENTS = ["lesson-exercises", "lstm-from-scratch", "lstm-keras"]
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def copy_course(dest):
    """A throw-away copy of the demo course: its config, sources and checks, nothing generated."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(COURSE / "nbgrader_config.py", dest / "nbgrader_config.py")
    for part in ("source", "checks"):
        shutil.copytree(COURSE / part, dest / part,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return dest


def sandbox_available():
    """Whether kernels can be sandboxed here (bubblewrap installed, running as root)."""
    sys.path.insert(0, str(REPO))
    from autograder.sandbox import SandboxError, check_can_sandbox

    try:
        check_can_sandbox()
        return True
    except SandboxError:
        return False


def run_cli(*args, check=True, timeout=900, env=None):
    """Run ``python -m autograder ARGS``; return the CompletedProcess (text).

    ``grade`` runs sandboxed where the sandbox is available, and with ``--no-sandbox`` where
    it is not (the hostile-submission tests, which need it, are skipped there) — except in
    CI, where the sandbox must work and a missing one fails the tests.
    """
    if (args and args[0] == "grade" and "--no-sandbox" not in args and not os.environ.get("CI")
            and not sandbox_available()):
        args = (*args, "--no-sandbox")
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    proc = subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f"python -m autograder {' '.join(map(str, args))} exited "
                             f"{proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    return proc


def read_nb(path):
    return nbformat.read(str(path), as_version=4)


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def strip_markers(source):
    """A solution cell's source as a student would write it: the markers' lines removed."""
    return "\n".join(line for line in source.splitlines()
                     if BEGIN_SOLUTION not in line and END_SOLUTION not in line)


def solution_sources(source_nb):
    """grade_id -> the instructor's solution text, for every solution cell."""
    out = {}
    for cell in source_nb.cells:
        nbg = cell.get("metadata", {}).get("nbgrader", {})
        if nbg.get("solution"):
            out[nbg["grade_id"]] = strip_markers(cell.source)
    return out


def fill(release_path, answers, dest):
    """Write a student's notebook: the released one with ``answers`` (grade_id -> source)."""
    nb = read_nb(release_path)
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in answers:
            cell.source = answers[gid]
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(dest))
    return dest


def solution_answers(course, assignment):
    """The instructor's solution of every solution cell of an assignment's notebook."""
    return solution_sources(read_nb(Path(course) / "source" / assignment / f"{assignment}.ipynb"))


def gradebook_rows(course, assignment):
    """student -> {"code": float, "max_code": float, "grades": {cell: auto_score}, "reasons": [...]}."""
    sys.path.insert(0, str(REPO))
    from nbgrader.api import Gradebook

    from autograder.reasons import reasons_from_comments

    out = {}
    from autograder.course import Course

    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}", Course(course).course_id) as gb:
        for sub in gb.assignment_submissions(assignment):
            grades = {g.name: g.auto_score for nb in sub.notebooks for g in nb.grades}
            out[sub.student.id] = {
                "code": float(sub.code_score), "max_code": float(sub.max_code_score),
                "score": float(sub.score), "grades": grades,
                "needs_manual": [g.name for nb in sub.notebooks for g in nb.grades if g.needs_manual_grade],
                "reasons": reasons_from_comments(c.auto_comment for nb in sub.notebooks for c in nb.comments),
            }
    return out


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def points(course, assignment):
    """grade_id -> points of the autograded (code) test cells of an assignment's source."""
    nb = read_nb(Path(course) / "source" / assignment / f"{assignment}.ipynb")
    return {grade_id(c): float(c.metadata["nbgrader"]["points"]) for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"}


def check_gradebook_integrity(course, assignments=None):
    """Fail unless the course gradebook is a sound SQLite file whose rows are consistent.

    ``PRAGMA integrity_check`` and ``foreign_key_check``; then, through nbgrader's API, one
    submission per student and assignment, one submitted notebook per notebook of the
    assignment, one grade per graded cell and one comment per solution cell, each score within
    its cell's points.
    """
    import sqlite3

    from nbgrader.api import Gradebook

    db = Path(course) / "gradebook.db"
    con = sqlite3.connect(str(db))
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        dup = con.execute("SELECT student_id, assignment_id, COUNT(*) FROM submitted_assignment "
                          "GROUP BY student_id, assignment_id HAVING COUNT(*) > 1").fetchall()
        assert dup == [], f"students with two submissions of one assignment: {dup}"
    finally:
        con.close()
    from autograder.course import Course

    with Gradebook(f"sqlite:///{db}", Course(course).course_id) as gb:
        for a in gb.assignments:
            if assignments and a.name not in assignments:
                continue
            for sub in gb.assignment_submissions(a.name):
                assert sorted(n.name for n in sub.notebooks) == sorted(n.name for n in a.notebooks)
                for snb in sub.notebooks:
                    nb = snb.notebook
                    assert sorted(g.name for g in snb.grades) == sorted(
                        [c.name for c in nb.grade_cells] + [c.name for c in nb.task_cells])
                    assert sorted(c.name for c in snb.comments) == sorted(
                        [c.name for c in nb.solution_cells] + [c.name for c in nb.task_cells])
                    for g in snb.grades:
                        if g.auto_score is not None:
                            assert 0 <= g.auto_score <= g.max_score, (sub.student.id, g.name)
