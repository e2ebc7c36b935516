"""``grade``: autograde a class, each student in its own process, one writer to the gradebook.

How a run goes (:func:`grade`):

1. **Resolve, once** (:func:`resolve_run`): the course and its assignment (released first if
   the gradebook does not have it), the outside check, the limits (:class:`autograder.jobs.Limits`:
   ``GradingLimits`` in the config, its ``per_assignment`` entry, the command line), the sandbox,
   and the gradebook: a backup, and a template -- a copy with every student removed.
2. **Queue**: each student's submission is staged into the course's
   ``submitted/<student>/<assignment>/`` (:mod:`autograder.submissions`) and becomes a
   :class:`autograder.jobs.GradingJob` (unless ``--resume`` finds it graded already).
3. **Supervise** (:func:`supervise`): up to ``jobs`` worker processes run at once
   (:mod:`autograder.worker`), each on a private scratch course with its own copy of the
   template, so no two processes ever write one SQLite file; each student's kernel runs in the
   sandbox (:mod:`autograder.sandbox`). A worker that outlives its limit is killed with its
   kernel.
4. As each worker ends, this process alone merges its :class:`autograder.jobs.StudentResult`
   into the course gradebook, copies the autograded notebooks into ``autograded/`` and prints a
   progress line. A student whose submission could not be graded still gets a row: zero for
   what could not be graded, and why.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .course import CourseError
from .jobs import NOT_GRADED, GradeResult, GradingJob, NotebookCells, Reason, StudentResult
from .reasons import parse_reasons
from .submissions import discover, stage
from .table import fmt_points, format_table

__all__ = ["grade", "resolve_run", "GradingRun", "supervise", "ensure_released",
           "assignment_cells", "make_template", "merge_result", "summary_row"]


def ensure_released(course, assignment):
    """Release ``assignment`` (nbgrader generate_assignment) unless the gradebook has it.

    Returns
    -------
    released_now : bool
    """
    from nbgrader.api import MissingEntry

    with course.gradebook() as gb:
        try:
            gb.find_assignment(assignment)
            known = True
        except MissingEntry:
            known = False
    if known and any(course.path("release", assignment).glob("*.ipynb")):
        return False
    from .release import release_assignment

    release_assignment(course, assignment, html_dir=None)
    return True


def assignment_cells(course, assignment):
    """The graded and solution cells of each notebook of an assignment, from the gradebook.

    Returns
    -------
    cells : dict of str to NotebookCells
        Notebook name to its cells (task cells are in both lists).
    """
    with course.gradebook() as gb:
        a = gb.find_assignment(assignment)
        return {nb.name: NotebookCells(
                    grades=[c.name for c in nb.grade_cells] + [c.name for c in nb.task_cells],
                    solutions=[c.name for c in nb.solution_cells] + [c.name for c in nb.task_cells])
                for nb in a.notebooks}


def make_template(course, dest):
    """A gradebook with the course's assignments and no students, for the workers to copy."""
    from nbgrader.api import Gradebook

    if course.db_path is None:
        raise CourseError(f"grade needs an SQLite gradebook; the course uses {course.db_url}")
    sqlite_copy(course.db_path, dest)
    with Gradebook(f"sqlite:///{dest}", course.course_id) as gb:
        for student in list(gb.students):
            gb.remove_student(student.id)


def backup_gradebook(course):
    """Copy the gradebook to ``gradebook.db.backup`` (SQLite's online backup) before a run."""
    if course.db_path is None or not course.db_path.is_file():
        return None
    target = course.db_path.with_name(course.db_path.name + ".backup")
    sqlite_copy(course.db_path, target)
    return target


def sqlite_copy(source, dest):
    """A consistent copy of the SQLite database ``source`` at ``dest`` (SQLite's online backup)."""
    src, dst = sqlite3.connect(str(source)), sqlite3.connect(str(dest))
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()


# --------------------------------------------------------------------------- the journal
def journal_path(course):
    """``gradebook.db.journal.json`` beside the gradebook: for each assignment and student, which
    submission is merged (its fingerprint; None when its grading was stopped) and how many
    seconds grading it took (ignored by git, like the gradebook)."""
    db = course.db_path or course.root / "gradebook.db"
    return db.with_name(db.name + ".journal.json")


def load_journal(course):
    try:
        return json.loads(journal_path(course).read_text())
    except (OSError, ValueError):
        return {}


def record_journal(course, assignment, student, fingerprint, seconds):
    """Note (atomically) that ``student``'s submission ``fingerprint`` is in the gradebook,
    graded in ``seconds``."""
    journal = load_journal(course)
    journal.setdefault(assignment, {})[student] = {"fingerprint": fingerprint,
                                                   "seconds": round(float(seconds), 2)}
    tmp = journal_path(course).with_suffix(".tmp")
    tmp.write_text(json.dumps(journal, indent=1, sort_keys=True))
    os.replace(tmp, journal_path(course))


def _in_gradebook(course, assignment, student):
    from nbgrader.api import MissingEntry

    with course.gradebook() as gb:
        try:
            gb.find_submission(assignment, student)
            return True
        except MissingEntry:
            return False


def fingerprint(course, assignment, staged, settings):
    """A hash of what decides a student's grade: the staged submission, the assignment's
    source notebooks (tests), its outside check and the grading settings."""
    import hashlib

    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    check = course.checks_dir / f"{assignment}.py"
    if check.is_file():
        h.update(check.read_bytes() + b"\0")
    for base in (Path(staged), course.path("source", assignment)):
        if base.is_dir():
            for path in sorted(p for p in base.rglob("*") if p.is_file()):
                h.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


# --------------------------------------------------------------------------- merging
def merge_result(course, result):
    """Write one worker's result into the course gradebook (this process is the only writer).

    Parameters
    ----------
    course : autograder.course.Course
    result : StudentResult

    Returns
    -------
    row : dict
        The student's line of the summary, read back from the gradebook.
    """
    assignment, student = result.assignment, result.student
    with course.gradebook() as gb:
        gb.update_or_create_student(student)
        kwargs = {"timestamp": result.timestamp} if result.timestamp else {}
        gb.update_or_create_submission(assignment, student, **kwargs)
        for nbres in result.notebooks:
            sn = gb.find_submission_notebook(nbres.name, assignment, student)
            for g in sn.grades:
                r = nbres.grades.get(g.name, GradeResult(0.0, False))
                score = r.auto_score
                if score is not None:               # a result is data from a process that ran
                    score = min(max(float(score), 0.0), float(g.max_score))   # student code
                g.auto_score = score
                # as nbgrader does: a grade given by hand before is kept, and flagged for review
                g.needs_manual_grade = bool(r.needs_manual_grade) or (
                    g.manual_score is not None and nbres.graded)
            for c in sn.comments:
                c.auto_comment = nbres.comments.get(c.name)
            sn.late_submission_penalty = nbres.late_penalty
        gb.db.commit()
        return summary_row(gb, assignment, student)


def summary_row(gb, assignment, student):
    """One student's scores and reasons, as the gradebook has them."""
    sub = gb.find_submission(assignment, student)
    reasons = parse_reasons(c.auto_comment for nb in sub.notebooks for c in nb.comments)
    not_graded = [r for r in reasons if r.kind == NOT_GRADED]
    pending = sum(1 for nb in sub.notebooks for g in nb.grades if g.needs_manual_grade)
    return {
        "student": student,
        "auto": fmt_points(sub.code_score),
        "of": fmt_points(sub.max_code_score),
        "written": fmt_points(sub.max_written_score),
        "to grade by hand": pending,
        "status": "NOT GRADED" if not_graded else ("ok" if not reasons else "points lost"),
        "reasons": "; ".join(r.text for r in (not_graded or reasons)),
    }


def _placeholder(course, assignment, name, reasons, dest):
    """The released notebook with a note on top, for a notebook that could not be graded."""
    import nbformat

    released = course.path("release", assignment) / f"{name}.ipynb"
    nb = nbformat.read(str(released), as_version=4)
    text = ("**This notebook could not be graded**, so every part of it scores zero. "
            "What the grader found:\n\n" + "\n".join(f"* {r}" for r in reasons)
            + "\n\nBelow is the notebook as it was handed out.")
    note = nbformat.v4.new_markdown_cell(text)
    nb.cells.insert(0, note)
    nbformat.write(nb, str(dest / f"{name}.ipynb"))


def install_autograded(course, result):
    """Replace ``autograded/<student>/<assignment>/`` with this run's notebooks (a placeholder,
    saying why, for a notebook that could not be graded)."""
    dest = course.path("autograded", result.assignment, result.student)
    if dest.exists():
        shutil.rmtree(dest)
    if result.autograded and Path(result.autograded).is_dir():
        shutil.copytree(result.autograded, dest, symlinks=True)
    else:
        dest.mkdir(parents=True)
    for nbres in result.notebooks:
        if not nbres.graded:
            reasons = (list(dict.fromkeys(r.text for r in nbres.reasons))
                       or [r.text for r in result.reasons] or ["unknown"])
            (dest / f"{nbres.name}.ipynb").unlink(missing_ok=True)
            _placeholder(course, result.assignment, nbres.name, reasons, dest)


# --------------------------------------------------------------------------- resolving a run
@dataclass
class GradingRun:
    """What :func:`grade` resolves once, before any student is graded.

    Attributes
    ----------
    course : autograder.course.Course
    assignment : str
    cells : dict of str to NotebookCells
    limits : autograder.jobs.Limits
    cell_timeout : float
    sandbox : bool
    first_uid : int
        ``GradingLimits.sandbox_uid``: the kernels run as first_uid .. first_uid + 999.
    term_key : str
        The course's term key (``c.TermKey.term_key``).
    startup_allowance : float
    work : Path or None
        The run's scratch folder (made by :meth:`open`), with ``template.db``.
    backup : Path or None
        The gradebook's backup.
    """

    course: object
    assignment: str
    cells: dict
    limits: object
    cell_timeout: float
    sandbox: bool
    first_uid: int
    startup_allowance: float
    term_key: str = ""
    work: Path | None = None
    backup: Path | None = None

    @property
    def per_student(self):
        """Seconds a student's process may take: start-up, then each notebook's limit."""
        return self.startup_allowance + self.limits.notebook_timeout * len(self.cells)

    @property
    def template(self):
        return self.work / "template.db"

    def settings(self):
        """What, besides the submission and the tests, decides a grade (for the fingerprint)."""
        return {"cell_timeout": self.cell_timeout, "limits": asdict(self.limits),
                "sandbox": self.sandbox, "term_key": self.term_key}

    def open(self):
        """Back the gradebook up, make the scratch folder and the template gradebook."""
        self.backup = backup_gradebook(self.course)
        self.work = Path(tempfile.mkdtemp(prefix=f"autograder-{self.assignment}-"))
        make_template(self.course, self.template)

    def job(self, n, student, staged, problems, fingerprint):
        """The :class:`GradingJob` of the ``n``-th student of the run."""
        scratch = self.work / student
        scratch.mkdir()
        return GradingJob(
            course_root=str(self.course.root), assignment=self.assignment, student=student,
            staged=str(staged), scratch=str(scratch), template_db=str(self.template),
            cells=self.cells, cell_timeout=self.cell_timeout, limits=self.limits,
            sandbox_uid=self.first_uid + n % 1000 if self.sandbox else None,
            problems=tuple(Reason(p) for p in problems), fingerprint=fingerprint,
            term_key=self.term_key)

    def banner(self, n_subs, jobs):
        lim = self.limits
        return (f"grading {n_subs} submission(s) of {self.assignment} with {jobs} process(es); "
                f"limits: {self.cell_timeout:g} s per cell, {lim.notebook_timeout:g} s per notebook"
                + (f"; sandboxed kernels: {lim.memory_mb} MiB, {lim.cpu_seconds} CPU s, "
                   f"{lim.max_processes} processes, files up to {lim.max_file_mb} MiB, no network"
                   if self.sandbox else
                   "; NOT SANDBOXED (--no-sandbox): student code runs with your rights")
                + f"; output kept per cell: {lim.max_output_chars:,} characters"
                + (f"; gradebook backed up to {self.backup.name}" if self.backup else ""))


def _load_check_or_fail(course, assignment):
    """Load the assignment's outside check once here, so that a broken check file stops the
    run with its error instead of failing every student."""
    from .verify import load_check

    try:
        load_check(course.checks_dir, assignment)
    except Exception as exc:                  # noqa: BLE001 -- the instructor's file: say why
        raise CourseError(f"the outside check {course.checks_dir / assignment}.py cannot be "
                          f"loaded: {type(exc).__name__}: {exc}") from exc


def _check_sandbox():
    from .sandbox import SandboxError, check_can_sandbox

    try:
        check_can_sandbox()
    except SandboxError as exc:
        raise CourseError(
            f"cannot sandbox the students' kernels: {exc}. Install bubblewrap (Debian/Ubuntu: "
            "apt-get install bubblewrap) and run as root, or pass --no-sandbox to grade "
            "without the sandbox (student code then runs with your rights: only for "
            "submissions you trust)") from None


def resolve_run(course, assignment, cell_timeout=None, limits=None, sandbox=None, out=print):
    """Resolve what a grading run of ``assignment`` needs: see :func:`grade`.

    Returns
    -------
    run : GradingRun
        Not opened yet (:meth:`GradingRun.open`).
    """
    course.check_assignment(assignment)
    _load_check_or_fail(course, assignment)
    if ensure_released(course, assignment):
        out(f"released {assignment} first (it was not in the gradebook yet)")
    configured = course.limits()
    try:
        resolved = configured.for_assignment(assignment, **(limits or {}))
    except ValueError as exc:
        raise CourseError(str(exc)) from None
    sandbox = configured.sandbox if sandbox is None else sandbox
    if sandbox:
        _check_sandbox()
    return GradingRun(
        course=course, assignment=assignment, cells=assignment_cells(course, assignment),
        limits=resolved, cell_timeout=float(cell_timeout if cell_timeout is not None
                                            else course.cell_timeout()),
        sandbox=bool(sandbox), first_uid=configured.sandbox_uid,
        startup_allowance=configured.startup_allowance, term_key=course.term_key())


# --------------------------------------------------------------------------- processes
@dataclass
class _Running:
    job: GradingJob
    process: multiprocessing.Process
    started: float
    limit: float
    family: dict = field(default_factory=dict)     # pid -> psutil.Process, the worker's descendants


def _watch(running):
    import psutil

    try:
        for child in psutil.Process(running.process.pid).children(recursive=True):
            running.family.setdefault(child.pid, child)
    except psutil.Error:
        pass


def _kill(running):
    """Kill the worker and every process it started (its kernel runs in its own session)."""
    import psutil

    _watch(running)
    if running.process.is_alive():
        running.process.kill()
    for proc in running.family.values():
        try:
            proc.kill()
        except psutil.Error:
            pass
    running.process.join(5)


def _cleanup_family(running):
    import psutil

    for proc in running.family.values():
        try:
            if proc.is_running():
                proc.kill()
        except psutil.Error:
            pass


def _result_of(running, killed):
    """The worker's StudentResult, or zeros and why there is none."""
    job = running.job
    if killed:
        return StudentResult.not_graded(job, [
            f"grading was stopped after {running.limit:.0f} s, the time limit of the whole "
            "notebook: the kernel hung or the notebook ran too long"])
    try:
        result = StudentResult.from_json(Path(job.result_path).read_text())
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return StudentResult.not_graded(job, [
            f"the grading process ended without a result (exit code {running.process.exitcode})"])
    if (result.student, result.assignment) != (job.student, job.assignment):
        return StudentResult.not_graded(job, ["the grading process returned a result for "
                                              "someone else"])
    return result


def _finish(course, running, killed):
    """Merge a finished (or killed) worker's result; return the student's summary row."""
    seconds = time.perf_counter() - running.started
    job = running.job
    result = _result_of(running, killed)
    _cleanup_family(running)
    try:
        row = merge_result(course, result)
        install_autograded(course, result)
    except Exception as exc:               # noqa: BLE001 -- one bad result must not stop the class
        from .reasons import short

        result = StudentResult.not_graded(job, [f"the grader could not record this result: "
                                                f"{type(exc).__name__}: {short(exc)}"])
        row = merge_result(course, result)
        install_autograded(course, result)
    # a killed run is worth grading again: no fingerprint
    record_journal(course, job.assignment, job.student, None if killed else job.fingerprint,
                   seconds)
    row["seconds"] = f"{seconds:.1f}"
    return row


def supervise(course, queue, jobs, limit, report):
    """Run the ``queue`` of :class:`GradingJob` with up to ``jobs`` worker processes at once.

    Parameters
    ----------
    course : autograder.course.Course
    queue : list of GradingJob
    jobs : int
    limit : float
        Seconds a worker may run before it is killed, kernel included.
    report : callable
        Called with each student's summary row, as each worker ends (after the merge).
    """
    from .worker import child_main

    ctx = multiprocessing.get_context("fork")
    queue, running = list(queue), []
    try:
        while queue or running:
            while queue and len(running) < jobs:
                job = queue.pop(0)
                proc = ctx.Process(target=child_main, args=(job,), name=f"grade-{job.student}")
                proc.start()
                running.append(_Running(job, proc, time.perf_counter(), limit))
            time.sleep(0.05)
            for r in list(running):
                _watch(r)
                if not r.process.is_alive():
                    r.process.join()
                    running.remove(r)
                    report(_finish(course, r, killed=False))
                elif time.perf_counter() - r.started > r.limit:
                    _kill(r)
                    running.remove(r)
                    report(_finish(course, r, killed=True))
    finally:
        for r in running:
            _kill(r)


# --------------------------------------------------------------------------- grade
class _Progress:
    """The progress lines, ``[k/n] student  auto/of ...``, and the rows they report."""

    def __init__(self, total, out):
        self.total, self.out, self.rows = total, out, []

    def _line(self, row, rest):
        self.rows.append(row)
        self.out(f"[{len(self.rows):{len(str(self.total))}d}/{self.total}] {row['student']:<16} "
                 f"{row['auto']:>5}/{row['of']:<4} auto  {rest}")

    def skipped(self, row):
        row["seconds"] = "-"
        self._line(row, "skipped: graded already with this submission (--resume)")

    def graded(self, row):
        self._line(row, f"{row['to grade by hand']} to grade by hand  {float(row['seconds']):5.1f} s  "
                        f"{row['status']}" + (f": {row['reasons']}" if row["status"] != "ok" else ""))


def _queue(run, subs, resume):
    """Stage each submission; return (the jobs to run, the students --resume skips)."""
    course, assignment = run.course, run.assignment
    journal = load_journal(course).get(assignment, {}) if resume else {}
    queue, skipped = [], []
    for n, sub in enumerate(subs):
        staged = course.path("submitted", assignment, sub.student)
        problems = stage(sub, staged, list(run.cells))
        fp = fingerprint(course, assignment, staged, dict(run.settings(), problems=problems))
        merged = journal.get(sub.student) or {}
        if resume and merged.get("fingerprint") == fp and _in_gradebook(course, assignment, sub.student):
            skipped.append(sub.student)
        else:
            queue.append(run.job(n, sub.student, staged, problems, fp))
    return queue, skipped


def grade(course, assignment, submissions, jobs=1, cell_timeout=None, limits=None, sandbox=None,
          student_pattern=None, students=None, keep_scratch=False, resume=False, out=print):
    """Autograde every submission of ``assignment`` in ``submissions``.

    Parameters
    ----------
    course : autograder.course.Course
    assignment : str
    submissions : path-like
        nbgrader's ``<student>/<assignment>/`` layout, or a folder of ``.ipynb``/``.zip`` files.
    jobs : int, optional
        How many students to grade at once, each in its own process.
    cell_timeout : float, optional
        Seconds per cell; nbgrader's configured ``Execute.timeout`` by default.
    limits : dict, optional
        Overrides of the limits (:meth:`autograder.jobs.Limits.names`); None values are ignored.
    sandbox : bool, optional
        Run each kernel in the sandbox; ``GradingLimits.sandbox`` by default. Without
        bubblewrap a sandboxed run is refused.
    student_pattern : str, optional
        Regular expression with a ``student`` group, for exported file names.
    students : list of str, optional
        Grade only these students.
    keep_scratch : bool, optional
        Keep the scratch courses (for debugging); their folder is printed.
    resume : bool, optional
        Skip a student whose very submission is already in the gradebook, graded with the
        same tests and settings (``gradebook.db.journal.json``): to finish a run that was stopped.
    out : callable, optional
        Prints a line.

    Returns
    -------
    rows : list of dict
        One summary row per student, sorted by student.
    """
    if jobs < 1:
        raise CourseError("--jobs must be at least 1")
    run = resolve_run(course, assignment, cell_timeout, limits, sandbox, out)
    subs = discover(submissions, assignment, student_pattern)
    if students:
        subs = [s for s in subs if s.student in set(students)]
    if not subs:
        raise CourseError(f"no submissions of {assignment} found in {submissions}")
    run.open()
    try:
        out(run.banner(len(subs), jobs))
        queue, skipped = _queue(run, subs, resume)
        progress = _Progress(len(subs), out)
        for student in skipped:
            with course.gradebook() as gb:
                progress.skipped(summary_row(gb, assignment, student))
        started = time.perf_counter()       # first student started to last one merged
        supervise(course, queue, jobs, run.per_student, progress.graded)
        elapsed = time.perf_counter() - started
    finally:
        if keep_scratch:
            out(f"scratch courses kept in {run.work}")
        else:
            shutil.rmtree(run.work, ignore_errors=True)
    return _summary(run, sorted(progress.rows, key=lambda r: r["student"]), jobs, elapsed, out)


def _summary(run, rows, jobs, elapsed, out):
    out("")
    out(format_table(rows, ["student", "auto", "of", "written", "to grade by hand", "status",
                            "seconds", "reasons"], max_width={"reasons": 90}))
    broken = sum(1 for r in rows if r["status"] == "NOT GRADED")
    out(f"\n{len(rows)} student(s) graded in {elapsed:.1f} s with {jobs} process(es); "
        f"{broken} could not be graded (zero, reason above); gradebook: {run.course.db_path}")
    return rows
