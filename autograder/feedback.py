"""``feedback``: nbgrader's HTML feedback, one file per student and notebook, hidden tests hidden.

nbgrader's own feedback shows every test cell as the autograded notebook holds it, hidden tests
included, with their tracebacks (nbgrader issue #917): once feedback goes out, the hidden tests
are public. The feedback here is nbgrader's ``GenerateFeedback`` with two more preprocessors
(:data:`FEEDBACK_PREPROCESSORS`; the demo course's ``nbgrader_config.py`` sets the same list, so
the formgrader's "Generate Feedback" button and ``nbgrader generate_feedback`` do the same):

* :class:`HideHiddenTests` removes every hidden-test region from the cells' code, and replaces
  the outputs of a cell that had one by its failure message alone (``AssertionError: dWh is
  wrong ...``): no traceback (it quotes hidden lines), no printed value;
* :class:`ScoreSummary` puts a table first: for every graded cell its name, the points earned
  of the points possible, passed or failed, and the failure message or the grader's reason.

What nbgrader's ``release_feedback`` hands out is these files.
"""

from __future__ import annotations

import time

from nbformat.v4 import new_markdown_cell
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor

from .course import CourseError
from .reasons import PREFIX, reasons_from_comments, short
from .table import fmt_points, format_table

__all__ = ["generate_feedback", "HideHiddenTests", "ScoreSummary", "FEEDBACK_PREPROCESSORS"]


def _failure(cell):
    """The message of the cell's error output ("Name: value"), or None."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            value = short(out.get("evalue", ""))
            return f"{out.get('ename', 'Error')}: {value}" if value else out.get("ename", "Error")
    return None


class HideHiddenTests(ClearHiddenTests):
    """Remove hidden-test regions from the feedback; keep only their cells' failure message."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not self._remove_hidden_test_region(cell):
            return cell, resources
        message = _failure(cell)
        cell.outputs = [] if message is None else [{
            "output_type": "error", "ename": message.split(":", 1)[0],
            "evalue": message.split(":", 1)[1].strip() if ":" in message else "",
            "traceback": [message]}]
        return cell, resources


class ScoreSummary(NbGraderPreprocessor):
    """A first cell with one row per graded cell: name, points, passed or failed, and why.

    Runs after nbgrader's ``GetGrades`` (which puts each cell's score and comment into its
    metadata) and :class:`HideHiddenTests`.
    """

    def preprocess(self, nb, resources):
        comments = [line[len(PREFIX):] for cell in nb.cells
                    for line in str(cell.metadata.get("nbgrader", {}).get("comment") or "").splitlines()
                    if line.startswith(PREFIX)]
        rows = ["| cell | points | result | why |", "|---|---|---|---|"]
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if not meta.get("grade"):
                continue
            score, points = meta.get("score"), meta.get("points") or 0
            if score is None:
                result, why = "to be graded by hand", ""
            else:
                result = "passed" if score >= points else ("partly" if score > 0 else "failed")
                why = "" if score >= points else (_failure(cell) or next(
                    (c for c in comments if f" {meta.get('grade_id')}:" in c), ""))
            why = why.replace("|", "\\|").replace("\n", " ")
            rows.append(f"| `{meta.get('grade_id')}` | {fmt_points(score) if score is not None else '-'}"
                        f" / {fmt_points(points)} | {result} | {why} |")
        nb.cells.insert(0, new_markdown_cell("**Your grade, cell by cell**\n\n" + "\n".join(rows)))
        return nb, resources


#: GenerateFeedback's preprocessors: nbgrader's two, then the two above.
FEEDBACK_PREPROCESSORS = ["nbgrader.preprocessors.GetGrades",
                          "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
                          "autograder.feedback.HideHiddenTests",
                          "autograder.feedback.ScoreSummary"]


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
        config = course.make_config(GenerateFeedback={"preprocessors": FEEDBACK_PREPROCESSORS})
        app = GenerateFeedback(coursedir=coursedir, config=config)
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
