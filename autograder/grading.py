"""``grade``: autograde a class, each student in its own process, one writer to the gradebook.

How a run goes:

1. The assignment must be in the gradebook and released (``release`` is run if it is not).
2. Each student's submission is staged into the course's ``submitted/<student>/<assignment>/``
   (:mod:`autograder.submissions`).
3. A template gradebook is made: a copy of the course gradebook with every student removed.
4. Up to ``jobs`` worker processes run at once (:mod:`autograder.worker`), each on a private
   scratch course with its own copy of the template, so no two processes ever write one SQLite
   file; each student's kernel runs in the sandbox (:mod:`autograder.sandbox`) under the
   limits of ``GradingLimits``. A worker that outlives its limit is killed with its kernel.
5. As each worker ends, this process alone merges its result into the course gradebook, copies
   the autograded notebooks into ``autograded/`` and prints a progress line. A student whose
   submission could not be graded still gets a row: zero for what could not be graded, and why.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .course import CourseError
from .reasons import PREFIX, reasons_from_comments
from .submissions import discover, stage
from .table import fmt_points, format_table

__all__ = ["grade", "ensure_released", "assignment_cells", "make_template", "merge_result"]


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
    released = course.release_dir / assignment
    if known and any(released.glob("*.ipynb")):
        return False
    from .release import release_assignment

    release_assignment(course, assignment, html_dir=None)
    return True


def assignment_cells(course, assignment):
    """The graded and solution cells of each notebook of an assignment, from the gradebook.

    Returns
    -------
    cells : dict
        Notebook name to ``{"grades": [...], "solutions": [...]}`` (task cells are in both).
    """
    with course.gradebook() as gb:
        a = gb.find_assignment(assignment)
        return {nb.name: {"grades": [c.name for c in nb.grade_cells] + [c.name for c in nb.task_cells],
                          "solutions": [c.name for c in nb.solution_cells] + [c.name for c in nb.task_cells]}
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
    """``gradebook.db.journal.json`` beside the gradebook: which submission of each student is
    merged (ignored by git, like the gradebook)."""
    db = course.db_path or course.root / "gradebook.db"
    return db.with_name(db.name + ".journal.json")


def load_journal(course):
    try:
        return json.loads(journal_path(course).read_text())
    except (OSError, ValueError):
        return {}


def record_journal(course, assignment, student, fingerprint):
    """Note (atomically) that ``student``'s submission ``fingerprint`` is in the gradebook."""
    journal = load_journal(course)
    journal.setdefault(assignment, {})[student] = fingerprint
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
    for base in (Path(staged), course.source_dir / assignment):
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
    result : dict
        From :func:`autograder.worker.run_job` (or :func:`autograder.worker.empty_result`).

    Returns
    -------
    row : dict
        The student's line of the summary, read back from the gradebook.
    """
    assignment, student = result["assignment"], result["student"]
    with course.gradebook() as gb:
        gb.update_or_create_student(student)
        kwargs = {"timestamp": result["timestamp"]} if result.get("timestamp") else {}
        gb.update_or_create_submission(assignment, student, **kwargs)
        for nbres in result["notebooks"]:
            sn = gb.find_submission_notebook(nbres["name"], assignment, student)
            for g in sn.grades:
                r = nbres["grades"].get(g.name, {"auto_score": 0.0, "needs_manual_grade": False})
                score = r["auto_score"]
                if score is not None:               # a result is data from a process that ran
                    score = min(max(float(score), 0.0), float(g.max_score))   # student code
                g.auto_score = score
                # as nbgrader does: a grade given by hand before is kept, and flagged for review
                g.needs_manual_grade = bool(r["needs_manual_grade"]) or (
                    g.manual_score is not None and nbres["graded"])
            for c in sn.comments:
                c.auto_comment = nbres["comments"].get(c.name)
            sn.late_submission_penalty = nbres.get("late_penalty")
        gb.db.commit()
        return summary_row(gb, assignment, student)


def summary_row(gb, assignment, student):
    """One student's scores and reasons, as the gradebook has them."""
    sub = gb.find_submission(assignment, student)
    comments = [c.auto_comment for nb in sub.notebooks for c in nb.comments]
    reasons = reasons_from_comments(comments)
    not_graded = [r for r in reasons if r.startswith("not graded")]
    pending = sum(1 for nb in sub.notebooks for g in nb.grades if g.needs_manual_grade)
    return {
        "student": student,
        "auto": fmt_points(sub.code_score),
        "of": fmt_points(sub.max_code_score),
        "written": fmt_points(sub.max_written_score),
        "to grade by hand": pending,
        "status": "NOT GRADED" if not_graded else ("ok" if not reasons else "points lost"),
        "reasons": "; ".join(r[len("not graded: "):] if r.startswith("not graded: ") else r
                             for r in (not_graded or reasons)),
    }


def _placeholder(course, assignment, name, reasons, dest):
    """The released notebook with a note on top, for a notebook that could not be graded."""
    import nbformat

    released = course.release_dir / assignment / f"{name}.ipynb"
    nb = nbformat.read(str(released), as_version=4)
    text = ("**This notebook could not be graded**, so every part of it scores zero. "
            "What the grader found:\n\n" + "\n".join(f"* {r}" for r in reasons)
            + "\n\nBelow is the notebook as it was handed out.")
    note = nbformat.v4.new_markdown_cell(text)
    nb.cells.insert(0, note)
    nbformat.write(nb, str(dest / f"{name}.ipynb"))


def install_autograded(course, result, scratch_autograded):
    """Replace ``autograded/<student>/<assignment>/`` with this run's notebooks."""
    assignment, student = result["assignment"], result["student"]
    dest = course.autograded_dir / student / assignment
    if dest.exists():
        shutil.rmtree(dest)
    if scratch_autograded and Path(scratch_autograded).is_dir():
        shutil.copytree(scratch_autograded, dest, symlinks=True)
    else:
        dest.mkdir(parents=True)
    for nbres in result["notebooks"]:
        if not nbres["graded"]:
            reasons = [line[len(PREFIX + "not graded: "):] for text in nbres["comments"].values()
                       for line in (text or "").splitlines()
                       if line.startswith(PREFIX + "not graded: ")]
            reasons = list(dict.fromkeys(reasons)) or result["reasons"] or ["unknown"]
            (dest / f"{nbres['name']}.ipynb").unlink(missing_ok=True)
            _placeholder(course, assignment, nbres["name"], reasons, dest)


# --------------------------------------------------------------------------- processes
@dataclass
class _Running:
    job: dict
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


def _load_check_or_fail(course, assignment):
    """Load the assignment's outside check once here, so that a broken check file stops the
    run with its error instead of failing every student."""
    from .verify import load_check

    try:
        load_check(course.checks_dir, assignment)
    except Exception as exc:                  # noqa: BLE001 -- the instructor's file: say why
        raise CourseError(f"the outside check {course.checks_dir / assignment}.py cannot be "
                          f"loaded: {type(exc).__name__}: {exc}") from exc


def grade(course, assignment, submissions, jobs=1, cell_timeout=None, notebook_timeout=None,
          student_pattern=None, students=None, keep_scratch=False, out=print, sandbox=None,
          limits=None, resume=False):
    """Autograde every submission of ``assignment`` in ``submissions``.

    Parameters
    ----------
    course : autograder.course.Course
    assignment : str
    submissions : path-like
        nbgrader's ``<student>/<assignment>/`` layout, or a folder of ``.ipynb``/``.zip`` files.
    jobs : int, optional
        How many students to grade at once, each in its own process.
    cell_timeout, notebook_timeout : float, optional
        Seconds; the course's ``nbgrader_config.py`` values by default.
    student_pattern : str, optional
        Regular expression with a ``student`` group, for exported file names.
    students : list of str, optional
        Grade only these students.
    keep_scratch : bool, optional
        Keep the scratch courses (for debugging); their folder is printed.
    sandbox : bool, optional
        Run each kernel in the sandbox (:mod:`autograder.sandbox`); ``GradingLimits.sandbox``
        by default. Without bubblewrap a sandboxed run is refused.
    limits : dict, optional
        Overrides of ``GradingLimits`` (``memory_mb``, ``cpu_seconds``, ``max_processes``,
        ``max_file_mb``, ``max_output_chars``); None values are ignored.
    resume : bool, optional
        Skip a student whose very submission is already in the gradebook, graded with the
        same tests and settings (``gradebook.db.journal.json``): to finish a run that was stopped.
    out : callable, optional
        Prints a line.

    Returns
    -------
    rows : list of dict
        One summary row per student, in the order they were graded.
    """
    course.check_assignment(assignment)
    if jobs < 1:
        raise CourseError("--jobs must be at least 1")
    _load_check_or_fail(course, assignment)
    if ensure_released(course, assignment):
        out(f"released {assignment} first (it was not in the gradebook yet)")
    cells = assignment_cells(course, assignment)
    notebooks = list(cells)
    subs = discover(submissions, assignment, student_pattern)
    if students:
        subs = [s for s in subs if s.student in set(students)]
    if not subs:
        raise CourseError(f"no submissions of {assignment} found in {submissions}")

    config_limits = course.limits()
    try:
        lim = config_limits.for_assignment(assignment, notebook_timeout=notebook_timeout,
                                           **(limits or {}))
    except ValueError as exc:
        raise CourseError(str(exc)) from None
    sandbox = config_limits.sandbox if sandbox is None else sandbox
    if sandbox:
        from .sandbox import SandboxError, check_can_sandbox

        try:
            check_can_sandbox()
        except SandboxError as exc:
            raise CourseError(
                f"cannot sandbox the students' kernels: {exc}. Install bubblewrap (Debian/Ubuntu: "
                "apt-get install bubblewrap) and run as root, or pass --no-sandbox to grade "
                "without the sandbox (student code then runs with your rights: only for "
                "submissions you trust)") from None
    cell_limit = float(cell_timeout if cell_timeout is not None else course.cell_timeout())
    nb_limit = float(lim["notebook_timeout"])
    per_student = config_limits.startup_allowance + nb_limit * len(notebooks)
    backup = backup_gradebook(course)

    work = Path(tempfile.mkdtemp(prefix=f"autograder-{assignment}-"))
    template = work / "template.db"
    make_template(course, template)
    out(f"grading {len(subs)} submission(s) of {assignment} with {jobs} process(es); limits: "
        f"{cell_limit:g} s per cell, {nb_limit:g} s per notebook"
        + (f"; sandboxed kernels: {lim['memory_mb']} MiB, {lim['cpu_seconds']} CPU s, "
           f"{lim['max_processes']} processes, files up to {lim['max_file_mb']} MiB, no network"
           if sandbox else "; NOT SANDBOXED (--no-sandbox): student code runs with your rights")
        + f"; output kept per cell: {lim['max_output_chars']:,} characters"
        + (f"; gradebook backed up to {backup.name}" if backup else ""))

    queue, skipped = [], []
    journal = load_journal(course).get(assignment, {}) if resume else {}
    settings = {"cell_timeout": cell_limit, "limits": lim, "sandbox": bool(sandbox)}
    for n, sub in enumerate(subs):
        staged = course.submitted_dir / sub.student / assignment
        problems = stage(sub, staged, notebooks)
        fp = fingerprint(course, assignment, staged, dict(settings, problems=problems))
        if resume and journal.get(sub.student) == fp and _in_gradebook(course, assignment, sub.student):
            skipped.append(sub.student)
            continue
        scratch = work / sub.student
        scratch.mkdir()
        queue.append({
            "course_root": str(course.root), "assignment": assignment, "student": sub.student,
            "staged": str(staged), "scratch": str(scratch), "template_db": str(template),
            "cell_timeout": cell_limit, "cells": cells, "problems": problems,
            "result": str(scratch / "result.json"), "log": str(scratch / "worker.log"),
            "max_output_chars": lim["max_output_chars"], "fingerprint": fp,
            "sandbox": None if not sandbox else {
                "uid": config_limits.sandbox_uid + n % 1000, "memory_mb": lim["memory_mb"],
                "cpu_seconds": lim["cpu_seconds"], "max_processes": lim["max_processes"],
                "max_file_mb": lim["max_file_mb"]},
        })

    from .worker import child_main, empty_result

    ctx = multiprocessing.get_context("fork")
    running, rows, total = [], [], len(queue) + len(skipped)
    for student in skipped:
        with course.gradebook() as gb:
            row = summary_row(gb, assignment, student)
        row["seconds"] = "-"
        rows.append(row)
        out(f"[{len(rows):{len(str(total))}d}/{total}] {student:<16} "
            f"{row['auto']:>5}/{row['of']:<4} auto  skipped: graded already with this submission "
            "(--resume)")
    started_all = time.perf_counter()

    def finish(r, killed):
        seconds = time.perf_counter() - r.started
        job = r.job
        if killed:
            result = empty_result(job, [
                f"grading was stopped after {r.limit:.0f} s, the time limit of the whole "
                "notebook: the kernel hung or the notebook ran too long"])
        else:
            try:
                result = json.loads(Path(job["result"]).read_text())
            except (OSError, ValueError):
                result = empty_result(job, [
                    f"the grading process ended without a result (exit code {r.process.exitcode})"])
        _cleanup_family(r)
        if (result.get("student"), result.get("assignment")) != (job["student"], job["assignment"]):
            result = empty_result(job, ["the grading process returned a result for someone else"])
        try:
            row = merge_result(course, result)
            install_autograded(course, result, result.get("autograded"))
        except Exception as exc:               # noqa: BLE001 -- one bad result must not stop the class
            from .reasons import short

            result = empty_result(job, [f"the grader could not record this result: "
                                        f"{type(exc).__name__}: {short(exc)}"])
            row = merge_result(course, result)
            install_autograded(course, result, None)
        if not killed:                          # a killed run is worth grading again
            record_journal(course, job["assignment"], job["student"], job["fingerprint"])
        row["seconds"] = f"{seconds:.1f}"
        rows.append(row)
        out(f"[{len(rows):{len(str(total))}d}/{total}] {row['student']:<16} "
            f"{row['auto']:>5}/{row['of']:<4} auto  "
            f"{row['to grade by hand']} to grade by hand  {seconds:5.1f} s  {row['status']}"
            + (f": {row['reasons']}" if row["status"] != "ok" else ""))

    try:
        while queue or running:
            while queue and len(running) < jobs:
                job = queue.pop(0)
                proc = ctx.Process(target=child_main, args=(job,), name=f"grade-{job['student']}")
                proc.start()
                running.append(_Running(job, proc, time.perf_counter(), per_student))
            time.sleep(0.05)
            for r in list(running):
                _watch(r)
                if not r.process.is_alive():
                    r.process.join()
                    running.remove(r)
                    finish(r, killed=False)
                elif time.perf_counter() - r.started > r.limit:
                    _kill(r)
                    running.remove(r)
                    finish(r, killed=True)
    finally:
        for r in running:
            _kill(r)
        if keep_scratch:
            out(f"scratch courses kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    elapsed = time.perf_counter() - started_all
    out("")
    rows.sort(key=lambda r: r["student"])
    out(format_table(rows, ["student", "auto", "of", "written", "to grade by hand", "status",
                            "seconds", "reasons"], max_width={"reasons": 90}))
    broken = sum(1 for r in rows if r["status"] == "NOT GRADED")
    out(f"\n{len(rows)} student(s) graded in {elapsed:.1f} s with {jobs} process(es); "
        f"{broken} could not be graded (zero, reason above); gradebook: {course.db_path}")
    return rows
