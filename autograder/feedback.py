"""``feedback``: nbgrader's HTML feedback, one file per student and notebook."""

from __future__ import annotations

import time

from .course import CourseError
from .reasons import reasons_from_comments
from .table import fmt_points, format_table

__all__ = ["generate_feedback"]


def generate_feedback(course, assignment, students=None, out=print):
    """Run nbgrader's ``GenerateFeedback`` for every graded student of ``assignment``.

    The HTML goes to ``feedback/<student>/<assignment>/<notebook>.html``. Each student is
    converted on their own, so one failure does not stop the others.

    Parameters
    ----------
    course : autograder.course.Course
    assignment : str
    students : list of str, optional
        Only these students.
    out : callable, optional

    Returns
    -------
    rows : list of dict
        ``student``, ``score``, ``of``, ``files``, ``status``.
    """
    from nbgrader.api import MissingEntry
    from nbgrader.converters import GenerateFeedback
    from nbgrader.utils import capture_log

    course.check_assignment(assignment)
    graded = sorted(p.parent.name for p in course.autograded_dir.glob(f"*/{assignment}")
                    if p.is_dir())
    if students:
        graded = [s for s in graded if s in set(students)]
    if not graded:
        raise CourseError(f"no graded submissions of {assignment} in {course.autograded_dir}: "
                          "run grade first")
    rows = []
    for n, student in enumerate(graded, 1):
        started = time.perf_counter()
        coursedir = course.coursedir(assignment_id=assignment, student_id=student)
        app = GenerateFeedback(coursedir=coursedir, config=course.config)
        app.force = True
        result = capture_log(app)
        files = sorted((course.feedback_dir / student / assignment).glob("*.html"))
        with course.gradebook() as gb:
            try:
                sub = gb.find_submission(assignment, student)
                score, of = fmt_points(sub.score), fmt_points(sub.max_score)
                reasons = reasons_from_comments(c.auto_comment for nb in sub.notebooks
                                                for c in nb.comments)
            except MissingEntry:
                score, of, reasons = "-", "-", ["not in the gradebook"]
        status = "ok" if result["success"] and files else "FAILED"
        if status == "FAILED":
            from .reasons import log_reason

            reasons = [log_reason(result.get("log", "") + result.get("error", ""))
                       or "nbgrader generate_feedback failed"]
        row = {"student": student, "score": score, "of": of,
               "files": ", ".join(str(f.relative_to(course.root)) for f in files) or "-",
               "status": status, "reasons": len(reasons)}
        rows.append(row)
        out(f"[{n:{len(str(len(graded)))}d}/{len(graded)}] {student:<16} {score:>5}/{of:<4} "
            f"{time.perf_counter() - started:5.1f} s  {status}  {row['files']}")
    out("")
    out(format_table(rows, ["student", "score", "of", "status", "reasons", "files"]))
    failed = sum(r["status"] != "ok" for r in rows)
    out(f"\nfeedback for {len(rows) - failed} of {len(rows)} student(s) in {course.feedback_dir}")
    return rows
