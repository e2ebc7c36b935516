"""Grade one student in a private scratch copy of the course (runs in its own process).

The supervisor (:mod:`autograder.grading`) starts one worker process per student and hands it a
:class:`autograder.jobs.GradingJob`. The worker (:func:`run_job`)

1. **prepares** a scratch course: the assignment's non-notebook source files, a copy of a
   template gradebook that holds the assignment and no students, and the student's staged
   submission; it checks each expected notebook (present? under its own name? valid nbformat
   JSON?) and removes what nbgrader cannot open, so that nbgrader scores it zero as a missing
   notebook;
2. **autogrades** with nbgrader's ``Autograde`` converter, whose ``Execute`` and
   ``DeduplicateIds`` preprocessors are replaced by the grader's (:mod:`autograder.execute`):
   the student's kernel runs in the sandbox (:mod:`autograder.sandbox`; nbgrader and this
   process stay outside, with the scratch gradebook), a cell's output is capped while it
   arrives, and copies of a graded cell are reported. If the kernel dies or ignores an
   interrupt in one of the student's cells, that cell is replaced by one that raises and the
   notebook is graded again (at most :data:`MAX_RUNS` runs), so the rest still earns its points;
3. **checks outside** the kernel every test that scored in it (:mod:`autograder.verify`), and
   takes the points of a test the kernel was fooled into passing;
4. **collects** the grades and comments from the scratch gradebook, adds the reasons for lost
   points, and writes a :class:`autograder.jobs.StudentResult` to ``result.json``.

It never touches the course gradebook: the supervisor merges ``result.json`` into it, one
student at a time. If the worker hangs or dies, the supervisor kills it (kernel included) and
records zeros with the reason.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from lstm_core.variants import STUDENT_ENV

from .jobs import CELL, NOTE, TEST, GradeResult, GradingJob, NotebookResult, Reason, StudentResult

__all__ = ["run_job", "child_main", "prepare", "autograde", "check_outside", "collect",
           "MAX_RUNS"]

#: How often a notebook is autograded at most (the first run, then one per cell that stopped
#: the kernel and was replaced).
MAX_RUNS = 4


# --------------------------------------------------------------------------- 1. prepare
@dataclass
class Scratch:
    """The worker's private course: nbgrader's folders and gradebook for one student.

    Attributes
    ----------
    coursedir : nbgrader.coursedir.CourseDirectory
        Rooted in the scratch folder, its gradebook nbgrader's default there.
    config : traitlets.config.Config
        The course's config with the scratch course and the job's cell limit.
    status : dict
        Notebook name to ``"ok"``, ``"missing"`` or ``"invalid"``.
    reasons : list of Reason
        Found so far (staging, the notebooks' check, the runs).
    """

    coursedir: object
    config: object
    status: dict = field(default_factory=dict)
    reasons: list = field(default_factory=list)

    def folder(self, step):
        """nbgrader's folder of the assignment at ``step`` (the student's, but for source)."""
        cd = self.coursedir
        return Path(cd.format_path(getattr(cd, f"{step}_directory"),
                                   "." if step == "source" else cd.student_id, cd.assignment_id))

    @property
    def gradable(self):
        return any(s == "ok" for s in self.status.values())

    def not_autograded(self):
        """The notebooks that were fine to grade but have no autograded copy."""
        return [n for n, s in self.status.items()
                if s == "ok" and not (self.folder("autograded") / f"{n}.ipynb").is_file()]


def prepare(course, job):
    """Build the scratch course of ``job`` and check the submitted notebooks.

    Returns
    -------
    scratch : Scratch
    """
    root = Path(job.scratch) / "course"
    config = course.make_config(CourseDirectory={"root": str(root), "course_id": course.course_id},
                                Execute={"timeout": int(job.cell_timeout)})
    config.CourseDirectory.pop("db_url", None)     # nbgrader's default: the scratch gradebook
    coursedir = course.coursedir(config=config, assignment_id=job.assignment,
                                 student_id=job.student)
    scratch = Scratch(coursedir, config, reasons=list(job.problems))
    _copy_sources(course.path("source", job.assignment), scratch.folder("source"))
    shutil.copyfile(job.template_db, coursedir.db_url[len("sqlite:///"):])
    shutil.copytree(job.staged, scratch.folder("submitted"), symlinks=True)
    scratch.status, found = _check_notebooks(scratch.folder("submitted"), job.notebooks)
    scratch.reasons += found + _claimed_ids(job, scratch)
    return scratch


def _typed_id(nb):
    """What the student typed into the notebook's ``student-id`` cell (``STUDENT_ID = "..."``),
    or None."""
    import ast

    for cell in nb.cells:
        if "student-id" in cell.get("metadata", {}).get("tags", []):
            try:
                tree = ast.parse(cell.source)
                return str(ast.literal_eval(tree.body[0].value)).strip() or None
            except (SyntaxError, ValueError, IndexError, AttributeError):
                return None
    return None


def _claimed_ids(job, scratch):
    """A reason for every notebook whose typed id is not the id it was handed in under: it is
    graded on the real id's variant (the grading kernel's ``LSTM_COURSE_STUDENT``)."""
    import nbformat

    from lstm_core.variants import ASSIGNMENT_VARIANTS, variant_for

    if job.assignment not in ASSIGNMENT_VARIANTS or not job.term_key:
        return []
    found = []
    for name, status in scratch.status.items():
        if status != "ok":
            continue
        typed = _typed_id(nbformat.read(str(scratch.folder("submitted") / f"{name}.ipynb"), 4))
        if typed is not None and typed != job.student:
            variant = variant_for(job.term_key, job.assignment, job.student)
            found.append(Reason(
                f"{name} says STUDENT_ID = {typed!r}, but it was handed in by {job.student!r}: "
                f"it was graded on {job.student}'s variant ({variant.key})", NOTE, name))
    return found


def _copy_sources(src, dest):
    """Non-notebook files of the assignment (data files a notebook reads); never the notebooks."""
    dest.mkdir(parents=True, exist_ok=True)
    if not src.is_dir():
        return
    for path in src.rglob("*"):
        if path.is_file() and path.suffix != ".ipynb" and ".ipynb_checkpoints" not in path.parts:
            target = dest / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def _check_notebooks(sub_dir, expected):
    """Check and tidy the submitted notebooks; return (status per notebook, reasons)."""
    import nbformat

    from .reasons import short

    present = {p.stem: p for p in sub_dir.glob("*.ipynb")}
    strangers = sorted(p.name for stem, p in present.items() if stem not in expected)
    status, reasons = {}, []
    for name in expected:
        path = present.get(name)
        if path is None:
            status[name] = "missing"
            reasons.append(Reason(
                f"{name}.ipynb is missing; found {', '.join(strangers)} instead (notebooks must "
                f"keep their names): {name} scores zero" if strangers else
                f"no {name}.ipynb in the submission: {name} scores zero", NOTE, name))
            continue
        try:
            nbformat.validate(nbformat.read(str(path), as_version=4))
            status[name] = "ok"
        except Exception as exc:        # noqa: BLE001 -- any unreadable file is the same problem
            status[name] = "invalid"
            reasons.append(Reason(f"{name}.ipynb is not a valid notebook ({type(exc).__name__}: "
                                  f"{short(exc, 160)}): {name} scores zero", NOTE, name))
            path.unlink()
    for name in strangers:
        (sub_dir / name).unlink()
    return status, reasons


# --------------------------------------------------------------------------- 2. autograde
@dataclass
class KernelSetup:
    """The kernel of one run: its sandbox (None: unsandboxed), the outside check's export, and
    the socket folder to remove after the run."""

    sandbox: object = None
    export: object = None
    ipc_dir: str | None = None

    def cleanup(self):
        if self.ipc_dir:
            shutil.rmtree(self.ipc_dir, ignore_errors=True)


@dataclass
class AutogradeRun:
    """The last run of nbgrader's ``Autograde``: its log, what the preprocessors observed
    (:class:`autograder.execute.ExecutionRecord`) and the kernel it ran."""

    log: str
    record: object
    kernel: KernelSetup


def autograde(job, scratch, check):
    """Autograde the scratch submission; replace a cell that stops the kernel and run again.

    Returns
    -------
    run : AutogradeRun
        The last run. ``scratch.reasons`` gains the copies of graded cells and the cells
        replaced.
    """
    from nbgrader.utils import capture_log

    from .execute import ExecutionRecord

    for attempt in range(MAX_RUNS):
        record, kernel = ExecutionRecord(), _prepare_kernel(job, scratch, check)
        try:
            outcome = capture_log(_autograde_app(job, scratch, kernel, record))
        finally:
            kernel.cleanup()
        log = outcome.get("log", "") + ("\n" + outcome["error"] if "error" in outcome else "")
        culprit = record.current_cell
        if attempt == MAX_RUNS - 1 or not isinstance(culprit, str) or not scratch.not_autograded():
            break
        # The kernel died or hung in a student's cell: grade the rest of the notebook with that
        # cell replaced by an error (it scores what the tests then give, usually zero).
        replaced = _without_cell(scratch.folder("submitted"), culprit, log)
        if replaced is None:
            break
        scratch.reasons.append(replaced)
    for notebook, ids in record.duplicates.items():
        scratch.reasons.append(Reason(
            f"{notebook}: removed a copy of cell(s) {', '.join(ids)} from grading, which counts "
            "only the last one (a graded or locked cell must not be duplicated)", NOTE, notebook))
    return AutogradeRun(log, record, kernel)


def _autograde_app(job, scratch, kernel, record):
    """nbgrader's ``Autograde`` for the scratch course, with the grader's preprocessors."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import DeduplicateIds, Execute
    from traitlets.config import Config

    from .execute import DeduplicateIdsKeepingReasons, GuardedExecute

    config = copy.deepcopy(scratch.config)
    config.merge(Config({"GuardedExecute": {
        "sandbox": kernel.sandbox, "export": kernel.export,
        "max_output_chars": int(job.limits.max_output_chars)}}))
    app = Autograde(coursedir=scratch.coursedir, config=config)
    app.force = True
    app.create_student = True
    ours = {Execute: GuardedExecute.recording(record),
            DeduplicateIds: DeduplicateIdsKeepingReasons.recording(record)}
    app.sanitize_preprocessors = [ours.get(p, p) for p in app.sanitize_preprocessors]
    app.autograde_preprocessors = [ours.get(p, p) for p in app.autograde_preprocessors]
    return app


def _without_cell(sub_dir, culprit, log):
    """Replace the student's cell ``culprit`` (a grade_id) in the submitted notebooks with one
    that raises; return the reason, or None if no solution cell of that id was found."""
    import nbformat
    from nbgrader.utils import is_solution

    from .reasons import log_reason

    what = re.sub(r" \(.*$", "", log_reason(log) or "the kernel failed")
    why = f"the notebook was graded without this cell, which stopped it on a first run: {what}"
    done = False
    for path in sub_dir.glob("*.ipynb"):
        nb = nbformat.read(str(path), as_version=4)
        cells = [c for c in nb.cells if c.cell_type == "code" and is_solution(c)
                 and c.metadata["nbgrader"].get("grade_id") == culprit]
        for cell in cells:
            cell.source = f"raise RuntimeError({why!r})\n"
        if cells:
            nbformat.write(nb, str(path))
            done = True
    if not done:
        return None
    return Reason(f"cell {culprit}: {what}; the rest of the notebook was graded without it",
                  CELL, cell=culprit)


def _no_links_or_notebooks(folder, names):
    return [n for n in names if n.endswith(".ipynb") or n == ".ipynb_checkpoints"
            or os.path.islink(os.path.join(folder, n))]


def _prepare_kernel(job, scratch, check):
    """The kernel of one run: the sandbox when the job has a uid (with the assignment's data
    files and the student's own files in its working folder) and the check's export."""
    from .execute import ExportPlan

    export = check.export if check is not None else None
    kernel_root = Path(job.scratch) / "kernel"
    if job.sandbox_uid is None:
        folder = str(kernel_root / "export")           # the export code makes it when it runs
        return KernelSetup(export=export and ExportPlan(export.after, export.code, folder, folder))
    from .sandbox import WORK, SandboxSpec, prepare_dirs

    work = kernel_root / "kernel-work"
    _copy_sources(scratch.folder("source"), work)     # the assignment's data files
    for item in scratch.folder("submitted").iterdir():     # and the student's own files
        if item.suffix != ".ipynb" and not item.is_symlink():
            if item.is_dir():
                # symbolic links are dropped, never followed: this process can read what the
                # student must not (a link to the gradebook would copy it into the sandbox)
                shutil.copytree(item, work / item.name, symlinks=True, dirs_exist_ok=True,
                                ignore=_no_links_or_notebooks)
            else:
                shutil.copyfile(item, work / item.name)
    work_dir, ipc_dir = prepare_dirs(kernel_root, job.sandbox_uid)
    return KernelSetup(
        sandbox=SandboxSpec.for_kernel(work_dir, ipc_dir, job.sandbox_uid, job.limits,
                                       env={STUDENT_ENV: job.student}),
        export=export and ExportPlan(export.after, export.code, work_dir, WORK), ipc_dir=ipc_dir)


# --------------------------------------------------------------------------- 3. check outside
def check_outside(job, check, nb, scores, run):
    """The outside check (:mod:`autograder.verify`) of the tests that scored in the kernel.

    Parameters
    ----------
    job : GradingJob
    check : autograder.verify.OutsideCheck or None
    nb : NotebookNode
        The autograded notebook.
    scores : dict of str to float or None
        What each graded cell scored in the kernel.
    run : AutogradeRun

    Returns
    -------
    failures : dict of str to str
        Test grade_id -> why its outside check failed (every test when the check itself failed).
    """
    if check is None or not any((s or 0) > 0 for s in scores.values()):
        return {}
    from .reasons import short
    from .verify import verify_notebook

    try:
        return verify_notebook(check, nb, Path(job.scratch) / "kernel",
                               student_id=job.student, term_key=job.term_key,
                               sandbox_spec=run.kernel.sandbox,
                               timeout=float(job.cell_timeout) * 2 + 30,
                               export_dir=run.record.export_dir,
                               cell_seconds=run.record.cell_seconds)
    except Exception as exc:                  # noqa: BLE001 -- fail closed: nothing confirmed
        why = f"the outside check failed: {type(exc).__name__}: {short(exc)}"
        return {name: why for name in scores}


# --------------------------------------------------------------------------- 4. collect
def collect(job, scratch, run, check):
    """Read the scratch gradebook, check outside each graded notebook, and make the result.

    Returns
    -------
    result : StudentResult
    """
    from nbgrader.api import Gradebook, MissingEntry

    notebooks, timestamp = [], None
    with Gradebook(scratch.coursedir.db_url, scratch.coursedir.course_id) as gb:
        try:
            submission = gb.find_submission(job.assignment, job.student)
            timestamp = submission.timestamp.isoformat() if submission.timestamp else None
        except MissingEntry:
            submission = None
        for name in job.notebooks:
            path = scratch.folder("autograded") / f"{name}.ipynb"
            if scratch.status[name] == "ok" and path.is_file() and submission is not None:
                sn = gb.find_submission_notebook(name, job.assignment, job.student)
                notebooks.append(_graded_notebook(job, scratch, run, check, path, sn))
            else:
                notebooks.append(_notebook_not_graded(job, scratch, run, name))
    autograded = scratch.folder("autograded")
    return StudentResult(job.student, job.assignment, tuple(notebooks), tuple(scratch.reasons),
                         timestamp, str(autograded) if autograded.is_dir() else None,
                         run.log[-20000:])


def _graded_notebook(job, scratch, run, check, path, sn):
    """The result of a notebook nbgrader graded: its scores less what the outside check
    refutes, and the reasons attached to its solution cells."""
    import nbformat

    from .reasons import attach_reasons, cell_reasons, merge_comment

    name = sn.notebook.name
    nb = nbformat.read(str(path), as_version=4)
    found = cell_reasons(nb, name)
    own = [r for r in scratch.reasons if r.notebook == name]      # e.g. copies of a cell
    failures = check_outside(job, check, nb, {g.name: g.auto_score for g in sn.grades}, run)
    grades = {}
    for g in sn.grades:
        score = g.auto_score
        if g.name in failures and (score or 0) > 0:
            score = 0.0
            found.append(Reason(
                f"test {g.name}: 0/{g.max_score:g} points: it passed inside the notebook but not "
                f"when checked outside the student's kernel ({failures[g.name]})",
                TEST, name, g.name))
        grades[g.name] = GradeResult(score, bool(g.needs_manual_grade))
    scratch.reasons.extend(found)
    lines = attach_reasons(nb, found, own)
    comments = {c.name: merge_comment(c.auto_comment, lines.get(c.name, [])) for c in sn.comments}
    return NotebookResult(name, "graded", grades, comments, tuple(own + found),
                          sn.late_submission_penalty)


def _notebook_not_graded(job, scratch, run, name):
    """A notebook that scores zero: missing, invalid, or one nbgrader could not grade."""
    from .reasons import log_reason

    status = scratch.status[name]
    why = [r for r in scratch.reasons if r.notebook == name] or list(scratch.reasons)
    if status == "ok":
        failed = Reason(f"{name} could not be graded: "
                        f"{log_reason(run.log) or 'nbgrader could not grade it'}; it scores zero",
                        NOTE, name)
        scratch.reasons.append(failed)
        why, status = [failed], "not graded"
    return NotebookResult.not_graded(name, job.cells[name], why, status)


# --------------------------------------------------------------------------- the process
def run_job(job):
    """Grade one student: prepare, autograde with retries, check outside, collect; write
    ``job.result_path`` and return the result.

    Parameters
    ----------
    job : GradingJob

    Returns
    -------
    result : StudentResult
    """
    from .course import Course, prepare_process

    prepare_process()
    from .verify import load_check

    # the notebook's variant is the one of the id the submission came from (also outside the
    # sandbox, where the kernel inherits this process's environment)
    os.environ[STUDENT_ENV] = job.student
    course = Course(job.course_root)
    check = load_check(course.checks_dir, job.assignment)
    scratch = prepare(course, job)
    if not scratch.gradable:
        result = StudentResult.not_graded(job, scratch.reasons,
                                          {n: scratch.status.get(n, "missing") for n in job.notebooks})
    else:
        run = autograde(job, scratch, check)
        result = collect(job, scratch, run, check)
    write_result(job.result_path, result)
    return result


def write_result(path, result):
    """Write ``result`` (a StudentResult) as JSON, atomically."""
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(result.to_json())
    os.replace(tmp, path)


def child_main(job):
    """Entry point of a worker process: output to the job's log file, errors into the result."""
    log = open(job.log_path, "ab", buffering=0)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    started = time.perf_counter()
    try:
        run_job(job)
    except BaseException:                  # noqa: BLE001 -- the parent must get a result
        traceback.print_exc()
        from .reasons import short

        err = traceback.format_exc().strip().splitlines()[-1]
        write_result(job.result_path, StudentResult.not_graded(
            job, [f"the grader failed on this submission: {short(err)}"]))
        os._exit(1)
    finally:
        print(f"worker finished in {time.perf_counter() - started:.1f} s", flush=True)
    os._exit(0)


if __name__ == "__main__":           # python -m autograder.worker JOB.json (an exec'd worker)
    child_main(GradingJob.from_json(Path(sys.argv[1]).read_text()))
