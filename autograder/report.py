"""``report``: one HTML page (and its CSV) about a class's grades on one assignment.

For the instructor, with Matplotlib figures: the score distribution; for every test cell its
pass rate, its discrimination (the point-biserial correlation of passing it with the rest of
the score: near 0, the test does not tell strong from weak work; negative, something is wrong
with it) and its three most frequent failure messages; the mean score per variant (is one
variant harder?); grading seconds per student; the students not graded, with the reasons.

The numbers come from the gradebook (scores), the autograded notebooks (failure messages) and
the grading record beside the gradebook (seconds, reasons, variants).
"""

from __future__ import annotations

import collections
import csv
import html
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["StudentRow", "TestStats", "discrimination", "test_stats", "variant_means",
           "collect_rows", "write_report", "class_report"]


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


@dataclass(frozen=True)
class StudentRow:
    """One student's grades on the assignment.

    Attributes
    ----------
    student : str
    score, max_score : float
        Points of the whole assignment (written answers included when graded by hand).
    tests : dict of str to float
        Each auto-graded test cell's score, by grade_id.
    failures : dict of str to str
        Why a test cell lost points (its failure message), by grade_id.
    graded : bool
        False when the submission could not be graded at all.
    reasons : tuple of str
        Why not, or what went wrong (as the grader wrote it).
    seconds : float or None
        Grading time of the student.
    variant : str or None
        The student's variant of the assignment.
    """

    student: str
    score: float
    max_score: float
    tests: dict = field(default_factory=dict)
    failures: dict = field(default_factory=dict)
    graded: bool = True
    reasons: tuple = ()
    seconds: float | None = None
    variant: str | None = None


@dataclass(frozen=True)
class TestStats:
    """What the class did on one test cell (graded students only)."""

    grade_id: str
    points: float
    students: int
    pass_rate: float
    discrimination: float | None
    top_failures: tuple


def discrimination(passed, rest):
    """The point-biserial correlation of passing a test with the rest of the score.

    Parameters
    ----------
    passed : sequence of bool
        Per student: passed the test.
    rest : sequence of float
        Per student: the score without this test's points.

    Returns
    -------
    r : float or None
        Pearson's correlation of the two, in [-1, 1]; None when either does not vary (every
        student passed, or every student failed, or all had the same rest score).
    """
    x = [1.0 if p else 0.0 for p in passed]
    y = [float(v) for v in rest]
    if len(x) < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    return statistics.correlation(x, y)


def test_stats(rows, points):
    """Pass rate, discrimination and top failure messages of every test cell.

    Parameters
    ----------
    rows : list of StudentRow
    points : dict of str to float
        Each test cell's points, by grade_id, in the notebook's order.

    Returns
    -------
    stats : list of TestStats
    """
    graded = [r for r in rows if r.graded]
    out = []
    for gid, pts in points.items():
        passed = [r.tests.get(gid, 0.0) >= pts for r in graded]
        rest = [r.score - r.tests.get(gid, 0.0) for r in graded]
        failed = [r.failures[gid] for r in graded
                  if r.tests.get(gid, 0.0) < pts and r.failures.get(gid)]
        # messages that differ only in their numbers ("relative error 3e-02") count as one
        shapes = collections.Counter(_NUMBER.sub("#", m) for m in failed)
        example = {_NUMBER.sub("#", m): m for m in reversed(failed)}
        top = tuple((example[k], n) for k, n in shapes.most_common(3))
        out.append(TestStats(gid, pts, len(graded), sum(passed) / len(graded) if graded else 0.0,
                             discrimination(passed, rest), top))
    return out


def variant_means(rows):
    """Mean score per variant, graded students only: ``{variant: (students, mean)}``, sorted."""
    by = collections.defaultdict(list)
    for r in rows:
        if r.graded and r.variant is not None:
            by[r.variant].append(r.score)
    return {v: (len(s), statistics.fmean(s)) for v, s in sorted(by.items())}


def _figures(rows, stats, means, dest):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = {}
    graded = [r for r in rows if r.graded]

    def save(name, fig):
        fig.tight_layout()
        fig.savefig(dest / f"{name}.png", dpi=110)
        plt.close(fig)
        made[name] = f"{name}.png"

    fig, ax = plt.subplots(figsize=(6, 3))
    top = max((r.max_score for r in rows), default=1)
    ax.hist([r.score for r in graded], bins=min(20, int(top) + 1), range=(0, top),
            color="#4c72b0", edgecolor="white")
    ax.set(xlabel="score (points)", ylabel="students", title="Score distribution")
    save("scores", fig)

    fig, ax = plt.subplots(figsize=(6, 0.45 * len(stats) + 1.2))
    ax.barh([s.grade_id for s in stats][::-1], [100 * s.pass_rate for s in stats][::-1],
            color="#55a868")
    ax.set(xlim=(0, 100), xlabel="students who passed (%)", title="Pass rate per test")
    save("pass_rates", fig)

    if means:
        fig, ax = plt.subplots(figsize=(6, 0.45 * len(means) + 1.2))
        ax.barh(list(means)[::-1], [m for _, m in means.values()][::-1], color="#8172b2")
        ax.set(xlabel="mean score (points)", title="Mean score per variant")
        save("variants", fig)

    seconds = [r.seconds for r in rows if r.seconds is not None]
    if seconds:
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.hist(seconds, bins=20, color="#c44e52", edgecolor="white")
        ax.set(xlabel="grading seconds per student", ylabel="students",
               title="Grading time per student")
        save("seconds", fig)
    return made


def _csv(rows, points, path):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "variant", "graded", "score", "max_score", "seconds",
                    *points, "reasons"])
        for r in rows:
            w.writerow([r.student, r.variant or "", int(r.graded), f"{r.score:g}",
                        f"{r.max_score:g}", "" if r.seconds is None else f"{r.seconds:.1f}",
                        *(f"{r.tests.get(g, 0.0):g}" for g in points), "; ".join(r.reasons)])


def _table(headers, body):
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    rows = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>"
                   for row in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def write_report(assignment, rows, points, dest):
    """Write ``index.html``, ``report.csv`` and the figures into ``dest``.

    Parameters
    ----------
    assignment : str
    rows : list of StudentRow
    points : dict of str to float
        The test cells' points, by grade_id, in the notebook's order.
    dest : path-like
        A folder (created).

    Returns
    -------
    page : pathlib.Path
        The HTML page.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    stats, means = test_stats(rows, points), variant_means(rows)
    figures = _figures(rows, stats, means, dest)
    _csv(rows, points, dest / "report.csv")
    graded = [r for r in rows if r.graded]
    fmt = lambda v: "-" if v is None else f"{v:.2f}"              # noqa: E731
    parts = [
        f"<h1>{html.escape(assignment)}: the class report</h1>",
        f"<p>{len(rows)} students, {len(graded)} graded; mean score "
        f"{statistics.fmean([r.score for r in graded]) if graded else 0:.2f} of "
        f"{max((r.max_score for r in rows), default=0):g}. "
        "Every number is in <a href='report.csv'>report.csv</a>.</p>",
        *(f"<figure><img src='{src}' alt='{name.replace('_', ' ')}'></figure>"
          for name, src in figures.items()),
        "<h2>Tests</h2>",
        "<p>Discrimination: the correlation of passing the test with the rest of the score "
        "(near 0: it does not separate strong from weak work; below 0: look at the test).</p>",
        _table(["test", "points", "pass rate", "discrimination", "most frequent failures"],
               [(s.grade_id, f"{s.points:g}", f"{100 * s.pass_rate:.0f}%", fmt(s.discrimination),
                 " | ".join(f"{m} ({n})" for m, n in s.top_failures) or "-") for s in stats]),
        "<h2>Variants</h2>",
        _table(["variant", "students", "mean score"],
               [(v, n, f"{m:.2f}") for v, (n, m) in means.items()]) if means
        else "<p>No variants recorded.</p>",
        "<h2>Not graded</h2>",
        _table(["student", "reasons"],
               [(r.student, "; ".join(r.reasons)) for r in rows if not r.graded])
        if any(not r.graded for r in rows) else "<p>Every submission was graded.</p>",
    ]
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em}"
             "img{max-width:100%}")
    page = dest / "index.html"
    page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
                    f"{html.escape(assignment)} report</title><style>{style}</style></head>"
                    f"<body>{''.join(parts)}</body></html>")
    return page


# --------------------------------------------------------------------------- from the course
def _test_points(gb, assignment):
    """Every auto-graded test cell's points, by grade_id, in the notebooks' order."""
    points = {}
    for nb in gb.find_assignment(assignment).notebooks:
        for cell in nb.grade_cells:
            if cell.cell_type == "code" and not any(
                    s.name == cell.name for s in nb.solution_cells):
                points[cell.name] = float(cell.max_score)
    return points


def _failures(course, assignment, student):
    """grade_id -> the failure message of each test cell in the student's autograded
    notebooks (their error outputs)."""
    import nbformat

    from .feedback import _failure

    found = {}
    for path in sorted(course.path("autograded", assignment, student).glob("*.ipynb")):
        for cell in nbformat.read(str(path), as_version=4).cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            message = _failure(cell) if cell.cell_type == "code" else None
            if gid and message:
                found[gid] = message
    return found


def _variant_label(course, assignment, student):
    from lstm_core.variants import ASSIGNMENT_VARIANTS, variant_for

    key = course.term_key()
    if not key or assignment not in ASSIGNMENT_VARIANTS:
        return None
    return variant_for(key, assignment, student).key


def collect_rows(course, assignment):
    """One :class:`StudentRow` per student with a submission in the gradebook.

    Parameters
    ----------
    course : autograder.course.Course
    assignment : str

    Returns
    -------
    rows : list of StudentRow
        Sorted by student id.
    points : dict of str to float
        The test cells' points, by grade_id.
    """
    from nbgrader.api import MissingEntry

    from .grading import load_journal
    from .jobs import NOT_GRADED, TEST
    from .reasons import parse_reasons

    journal = load_journal(course).get(assignment, {})
    rows = []
    with course.gradebook() as gb:
        points = _test_points(gb, assignment)
        for student in sorted(s.id for s in gb.students):
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            reasons = parse_reasons(c.auto_comment for nb in sub.notebooks for c in nb.comments)
            tests = {g.name: float(g.score or 0.0) for nb in sub.notebooks for g in nb.grades
                     if g.name in points}
            failures = {r.cell: r.text for r in reasons if r.kind == TEST and r.cell}
            failures.update(_failures(course, assignment, student))
            rows.append(StudentRow(
                student, float(sub.score), float(sub.max_score), tests, failures,
                graded=not any(r.kind == NOT_GRADED for r in reasons),
                reasons=tuple(r.text for r in reasons),
                seconds=(journal.get(student) or {}).get("seconds"),
                variant=_variant_label(course, assignment, student)))
    return rows, points


def class_report(course, assignment, dest=None):
    """Write the class report of ``assignment`` (``<course>/report/<assignment>/`` by default).

    Returns
    -------
    page : pathlib.Path
    """
    from .course import CourseError

    course.check_assignment(assignment)
    rows, points = collect_rows(course, assignment)
    if not rows:
        raise CourseError(f"no graded submissions of {assignment} in the gradebook: run grade "
                          "first")
    return write_report(assignment, rows, points, dest or course.root / "report" / assignment)
