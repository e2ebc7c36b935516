"""The grading pipeline end to end, through ``python -m autograder``, on a throw-away course.

One copy of the course is released into a temporary folder; then, for each assignment, a class
of submissions is graded with ``--jobs 2``: the instructor's solution, the blank release, a
notebook with one deliberately wrong function, and broken ones (invalid JSON, a missing or
renamed notebook, a bad zip, an infinite loop in one cell, a kernel that ignores interrupts, a
kernel that dies). Feedback and the CSV export are generated from the result and compared with
the gradebook.
"""

from __future__ import annotations

import html
import re
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from test_browser import driver  # noqa: F401 -- headless Chromium, a fixture shared with the book

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder_helpers import (  # noqa: E402
    ASSIGNMENTS, BEGIN_HIDDEN, BEGIN_SOLUTION, COURSE, END_HIDDEN, END_SOLUTION, fill,
    grade_id, gradebook_rows, points, read_csv, read_nb, run_cli, solution_answers,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from autograder.course import Course  # noqa: E402

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------------------ the course
@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A private course made by ``init`` outside the repository, released; the book's html
    folder is a temporary one. It keeps the demo course's term key, so every student's variant
    is the same from run to run."""
    root = tmp_path_factory.mktemp("courses") / "lstm-term"
    run_cli("init", root, "--term-key", Course(COURSE).term_key())
    with open(root / "nbgrader_config.py", "a") as fh:     # the tests' hang needs no long wait
        fh.write("\nc.GradingLimits.startup_allowance = 5\n")
    html_dir = tmp_path_factory.mktemp("html")
    out = run_cli("release", "--course", root, "--html-dir", html_dir)
    return SimpleNamespace(root=root, html=html_dir, release_out=out.stdout)


def released(course, assignment):
    return course.root / "release" / assignment / f"{assignment}.ipynb"


def replaced(text, old, new):
    assert old in text, f"{old!r} is not in the solution any more: update the test"
    return text.replace(old, new)


def grade_class(course, assignment, subs, *args):
    """Grade, then write feedback and the CSV; return everything a test needs."""
    graded = run_cli("grade", assignment, subs, "--course", course.root, "--jobs", 2, *args)
    feedback = run_cli("feedback", assignment, "--course", course.root)
    csv_path = subs.parent / f"{assignment}.csv"
    run_cli("export", "--course", course.root, "--to", csv_path, "--assignment", assignment)
    return SimpleNamespace(out=graded.stdout, feedback_out=feedback.stdout,
                           rows=gradebook_rows(course.root, assignment),
                           csv=read_csv(csv_path), points=points(course.root, assignment),
                           assignment=assignment)


def write_nbgrader_layout(subs, assignment, notebooks):
    """``notebooks``: student -> Path of a notebook, bytes, or None (an empty folder)."""
    for student, content in notebooks.items():
        folder = subs / student / assignment
        folder.mkdir(parents=True)
        if isinstance(content, bytes):
            (folder / f"{assignment}.ipynb").write_bytes(content)
        elif isinstance(content, tuple):                       # (file name, source notebook)
            name, path = content
            (folder / name).write_bytes(Path(path).read_bytes())
        elif content is not None:
            (folder / f"{assignment}.ipynb").write_bytes(Path(content).read_bytes())


# ------------------------------------------------------------------------------ the classes
@pytest.fixture(scope="module")
def lesson(course, tmp_path_factory):
    a = "lesson-exercises"
    work = tmp_path_factory.mktemp(a)
    rel, sol = released(course, a), solution_answers(course.root, a)
    wrong = dict(sol, **{"exercise-2-code": replaced(
        sol["exercise-2-code"], "np.asarray(f, dtype=float) ** steps", "np.asarray(f, dtype=float) * steps")})
    loop = dict(sol, **{"exercise-1-code": "while True:\n    pass\n"})
    hang = dict(sol, **{"exercise-1-code": (
        "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n"
        "    except KeyboardInterrupt:\n        pass\n")})
    die = dict(sol, **{"exercise-2-code": "import os\nos._exit(1)\n"})
    slow = {gid: ("import time\ntime.sleep(4)\n" + text if gid.endswith("-code") or gid == "quick-check-choice"
                  else text) for gid, text in sol.items()}
    subs = work / "submitted"
    write_nbgrader_layout(subs, a, {
        "ann-solution": fill(rel, sol, work / "sol.ipynb"),
        "ben-blank": rel,
        "cat-wrong": fill(rel, wrong, work / "wrong.ipynb"),
        "dan-json": b'{"cells": [ this is not JSON',
        "eve-missing": None,
        "fay-loop": fill(rel, loop, work / "loop.ipynb"),
        "gus-hang": fill(rel, hang, work / "hang.ipynb"),
        "hal-dies": fill(rel, die, work / "die.ipynb"),
        "ida-renamed": ("lesson_exercises_final.ipynb", work / "sol.ipynb"),
    })
    fill(rel, slow, work / "late" / "jon-slow" / a / f"{a}.ipynb")   # graded on its own, below
    result = grade_class(course, a, subs, "--cell-timeout", 5, "--notebook-timeout", 30)
    result.slow = work / "late"
    return result


@pytest.fixture(scope="module")
def scratch(course, tmp_path_factory):
    """lstm-from-scratch, handed in as an LMS export: one .ipynb or .zip per student."""
    a = "lstm-from-scratch"
    work = tmp_path_factory.mktemp(a)
    rel, sol = released(course, a), solution_answers(course.root, a)
    wrong = dict(sol, **{"lstm-backward": replaced(sol["lstm-backward"], "dh[:, t] + dh_next", "dh[:, t]")})
    cheat = dict(sol, **{
        "lstm-forward": ("from lstm_core import lstm_forward as fast_forward\n\n"
                         "def lstm_forward(x, Wx, Wh, b, h0=None, c0=None):\n"
                         "    return fast_forward(x, Wx, Wh, b, h0=h0, c0=c0)\n"),
        "lstm-backward": ("def lstm_backward(dh, cache, dc_last=None):\n"
                          "    return lstm_core.lstm_backward(dh, cache, dc_last=dc_last)\n"),
    })
    subs = work / "export"
    subs.mkdir()
    fill(rel, sol, subs / "alice.ipynb")
    with zipfile.ZipFile(subs / "bob_12345_attempt.zip", "w") as zf:       # nested in a folder
        zf.write(rel, f"{a}/{a}.ipynb")
    fill(rel, wrong, subs / "carol.ipynb")
    fill(rel, cheat, subs / "dave.ipynb")
    (subs / "erin.ipynb").write_text("this is not a notebook")
    with zipfile.ZipFile(subs / "frank.zip", "w") as zf:
        zf.writestr("notes.txt", "I ran out of time")
    with zipfile.ZipFile(subs / "gina.zip", "w") as zf:
        zf.write(fill(rel, sol, work / "gina.ipynb"), "my-lstm.ipynb")
    (subs / "hank.zip").write_bytes(b"PK\x03\x04 definitely not a zip")
    deleted = read_nb(fill(rel, sol, work / "ivan.ipynb"))             # a test cell deleted
    deleted.cells = [c for c in deleted.cells if grade_id(c) != "test-lstm-backward"]
    nbformat.write(deleted, str(subs / "ivan.ipynb"))
    return grade_class(course, a, subs, "--cell-timeout", 20)


@pytest.fixture(scope="module")
def keras_class(course, tmp_path_factory):
    a = "lstm-keras"
    work = tmp_path_factory.mktemp(a)
    rel, sol = released(course, a), solution_answers(course.root, a)
    wrong = dict(sol, **{"output-shapes": replaced(
        sol["output-shapes"], "[output, (N, H), (N, H)]", "[output, (N, H)]")})
    loop = dict(sol, **{"to-windows": "while True:\n    pass\n"})
    # trains nothing, then makes every mean zero: the kernel's test passes, the weights do not
    fools = dict(sol, **{"train": "model = build_model(TIME_STEPS, 1)\nnp.mean = lambda *a, **k: 0.0\n"})
    subs = work / "submitted"
    write_nbgrader_layout(subs, a, {
        "kim-solution": fill(rel, sol, work / "sol.ipynb"),
        "lee-blank": rel,
        "max-wrong": fill(rel, wrong, work / "wrong.ipynb"),
        "ned-json": b"\x00\x01 not json",
        "oli-missing": None,
        "pia-loop": fill(rel, loop, work / "loop.ipynb"),
        "quin-fools": fill(rel, fools, work / "fools.ipynb"),
    })
    return grade_class(course, a, subs, "--cell-timeout", 30, "--notebook-timeout", 150)


EXPECTED = {
    # student: (auto score, cells that lose their points, words in the reasons)
    "lesson-exercises": {
        "ann-solution": (11, [], []),
        "ben-blank": (0, "all", ["NotImplementedError"]),
        "cat-wrong": (9, ["test-memory-after"], ["test-memory-after"]),
        "dan-json": (0, "all", ["not a valid notebook"]),
        "eve-missing": (0, "all", ["no lesson-exercises.ipynb"]),
        "fay-loop": (7, ["test-cell-state-update", "test-carry"], ["time limit"]),
        # the cell that hangs or kills the kernel is replaced by an error, the rest is graded
        "gus-hang": (7, ["test-cell-state-update", "test-carry"],
                     ["did not respond to the interrupt", "without this cell"]),
        "hal-dies": (7, ["test-forget-gate-range", "test-forget-gate-monotonic", "test-memory-after"],
                     ["kernel died", "without this cell"]),
        "ida-renamed": (0, "all", ["lesson_exercises_final.ipynb", "keep their names"]),
    },
    "lstm-from-scratch": {
        "alice": (12, [], []),
        "bob": (0, "all", ["NotImplementedError"]),
        "carol": (9, ["test-lstm-backward"], ["dx is wrong"]),
        "dave": (6, ["test-lstm-forward", "test-lstm-backward"], ["lstm_core's own implementation"]),
        "erin": (0, "all", ["not a valid notebook"]),
        "frank": (0, "all", ["holds no notebook"]),
        "gina": (0, "all", ["my-lstm.ipynb"]),
        "hank": (0, "all", ["not a valid zip"]),
        "ivan": (12, [], []),            # nbgrader puts the deleted test cell back, and it passes
    },
    "lstm-keras": {
        "kim-solution": (9, [], []),
        "lee-blank": (0, "all", ["NotImplementedError"]),
        "max-wrong": (7, ["test-output-shapes"], ["return_state=True"]),
        "ned-json": (0, "all", ["not a valid notebook"]),
        "oli-missing": (0, "all", ["no lstm-keras.ipynb"]),
        "pia-loop": (7, ["test-to-windows"], ["time limit"]),
        "quin-fools": (6, ["test-beats-baseline"], ["not when checked outside", "persistence baseline"]),
    },
}


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request):
    return request.getfixturevalue({"lesson-exercises": "lesson", "lstm-from-scratch": "scratch",
                                    "lstm-keras": "keras_class"}[request.param])


# ------------------------------------------------------------------------------ the release
def _split(source):
    """(lines inside the exact solution/hidden-test markers, lines outside), stripped."""
    inside, secret, public = False, [], []
    for line in source.splitlines():
        s = line.strip()
        if s in (BEGIN_SOLUTION, BEGIN_HIDDEN):
            inside = True
        elif s in (END_SOLUTION, END_HIDDEN):
            inside = False
        else:
            (secret if inside else public).append(s)
    return secret, public


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_contains_no_solution_or_hidden_test_line(course, assignment):
    src = read_nb(course.root / "source" / assignment / f"{assignment}.ipynb")
    secret, public = set(), set()
    for cell in src.cells:
        inside, outside = _split(cell.source)
        if cell.metadata.get("nbgrader", {}).get("solution") and not inside:
            inside, outside = outside, []           # a written answer: the whole cell is secret
        secret.update(inside)
        public.update(outside)
    secret = {s for s in secret - public if len(s) > 5}
    assert len(secret) > 20, "the source has solutions and hidden tests to protect"
    for path in (released(course, assignment), course.html / "graded" / assignment / f"{assignment}.ipynb"):
        text_lines = {line.strip() for cell in read_nb(path).cells for line in cell.source.splitlines()}
        leaked = sorted(secret & text_lines)
        assert not leaked, f"{path} gives away: {leaked[:5]}"
        assert not any(re.search(r"(?i)(BEGIN|END) (HIDDEN TESTS|SOLUTION)", t) for t in text_lines)


def test_release_copies_the_notebooks_into_the_book(course):
    for a in ASSIGNMENTS:
        assert (course.html / "graded" / a / f"{a}.ipynb").read_bytes() == released(course, a).read_bytes()
    assert "assignment" in course.release_out and "auto points" in course.release_out


# ------------------------------------------------------------------------------ grades
def test_every_student_has_a_row_with_the_exact_score(graded):
    expected = EXPECTED[graded.assignment]
    assert sorted(graded.rows) == sorted(expected), "one gradebook row per student, broken ones too"
    for student, (score, _, _) in expected.items():
        assert graded.rows[student]["code"] == score, (student, graded.rows[student])
        assert graded.rows[student]["max_code"] == sum(graded.points.values())


def test_partial_scores_lose_exactly_the_wrong_parts(graded):
    for student, (_, lost, _) in EXPECTED[graded.assignment].items():
        grades = graded.rows[student]["grades"]
        for cell, pts in graded.points.items():
            want = 0.0 if lost == "all" or cell in lost else pts
            assert grades[cell] == want, f"{student}: {cell} scored {grades[cell]}, expected {want}"


def test_reasons_are_recorded_for_lost_points(graded):
    for student, (score, _, words) in EXPECTED[graded.assignment].items():
        reasons = " | ".join(graded.rows[student]["reasons"])
        if score == sum(graded.points.values()):
            assert not reasons, f"{student} lost nothing but has reasons: {reasons}"
        for word in words:
            assert word in reasons, f"{student}: {word!r} not in the reasons: {reasons}"


def test_the_blank_release_is_graded_not_rejected(graded):
    blank = next(s for s in EXPECTED[graded.assignment] if "blank" in s or s == "bob")
    assert not any(r.startswith("not graded") for r in graded.rows[blank]["reasons"])


def test_written_answers_wait_for_the_instructor(lesson):
    written = ["answer-exercise-1", "answer-exercise-2", "answer-quick-check"]
    assert sorted(lesson.rows["ann-solution"]["needs_manual"]) == sorted(written)
    assert all(lesson.rows["ann-solution"]["grades"][w] is None for w in written)
    assert lesson.rows["ben-blank"]["needs_manual"] == [], "unanswered written cells score zero"
    assert all(lesson.rows["ben-blank"]["grades"][w] == 0 for w in written)


def test_progress_lines_and_summary_table(graded):
    n = len(EXPECTED[graded.assignment])
    for k in range(1, n + 1):
        assert re.search(rf"^\[\s*{k}/{n}\] ", graded.out, re.M), f"no progress line {k}/{n}"
    assert re.search(r"^student\s+auto\s+of\s+written", graded.out, re.M)
    assert f"{n} student(s) graded" in graded.out


# ------------------------------------------------------------------------------ feedback and CSV
def test_feedback_exists_and_agrees_with_the_gradebook(course, graded):
    for student, row in graded.rows.items():
        path = course.root / "feedback" / student / graded.assignment / f"{graded.assignment}.html"
        assert path.is_file(), f"no feedback for {student}"
        text = html.unescape(re.sub(r"<[^>]+>", " ", path.read_text()))
        text = re.sub(r"\s+", " ", text)
        total = sum(graded.points.values()) + (6 if graded.assignment == "lesson-exercises" else 0)
        assert f"{graded.assignment} (Score: {row['score']:.1f} / {total:.1f})" in text, student
        for reason in row["reasons"][:3]:
            start = re.sub(r"\s+", " ", reason)[:60]
            assert start in text, f"{student}: reason missing from the feedback: {reason}"


def _hidden_lines(course, assignment):
    """The lines of the assignment's hidden tests that are not also lines of its release."""
    src = read_nb(course.root / "source" / assignment / f"{assignment}.ipynb")
    hidden = set()
    for cell in src.cells:
        inside = False
        for line in cell.source.splitlines():
            s = line.strip()
            if s == BEGIN_HIDDEN or s == END_HIDDEN:
                inside = s == BEGIN_HIDDEN
            elif inside and len(s) > 3:
                hidden.add(s)
    public = {line.strip() for cell in read_nb(released(course, assignment)).cells
              for line in cell.source.splitlines()}
    return hidden - public


def test_no_line_of_a_hidden_test_reaches_the_feedback(course, graded):
    hidden = _hidden_lines(course, graded.assignment)
    assert len(hidden) > 10, "the assignment's hidden tests were not found"
    kinds = {"solution", "blank", "wrong", "alice", "bob", "carol"}
    files = sorted((course.root / "feedback").glob(f"*/{graded.assignment}/*.html"))
    assert any(k in f.parts[-3] for f in files for k in kinds), files
    for path in files:
        text = html.unescape(re.sub(r"<[^>]+>", "\n", path.read_text()))
        lines = {line.strip() for line in text.splitlines()}
        leaked = sorted(lines & hidden)
        assert not leaked, f"{path}: hidden-test lines in the feedback: {leaked[:3]}"
        assert "BEGIN HIDDEN TESTS" not in text, path


def test_the_feedback_lists_every_graded_cell_with_its_points(course, graded):
    for student, row in graded.rows.items():
        path = course.root / "feedback" / student / graded.assignment / f"{graded.assignment}.html"
        text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", path.read_text())))
        assert "Your grade, cell by cell" in text, student
        for cell, score in row["grades"].items():
            if cell in graded.points:
                assert re.search(rf"{re.escape(cell)} {score or 0:g} / {graded.points[cell]:g} ",
                                 text), (student, cell)


def test_the_class_report_agrees_with_the_gradebook(course, graded, driver):
    out = run_cli("report", graded.assignment, "--course", course.root).stdout
    page = course.root / "report" / graded.assignment / "index.html"
    assert str(page) in out and page.is_file()
    rows = {r["student"]: r for r in read_csv(page.with_name("report.csv"))}
    assert set(rows) == set(graded.rows)
    for student, row in graded.rows.items():
        assert float(rows[student]["score"]) == row["score"], student
        for cell in graded.points:
            assert float(rows[student][cell]) == (row["grades"].get(cell) or 0), (student, cell)
    driver.get(page.as_uri())
    images = driver.find_elements("tag name", "img")
    assert len(images) >= 3
    assert all(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0",
                                     img) for img in images)
    assert "pass rate" in driver.page_source.lower() and "discrimination" in driver.page_source


def test_csv_agrees_with_the_gradebook(graded):
    by_student = {r["student_id"]: r for r in graded.csv}
    assert set(graded.rows) <= set(by_student)
    for student in set(by_student) - set(graded.rows):          # students of the other classes
        assert by_student[student]["reasons"] == "no submission"
        assert float(by_student[student]["score"]) == 0
    for student, row in graded.rows.items():
        line = by_student[student]
        assert line["assignment"] == graded.assignment
        assert float(line["score"]) == row["score"]
        assert float(line["code_score"]) == row["code"]
        assert line["reasons"] == " | ".join(row["reasons"])


# ------------------------------------------------------------------------------ re-grading
def test_a_resubmission_replaces_only_that_students_grade(course, scratch, tmp_path):
    rel = released(course, "lstm-from-scratch")
    subs = tmp_path / "late"
    subs.mkdir()
    fill(rel, solution_answers(course.root, "lstm-from-scratch"), subs / "carol.ipynb")
    before = gradebook_rows(course.root, "lstm-from-scratch")
    run_cli("grade", "lstm-from-scratch", subs, "--course", course.root)
    after = gradebook_rows(course.root, "lstm-from-scratch")
    assert after["carol"]["code"] == 12 and after["carol"]["reasons"] == []
    assert {s: r for s, r in after.items() if s != "carol"} == {s: r for s, r in before.items() if s != "carol"}


def test_a_notebook_past_its_time_limit_is_stopped(course, lesson):
    """Four code cells that sleep 4 s each: under the per-cell limit (5 s), past the notebook's
    (6 s, plus 5 s to start): the student's process and kernel are killed, the row says why."""
    a = "lesson-exercises"
    before = gradebook_rows(course.root, a)
    out = run_cli("grade", a, lesson.slow, "--course", course.root, "--cell-timeout", 5,
                  "--notebook-timeout", 6).stdout
    after = gradebook_rows(course.root, a)
    assert after["jon-slow"]["code"] == 0
    assert all(score == 0 for score in after["jon-slow"]["grades"].values())
    reasons = " | ".join(after["jon-slow"]["reasons"])
    assert "stopped after 11 s" in reasons and "time limit of the whole notebook" in reasons, reasons
    assert "NOT GRADED" in out
    assert {s: r for s, r in after.items() if s != "jon-slow"} == before
    placeholder = read_nb(course.root / "autograded" / "jon-slow" / a / f"{a}.ipynb")
    assert "could not be graded" in placeholder.cells[0].source


# ------------------------------------------------------------------------------ validate
@pytest.mark.parametrize("assignment", ["lesson-exercises", "lstm-from-scratch"])
def test_validate_exits_zero_on_the_solution_and_one_on_the_blank(course, assignment, tmp_path):
    rel = released(course, assignment)
    solved = fill(rel, solution_answers(course.root, assignment), tmp_path / f"{assignment}.ipynb")
    ok = run_cli("validate", solved, "--course", course.root, "--student", "s000", check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    blank = run_cli("validate", rel, "--course", course.root, "--student", "s000", check=False)
    assert blank.returncode == 1
    assert "VALIDATION FAILED" in blank.stdout
    assert "NotImplementedError" in blank.stdout or "is not defined" in blank.stdout   # a stub function, or none


def test_validate_shows_the_failing_test_message(course, tmp_path):
    a = "lstm-from-scratch"
    sol = solution_answers(course.root, a)
    wrong = dict(sol, **{"lstm-backward": replaced(sol["lstm-backward"], "dh[:, t] + dh_next", "dh[:, t]")})
    path = fill(released(course, a), wrong, tmp_path / f"{a}.ipynb")
    out = run_cli("validate", path, "--course", course.root, "--student", "s000", check=False)
    assert out.returncode == 1
    assert "VALIDATION FAILED ON 1 CELL(S)" in out.stdout
    assert "dx is wrong" in out.stdout


def test_validate_accepts_the_honest_keras_solution(course, tmp_path):
    a = "lstm-keras"
    solved = fill(released(course, a), solution_answers(course.root, a), tmp_path / f"{a}.ipynb")
    out = run_cli("validate", solved, "--course", course.root, "--student", "s000", check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_validate_rejects_a_file_that_is_not_a_notebook(course, tmp_path):
    bad = tmp_path / "broken.ipynb"
    bad.write_text("{oops")
    out = run_cli("validate", bad, "--course", course.root, check=False)
    assert out.returncode == 1 and "could not be run" in out.stdout
