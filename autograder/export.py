"""``export``: the gradebook as CSV, nbgrader's columns plus the scores' parts and the reasons.

:class:`ReasonsCsvExportPlugin` is an nbgrader export plugin, so plain nbgrader can use it too::

    nbgrader export --exporter=autograder.export.ReasonsCsvExportPlugin --to grades.csv
"""

from __future__ import annotations

import csv

from nbgrader.api import MissingEntry
from nbgrader.plugins.export import ExportPlugin

from .reasons import reasons_from_comments

__all__ = ["ReasonsCsvExportPlugin", "COLUMNS", "export_grades"]

#: nbgrader's CSV columns, then the parts of the score and the reasons for lost points.
COLUMNS = [
    "assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
    "raw_score", "late_submission_penalty", "score", "max_score",
    "code_score", "max_code_score", "written_score", "max_written_score",
    "needs_manual_grade", "reasons",
]


class ReasonsCsvExportPlugin(ExportPlugin):
    """nbgrader's CSV export (properly quoted), with ``reasons`` and the score's parts."""

    def export(self, gradebook):
        dest = self.to or "grades.csv"
        students = [str(s) for s in self.student]
        assignments = [str(a) for a in self.assignment]
        with open(dest, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            for assignment in gradebook.assignments:
                if assignments and assignment.name not in assignments:
                    continue
                for student in gradebook.students:
                    if students and student.id not in students:
                        continue
                    writer.writerow(_row(gradebook, assignment, student))
        self.log.info("Exported grades to %s", dest)


def _row(gradebook, assignment, student):
    row = {
        "assignment": assignment.name, "duedate": assignment.duedate or "",
        "student_id": student.id, "last_name": student.last_name or "",
        "first_name": student.first_name or "", "email": student.email or "",
        "max_score": assignment.max_score, "max_code_score": assignment.max_code_score,
        "max_written_score": assignment.max_written_score,
    }
    try:
        sub = gradebook.find_submission(assignment.name, student.id)
    except MissingEntry:
        row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0,
                   code_score=0.0, written_score=0.0, needs_manual_grade=False,
                   reasons="no submission")
        return row
    penalty = sub.late_submission_penalty or 0.0
    reasons = reasons_from_comments(c.auto_comment for nb in sub.notebooks for c in nb.comments)
    row.update(
        timestamp=sub.timestamp or "", raw_score=sub.score, late_submission_penalty=penalty,
        score=max(0.0, sub.score - penalty), code_score=sub.code_score,
        written_score=sub.written_score, needs_manual_grade=bool(sub.needs_manual_grade),
        reasons=" | ".join(reasons),
    )
    return row


def export_grades(course, dest=None, assignments=None, out=print):
    """Write the course gradebook to a CSV file.

    Parameters
    ----------
    course : autograder.course.Course
    dest : path-like, optional
        ``grades.csv`` in the course root by default.
    assignments : list of str, optional
        Only these assignments.

    Returns
    -------
    path : pathlib.Path
    """
    from pathlib import Path

    from .table import format_table

    dest = Path(dest) if dest else course.root / "grades.csv"
    plugin = ReasonsCsvExportPlugin(to=str(dest), assignment=list(assignments or []))
    with course.gradebook() as gb:
        plugin.export(gb)
    with open(dest, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for n, r in enumerate(rows, 1):
        out(f"[{n}/{len(rows)}] {r['assignment']:<20} {r['student_id']:<16} "
            f"{float(r['score']):g}/{float(r['max_score']):g}")
    out("")
    shown = [{"assignment": r["assignment"], "student": r["student_id"],
              "score": f"{float(r['score']):g}", "of": f"{float(r['max_score']):g}",
              "to grade by hand": "yes" if r["needs_manual_grade"] == "True" else "",
              "reasons": r["reasons"]} for r in rows]
    out(format_table(shown, ["assignment", "student", "score", "of", "to grade by hand", "reasons"],
                     max_width={"reasons": 80}))
    out(f"\n{len(rows)} row(s) written to {dest}")
    return dest
