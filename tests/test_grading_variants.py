"""Every student's own variant, through the grader: a class with one student of every variant of
each assignment, graded by ``python -m autograder grade`` on a course made by ``init``.

For every assignment and every variant the reference solution for that variant scores full
marks and the blank release scores zero; a full-marks notebook handed in under the id of a
student with another variant loses exactly the points that depend on the variant, and the reason
names the variant it was graded on. (tests/test_course_variants.py runs the same notebooks
without the grader, cell by cell.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder_helpers import (  # noqa: E402
    COURSE, fill, gradebook_rows, points, read_nb, run_cli, solution_sources,
)
from test_course_variants import IDS, VARIANT_DEPENDENT, specialised  # noqa: E402

import lstm_core.variants as V  # noqa: E402

pytestmark = pytest.mark.slow


def _answers(assignment, variant):
    """The solution cells of a student of ``variant`` (their variant written into the code)."""
    nb = read_nb(COURSE / "source" / assignment / f"{assignment}.ipynb")
    return solution_sources(specialised(nb, assignment, variant))


def _typed(path, student):
    """Type ``student`` into the notebook's id cell, as a student off the class's hub does."""
    nb = read_nb(path)
    for cell in nb.cells:
        if "student-id" in cell.get("metadata", {}).get("tags", []):
            cell.source = f'STUDENT_ID = "{student}"'
    nbformat.write(nb, str(path))
    return path


KEY = "lstm-demo-2026"           # the demo course's term key: the same variants every run


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("courses") / "variants-term"
    run_cli("init", root, "--term-key", KEY)
    run_cli("release", "--course", root, "--no-html")
    return root


def _needs_other_code(assignment, mine, theirs):
    if assignment == "lstm-from-scratch":
        return (mine.cell, mine.gate_order) != (theirs.cell, theirs.gate_order)
    return mine.letter("C") != theirs.letter("C")            # lesson-exercises: the quick check


def _stranger(assignment, owner):
    """A new id whose variant needs other code than ``owner``'s."""
    mine = V.variant_for(KEY, assignment, owner)
    return next(sid for sid in (f"t{k:03d}" for k in range(1000))
                if _needs_other_code(assignment, mine, V.variant_for(KEY, assignment, sid)))


def _grade_class(course, assignment, tmp_path):
    """One student per variant with their full-marks notebook, a blank, and (where the code
    depends on the variant) the first student's notebook handed in by a stranger."""
    release = course / "release" / assignment / f"{assignment}.ipynb"
    subs = tmp_path / "submitted"
    table = V.ASSIGNMENT_VARIANTS[assignment]
    for sid, variant in zip(IDS[assignment], table):
        path = subs / sid / assignment / f"{assignment}.ipynb"
        _typed(fill(release, _answers(assignment, variant), path), sid)
    fill(release, {}, subs / "blank" / assignment / f"{assignment}.ipynb")
    if assignment in VARIANT_DEPENDENT:
        owner = IDS[assignment][0]
        path = subs / _stranger(assignment, owner) / assignment / f"{assignment}.ipynb"
        _typed(fill(release, _answers(assignment, table[0]), path), owner)
    out = run_cli("grade", assignment, subs, "--course", course, "--jobs", 2, timeout=1800).stdout
    return gradebook_rows(course, assignment), out


@pytest.mark.parametrize("assignment", ["lesson-exercises", "lstm-from-scratch", "lstm-keras"])
def test_every_variant_scores_full_marks_and_the_blank_zero(course, assignment, tmp_path):
    rows, out = _grade_class(course, assignment, tmp_path)
    full = sum(points(course, assignment).values())
    for sid in IDS[assignment]:
        assert rows[sid]["code"] == full, (sid, rows[sid]["reasons"], out)
    assert rows["blank"]["code"] == 0, rows["blank"]
    if assignment not in VARIANT_DEPENDENT:
        return
    (victim,) = [s for s in rows if s.startswith("t")]
    grades = rows[victim]["grades"]
    lost = {g for g, p in points(course, assignment).items() if (grades.get(g) or 0) < p}
    assert lost == VARIANT_DEPENDENT[assignment], (lost, rows[victim]["reasons"])
    variant = V.variant_for(KEY, assignment, victim).key
    assert any(f"handed in by {victim!r}" in r and f"({variant})" in r
               for r in rows[victim]["reasons"]), rows[victim]["reasons"]
