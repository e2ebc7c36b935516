"""The grader's typed data and the nbgrader pieces it builds on, checked without grading a class.

The grading job, the limits, a reason, a notebook's and a student's result are dataclasses that
cross processes as JSON; the limits have one set of defaults (``GradingLimits``) that the config,
the command line and the sandbox read; the preprocessors keep their state per run; folders come
from nbgrader's ``CourseDirectory``; no function of the grader is longer than 80 lines.
"""

from __future__ import annotations

import ast
import copy
import io
import sys
from dataclasses import asdict, replace
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder_helpers import COURSE, REPO, copy_course, grade_id, read_nb  # noqa: E402

sys.path.insert(0, str(REPO))
from autograder.jobs import (  # noqa: E402
    CELL, NOT_GRADED, NOTE, TEST, GradeResult, GradingJob, GradingLimits, Limits, NotebookCells,
    NotebookResult, Reason, StudentResult,
)

A = "lesson-exercises"


def _job(tmp_path, **changes):
    cells = {A: NotebookCells(grades=["test-carry", "answer-exercise-1"],
                              solutions=["exercise-1-code", "answer-exercise-1"])}
    job = GradingJob(course_root=str(COURSE), assignment=A, student="ann", staged=str(tmp_path / "s"),
                     scratch=str(tmp_path / "x"), template_db=str(tmp_path / "t.db"), cells=cells,
                     cell_timeout=5.0, limits=Limits(memory_mb=1000, notebook_timeout=30.0),
                     sandbox_uid=61003, problems=(Reason("2 files for this student"),),
                     fingerprint="abc")
    return replace(job, **changes)


# ------------------------------------------------------------------------------ the job and limits
def test_a_grading_job_crosses_a_process_as_json(tmp_path):
    job = _job(tmp_path)
    again = GradingJob.from_json(job.to_json())
    assert again == job
    assert isinstance(again.limits, Limits) and again.limits.memory_mb == 1000
    assert again.cells[A].grades == ("test-carry", "answer-exercise-1")
    assert again.problems[0].kind == NOTE
    assert again.result_path == str(tmp_path / "x" / "result.json")
    assert _job(tmp_path, sandbox_uid=None).sandbox_uid is None


def test_limits_have_one_set_of_defaults():
    from autograder.course import Course
    from autograder.sandbox import SandboxSpec

    traits = GradingLimits.class_traits()
    assert set(Limits.names()) == {n for n in traits if traits[n].metadata.get("limit")}
    assert Limits() == GradingLimits().for_assignment("anything")
    spec = SandboxSpec(work_dir="w", ipc_dir="i")
    assert {k: getattr(spec, k) for k in Limits().kernel()} == Limits().kernel()
    assert spec.uid == traits["sandbox_uid"].default_value
    assert spec.max_processes == 256 == Course().limits().max_processes   # the sandbox and the config agree
    kernel = SandboxSpec.for_kernel("w", "i", 61005, Limits(max_processes=9), readonly=[])
    assert (kernel.uid, kernel.max_processes, kernel.memory_mb) == (61005, 9, Limits().memory_mb)


@pytest.mark.parametrize("bad", [{"memory_mb": -1}, {"cpu_seconds": "lots"}, {"max_file_mb": True}])
def test_limits_refuse_what_is_not_a_limit(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        Limits(**bad)
    with pytest.raises(ValueError, match="unknown limit"):
        GradingLimits().for_assignment(A, memory=1)


def test_the_grade_flags_are_the_limit_traits(capsys):
    from autograder.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["grade", A, "subs", "--memory-mb", "3000", "--notebook-timeout", "7.5"])
    assert (args.memory_mb, args.notebook_timeout, args.cpu_seconds) == (3000, 7.5, None)
    with pytest.raises(SystemExit):
        parser.parse_args(["grade", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in Limits.names():
        assert "--" + name.replace("_", "-") in text
        assert " ".join(GradingLimits.class_traits()[name].help.split())[:40] in text


# ------------------------------------------------------------------------------ reasons and results
@pytest.mark.parametrize("reason", [
    Reason("no lesson-exercises.ipynb in the submission", NOT_GRADED),
    Reason("test test-carry: 0/2 points: AssertionError: wrong", TEST, cell="test-carry"),
    Reason("cell exercise-1-code: NameError: np", CELL, cell="exercise-1-code"),
    Reason("2 files for this student; graded the newest, b.zip"),
])
def test_a_reason_keeps_its_kind_in_the_gradebook(reason):
    from autograder.reasons import PREFIX, comment_lines, parse_reasons, reasons_from_comments

    line = comment_lines([reason])[0]
    assert line.startswith(PREFIX) and line.endswith(reason.text)
    assert (line == PREFIX + "not graded: " + reason.text) == (reason.kind == NOT_GRADED)
    assert parse_reasons(["No response.\n" + line, line]) == [reason]
    assert reasons_from_comments([line]) == [reason.line()]
    with pytest.raises(ValueError, match="kind"):
        Reason("x", "bogus")


def test_a_student_result_crosses_a_process_as_json(tmp_path):
    job = _job(tmp_path)
    nothing = StudentResult.not_graded(job, ["the kernel died"], {A: "invalid"})
    (nb,) = nothing.notebooks
    assert nb.status == "invalid" and not nb.graded
    assert nb.grades == {"test-carry": GradeResult(0.0, False), "answer-exercise-1": GradeResult(0.0, False)}
    assert nb.comments["exercise-1-code"] == "Autograder: not graded: the kernel died"
    assert all(r.kind == NOT_GRADED for r in nb.reasons)
    graded = StudentResult(
        "ann", A, (NotebookResult(A, "graded", {"test-carry": GradeResult(2.0),
                                                "answer-exercise-1": GradeResult(None, True)},
                                  {"exercise-1-code": None}, (Reason("t", TEST, A, "test-carry"),),
                                  late_penalty=1.5),),
        reasons=(Reason("t", TEST, A, "test-carry"),), timestamp="2027-01-01T10:00:00")
    for result in (nothing, graded):
        assert StudentResult.from_json(result.to_json()) == result
    assert graded.notebooks[0].graded and asdict(graded)["notebooks"][0]["late_penalty"] == 1.5


def test_an_execd_worker_reads_its_job_from_json(tmp_path):
    """``python -m autograder.worker JOB.json``: a job whose notebook is missing is graded
    (zero, and why) without nbgrader running, and its result read back typed."""
    import subprocess

    job = _job(tmp_path)
    for folder in (job.staged, job.scratch):
        Path(folder).mkdir()
    Path(job.template_db).write_bytes(b"")
    (tmp_path / "job.json").write_text(job.to_json())
    proc = subprocess.run([sys.executable, "-m", "autograder.worker", str(tmp_path / "job.json")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, Path(job.log_path).read_text()
    result = StudentResult.from_json(Path(job.result_path).read_text())
    (nb,) = result.notebooks
    assert (result.student, nb.status, nb.grades["test-carry"].auto_score) == ("ann", "missing", 0.0)
    assert [r.text for r in result.reasons] == [
        "2 files for this student", f"no {A}.ipynb in the submission: {A} scores zero"]
    assert nb.comments["exercise-1-code"].splitlines()[-1] == (
        f"Autograder: not graded: no {A}.ipynb in the submission: {A} scores zero")


# ------------------------------------------------------------------------------ per-run state
def test_the_preprocessors_keep_their_state_per_run():
    from autograder.execute import DeduplicateIdsKeepingReasons, ExecutionRecord, GuardedExecute

    first, second = ExecutionRecord(), ExecutionRecord()
    run1, run2 = GuardedExecute.recording(first), GuardedExecute.recording(second)
    a, b, c = run1(), run1(), run2()
    assert a.record is b.record is first and c.record is second
    assert GuardedExecute().record is not GuardedExecute().record       # no run: its own
    assert GuardedExecute.record is None and issubclass(run1, GuardedExecute)
    a.record.cell_seconds["x"] = 1.0
    assert second.cell_seconds == {} and DeduplicateIdsKeepingReasons.record is None


def test_duplicated_cells_are_reported_and_only_the_last_is_graded():
    from autograder.execute import DeduplicateIdsKeepingReasons, ExecutionRecord

    nb = read_nb(COURSE / "source" / A / f"{A}.ipynb")
    i = next(k for k, c in enumerate(nb.cells) if grade_id(c) == "test-carry")
    nb.cells.insert(i + 1, copy.deepcopy(nb.cells[i]))
    record = ExecutionRecord()
    pre = DeduplicateIdsKeepingReasons.recording(record)()
    nb, _ = pre.preprocess(nb, {"nbgrader": {"notebook": A}})
    assert record.duplicates == {A: ["test-carry"]}
    assert "nbgrader" not in nb.cells[i].metadata          # nbgrader 0.9 would leave {} here
    assert grade_id(nb.cells[i + 1]) == "test-carry"
    assert [grade_id(c) for c in nb.cells].count("test-carry") == 1


# ------------------------------------------------------------------------------ nbgrader's pieces
def test_folders_and_the_gradebook_come_from_nbgraders_course_directory(tmp_path):
    from autograder.course import Course

    root = copy_course(tmp_path / "c")
    config = (root / "nbgrader_config.py").read_text()
    config = "\n".join(line for line in config.splitlines() if "db_url" not in line)
    (root / "nbgrader_config.py").write_text(
        config + "\nc.CourseDirectory.submitted_directory = 'handed-in'\nc.Execute.timeout = 7\n")
    course = Course(root)
    assert course.submitted_dir == root / "handed-in"
    assert course.path("submitted", A, "ann") == root / "handed-in" / "ann" / A
    assert course.db_url == f"sqlite:///{root / 'gradebook.db'}"      # nbgrader's default
    assert course.cell_timeout() == 7                                  # Execute's, not ExecutePreprocessor's 60
    assert course.source_dir == root / "source" and A in course.assignments()


def test_validate_is_nbgraders_validator_with_the_graders_preprocessors(tmp_path):
    from nbgrader.preprocessors import IgnorePattern

    from autograder.course import Course
    from autograder.validate import GradingValidator, validate_notebook

    assert IgnorePattern in GradingValidator().preprocessors
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                         nbformat.v4.new_code_cell("assert x == 2, 'x is wrong'")])
    nb.cells[1].metadata["nbgrader"] = {"grade": True, "solution": False, "locked": False,
                                        "grade_id": "t", "points": 1, "schema_version": 3}
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, str(path))
    out = io.StringIO()
    assert validate_notebook(Course(), path, stream=out) == 1
    assert "VALIDATION FAILED ON 1 CELL(S)" in out.getvalue() and "x is wrong" in out.getvalue()
    nb.cells[0].source = "x = 2"
    nbformat.write(nb, str(path))
    assert validate_notebook(Course(), path, stream=io.StringIO()) == 0


# ------------------------------------------------------------------------------ the code
#: Functions of the grader allowed past the limit, and why (each must still need it).
LONG = {}


def test_no_function_of_the_grader_is_longer_than_80_lines():
    too_long = {}
    for path in sorted((REPO / "autograder").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > 80:
                    too_long[(path.name, node.name)] = lines
    assert set(too_long) <= set(LONG), {k: v for k, v in too_long.items() if k not in LONG}
    assert set(LONG) <= set(too_long), f"no longer too long, drop from LONG: {set(LONG) - set(too_long)}"
