"""Grade one student in a private scratch copy of the course (runs in its own process).

The parent (:mod:`autograder.grading`) starts one worker process per student. The worker

1. builds a scratch course: the assignment's non-notebook source files, a copy of a template
   gradebook that holds the assignment and no students, and the student's staged submission;
2. checks each expected notebook (present? under its own name? valid nbformat JSON?) and
   removes what nbgrader cannot open, so that nbgrader scores it zero as a missing notebook;
3. runs nbgrader's ``Autograde`` converter on the scratch course, with nbgrader's ``Execute``
   replaced by :class:`autograder.execute.GuardedExecute`: the student's kernel runs in the
   sandbox (:mod:`autograder.sandbox`; nbgrader and this process stay outside, with the
   scratch gradebook), and a cell's output is capped while it arrives. If the kernel dies or
   ignores an interrupt in one of the student's cells, that cell is replaced by one that raises
   and the notebook is graded again (at most three times), so the rest still earns its points;
4. confirms outside the kernel every test that scored in it (:mod:`autograder.verify`), and
   takes the points of a test the kernel was fooled into passing;
5. reads the grades and comments back from the scratch gradebook, adds the reasons for lost
   points, and writes everything to ``result.json``.

It never touches the course gradebook: the parent merges ``result.json`` into it, one student
at a time. If the worker hangs or dies, the parent kills it (kernel included) and records zeros
with the reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
import traceback
from pathlib import Path

__all__ = ["run_job", "child_main", "empty_result"]


def empty_result(job, reasons, notebook_status=None):
    """A result with every grade zero (nothing could be graded) and the reasons.

    Parameters
    ----------
    job : dict
        The job (see :func:`run_job`); ``job["cells"]`` lists the cells of each notebook.
    reasons : list of str
        Why nothing could be graded.
    notebook_status : dict, optional
        Notebook name to status; ``"not graded"`` by default.

    Returns
    -------
    result : dict
    """
    from .reasons import PREFIX

    notebooks = []
    for name, cells in job["cells"].items():
        notebooks.append({
            "name": name,
            "status": (notebook_status or {}).get(name, "not graded"),
            "graded": False,
            "grades": {g: {"auto_score": 0.0, "needs_manual_grade": False} for g in cells["grades"]},
            "comments": {s: "\n".join(PREFIX + "not graded: " + r for r in reasons) or None
                         for s in cells["solutions"]},
            "late_penalty": None,
        })
    return {"student": job["student"], "assignment": job["assignment"], "timestamp": None,
            "reasons": list(reasons), "notebooks": notebooks, "autograded": None,
            "nbgrader_log": ""}


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


def _remove_duplicate_cells(nb):
    """Keep the first cell of each nbgrader ``grade_id`` (nbgrader fails on a duplicate);
    return the ids that had copies."""
    seen, dups, cells = set(), [], []
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid is not None and gid in seen:
            dups.append(gid)
            continue
        seen.add(gid)
        cells.append(cell)
    if dups:
        nb.cells = cells
        ids = set()
        for cell in nb.cells:                 # cell ids must be unique too
            if cell.get("id") in ids:
                import uuid

                cell["id"] = uuid.uuid4().hex[:8]
            ids.add(cell.get("id"))
    return list(dict.fromkeys(dups))


def _neutralise(sub_dir, culprit, why):
    """Replace the student's cell ``culprit`` (a grade_id) in the submitted notebooks with one
    that raises; return True if a solution cell of that id was found."""
    import nbformat

    done = False
    for path in sub_dir.glob("*.ipynb"):
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            nbg = cell.get("metadata", {}).get("nbgrader", {})
            if nbg.get("grade_id") == culprit and nbg.get("solution") and cell.cell_type == "code":
                cell.source = f"raise RuntimeError({why!r})\n"
                done = True
        if done:
            nbformat.write(nb, str(path))
    return done


def _check_notebooks(sub_dir, expected):
    """Check and tidy the submitted notebooks; return (status per notebook, reasons)."""
    import nbformat

    present = {p.stem: p for p in sub_dir.glob("*.ipynb")}
    strangers = sorted(p.name for stem, p in present.items() if stem not in expected)
    status, reasons = {}, []
    for name in expected:
        path = present.get(name)
        if path is None:
            status[name] = "missing"
            if strangers:
                reasons.append(f"{name}.ipynb is missing; found {', '.join(strangers)} instead "
                               f"(notebooks must keep their names): {name} scores zero")
            else:
                reasons.append(f"no {name}.ipynb in the submission: {name} scores zero")
            continue
        try:
            nb = nbformat.read(str(path), as_version=4)
            nbformat.validate(nb)
        except Exception as exc:        # noqa: BLE001 -- any unreadable file is the same problem
            from .reasons import short

            status[name] = "invalid"
            reasons.append(f"{name}.ipynb is not a valid notebook ({type(exc).__name__}: "
                           f"{short(exc, 160)}): {name} scores zero")
            path.unlink()
        else:
            status[name] = "ok"
            duplicates = _remove_duplicate_cells(nb)
            if duplicates:
                nbformat.write(nb, str(path))
                reasons.append(f"{name}: removed a copy of cell(s) {', '.join(duplicates)} "
                               "(a graded or locked cell must not be duplicated)")
    for name in strangers:
        (sub_dir / name).unlink()
    return status, reasons


def run_job(job):
    """Grade one student; write ``job["result"]`` and return the result.

    Parameters
    ----------
    job : dict
        ``course_root``, ``assignment``, ``student``, ``staged`` (the staged submission folder),
        ``scratch`` (an empty private folder), ``template_db`` (a gradebook with the assignment
        and no students), ``cell_timeout`` (seconds), ``cells`` (notebook name to its
        ``grades`` and ``solutions`` cell names), ``problems`` (reasons found while staging) and
        ``result`` (where to write the JSON result).

    Returns
    -------
    result : dict
        ``student``, ``assignment``, ``timestamp``, ``reasons``, ``notebooks`` (per notebook:
        ``name``, ``status``, ``graded``, ``grades``, ``comments``, ``late_penalty``),
        ``autograded`` (the scratch folder of autograded notebooks, or None), ``nbgrader_log``.
    """
    from .course import Course, prepare_process

    prepare_process()
    import nbformat
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.converters import Autograde
    from nbgrader.utils import capture_log

    from .reasons import attach_reasons, cell_reasons, log_reason, merge_comment

    from .verify import load_check

    course = Course(job["course_root"])
    assignment, student = job["assignment"], job["student"]
    check = load_check(course.checks_dir, assignment)
    expected = list(job["cells"])
    root = Path(job["scratch"]) / "course"
    _copy_sources(course.source_dir / assignment, root / "source" / assignment)
    db = root / "gradebook.db"
    shutil.copyfile(job["template_db"], db)
    sub_dir = root / "submitted" / student / assignment
    shutil.copytree(job["staged"], sub_dir, symlinks=True)

    status, reasons = _check_notebooks(sub_dir, expected)
    reasons = list(job.get("problems", [])) + reasons
    if not any(s == "ok" for s in status.values()):
        result = empty_result(job, reasons, {n: status.get(n, "missing") for n in expected})
        _write(job["result"], result)
        return result

    db_url = f"sqlite:///{db}"
    config = course.make_config(
        CourseDirectory={"root": str(root), "db_url": db_url, "course_id": course.course_id},
        ExecutePreprocessor={"timeout": int(job["cell_timeout"])},
        Execute={"timeout": int(job["cell_timeout"])},
    )
    coursedir = course.coursedir(config=config, assignment_id=assignment, student_id=student)
    app = Autograde(coursedir=coursedir, config=config)
    app.force = True
    app.create_student = True
    from .execute import GuardedExecute
    from .reasons import log_reason

    autograded = root / "autograded" / student / assignment
    for attempt in range(4):
        ipc_dir = _use_guarded_execute(app, job, sub_dir, course.source_dir / assignment, check)
        try:
            outcome = capture_log(app)
        finally:
            if ipc_dir:
                shutil.rmtree(ipc_dir, ignore_errors=True)
        culprit = GuardedExecute.current_cell
        missing = [n for n in expected if status[n] == "ok"
                   and not (autograded / f"{n}.ipynb").is_file()]
        if not missing or not isinstance(culprit, str) or attempt == 3:
            break
        # The kernel died or hung in a student's cell: grade the rest of the notebook with that
        # cell replaced by an error (it scores what the tests then give, usually zero).
        log_text = outcome.get("log", "") + "\n" + outcome.get("error", "")
        what = re.sub(r" \(.*$", "", log_reason(log_text) or "the kernel failed")
        why = f"the notebook was graded without this cell, which stopped it on a first run: {what}"
        if not _neutralise(sub_dir, culprit, why):
            break
        reasons.append(f"cell {culprit}: {what}; the rest of the notebook was graded without it")
        GuardedExecute.current_cell = None
        app = Autograde(coursedir=coursedir, config=config)
        app.force = True
        app.create_student = True
    log_text = outcome.get("log", "") + ("\n" + outcome["error"] if "error" in outcome else "")

    notebooks = []
    timestamp = None
    with Gradebook(db_url, course.course_id) as gb:
        try:
            submission = gb.find_submission(assignment, student)
            timestamp = submission.timestamp.isoformat() if submission.timestamp else None
        except MissingEntry:
            submission = None
        for name in expected:
            path = autograded / f"{name}.ipynb"
            graded = status[name] == "ok" and path.is_file() and submission is not None
            nb_reasons = []
            if status[name] == "ok" and not graded:
                why = log_reason(log_text) or "nbgrader could not grade it"
                nb_reasons.append(f"{name} could not be graded: {why}; it scores zero")
                reasons.append(nb_reasons[-1])
            entry = {"name": name, "status": "graded" if graded else (
                         "not graded" if status[name] == "ok" else status[name]),
                     "graded": graded, "grades": {}, "comments": {}, "late_penalty": None}
            if graded:
                sn = gb.find_submission_notebook(name, assignment, student)
                entry["late_penalty"] = sn.late_submission_penalty
                nb = nbformat.read(str(path), as_version=4)
                found = cell_reasons(nb)
                own = [r for r in reasons if r.startswith(f"{name}: ")]   # e.g. duplicates
                failures = _verify(job, check, nb, sn)
                for g in sn.grades:
                    entry["grades"][g.name] = {"auto_score": g.auto_score,
                                               "needs_manual_grade": bool(g.needs_manual_grade)}
                    if g.name in failures and (g.auto_score or 0) > 0:
                        entry["grades"][g.name]["auto_score"] = 0.0
                        found.append((g.name, "test", (
                            f"test {g.name}: 0/{g.max_score:g} points: it passed inside the "
                            "notebook but not when checked outside the student's kernel "
                            f"({failures[g.name]})")))
                reasons.extend(text for _, _, text in found)
                lines = attach_reasons(nb, found, own)
                for c in sn.comments:
                    entry["comments"][c.name] = merge_comment(c.auto_comment, lines.get(c.name, []))
            else:
                cells = job["cells"][name]
                entry["grades"] = {g: {"auto_score": 0.0, "needs_manual_grade": False}
                                   for g in cells["grades"]}
                from .reasons import PREFIX

                why = nb_reasons or [r for r in reasons if r.startswith(name)] or reasons
                entry["comments"] = {s: "\n".join(PREFIX + "not graded: " + r for r in why)
                                     for s in cells["solutions"]}
            notebooks.append(entry)

    result = {"student": student, "assignment": assignment, "timestamp": timestamp,
              "reasons": reasons, "notebooks": notebooks,
              "autograded": str(autograded) if autograded.is_dir() else None,
              "nbgrader_log": log_text[-20000:]}
    _write(job["result"], result)
    return result


def _verify(job, check, nb, sn):
    """The outside check of the tests that scored in the kernel (:mod:`autograder.verify`)."""
    if check is None or not any((g.auto_score or 0) > 0 for g in sn.grades):
        return {}
    from .execute import GuardedExecute
    from .reasons import short
    from .verify import verify_notebook

    try:
        return verify_notebook(check, nb, Path(job["scratch"]) / "kernel",
                               sandbox_spec=GuardedExecute.sandbox_spec,
                               timeout=float(job.get("cell_timeout", 60)) * 2 + 30,
                               export_dir=GuardedExecute.export_dir,
                               cell_seconds=GuardedExecute.cell_seconds)
    except Exception as exc:                  # noqa: BLE001 -- fail closed: nothing confirmed
        why = f"the outside check failed: {type(exc).__name__}: {short(exc)}"
        return {g.name: why for g in sn.grades}


def _no_links_or_notebooks(folder, names):
    return [n for n in names if n.endswith(".ipynb") or n == ".ipynb_checkpoints"
            or os.path.islink(os.path.join(folder, n))]


def _use_guarded_execute(app, job, sub_dir, source_dir, check):
    """Make ``app`` execute with :class:`autograder.execute.GuardedExecute` (the sandbox when the
    job asks for it, and the output cap); return the sandbox's socket folder, or None."""
    from nbgrader.preprocessors import Execute

    from .execute import GuardedExecute

    GuardedExecute.sandbox_spec = None
    GuardedExecute.max_output_chars = int(job.get("max_output_chars") or 0)
    GuardedExecute.cell_seconds, GuardedExecute.export_dir = {}, None
    export = check and check.export and (check.export.after, check.export.code)
    app.autograde_preprocessors = [GuardedExecute if p is Execute else p
                                   for p in app.autograde_preprocessors]
    box = job.get("sandbox")
    kernel_root = Path(job["scratch"]) / "kernel"
    if not box:
        folder = str(kernel_root / "export")           # the export code makes it when it runs
        GuardedExecute.export = export and (*export, folder, folder)
        return None
    from .sandbox import WORK, SandboxSpec, prepare_dirs, readonly_paths

    work = kernel_root / "kernel-work"
    _copy_sources(source_dir, work)                  # the assignment's data files
    for item in sub_dir.iterdir():                   # and the student's own files
        if item.suffix != ".ipynb" and not item.is_symlink():
            if item.is_dir():
                # symbolic links are dropped, never followed: this process can read what the
                # student must not (a link to the gradebook would copy it into the sandbox)
                shutil.copytree(item, work / item.name, symlinks=True, dirs_exist_ok=True,
                                ignore=_no_links_or_notebooks)
            else:
                shutil.copyfile(item, work / item.name)
    work_dir, ipc_dir = prepare_dirs(kernel_root, box["uid"])
    GuardedExecute.export = export and (*export, work_dir, WORK)
    GuardedExecute.sandbox_spec = SandboxSpec(
        work_dir=work_dir, ipc_dir=ipc_dir, uid=box["uid"], memory_mb=box["memory_mb"],
        cpu_seconds=box["cpu_seconds"], max_processes=box["max_processes"],
        max_file_mb=box["max_file_mb"], readonly=readonly_paths())
    return ipc_dir


def _write(path, result):
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(result, indent=1, default=str))
    os.replace(tmp, path)


def child_main(job):
    """Entry point of a forked worker: output to the job's log file, errors into the result."""
    log = open(job["log"], "ab", buffering=0)
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
        _write(job["result"], empty_result(job, [f"the grader failed on this submission: {short(err)}"]))
        os._exit(1)
    finally:
        print(f"worker finished in {time.perf_counter() - started:.1f} s", flush=True)
    os._exit(0)


if __name__ == "__main__":           # python -m autograder.worker JOB.json (an exec'd worker)
    child_main(json.loads(Path(sys.argv[1]).read_text()))
