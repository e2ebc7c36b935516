"""``release``: nbgrader's generate_assignment, a leak check, and a copy for the built book."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from . import REPO_ROOT
from .course import CourseError
from .leaks import find_leaks

__all__ = ["release_assignment", "default_html_dir"]


def default_html_dir():
    """``_build/html`` of this repository, where ``make book`` writes the book."""
    return REPO_ROOT / "_build" / "html"


def _refuse_leaks(course, assignment, released):
    """Delete the release and raise :class:`CourseError` if it holds a secret line."""
    leaks = []
    for source in sorted(course.path("source", assignment).glob("*.ipynb")):
        target = released / source.name
        if not target.is_file():
            raise CourseError(f"nbgrader did not release {target}")
        leaks += [f"{target.name}: {leak}" for leak in find_leaks(source, target)]
    if leaks:
        shutil.rmtree(released, ignore_errors=True)
        raise CourseError(f"the release of {assignment} would give away solutions or hidden "
                          "tests (check the ### BEGIN/END markers in source/); it was deleted:\n  "
                          + "\n  ".join(leaks))


def _copy_to_book(released, html_dir, assignment):
    """Copy the released notebooks to ``<html_dir>/graded/<assignment>/``; return that folder."""
    target = Path(html_dir) / "graded" / assignment
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for nb in sorted(released.glob("*.ipynb")):
        shutil.copyfile(nb, target / nb.name)
    return target


def release_assignment(course, assignment, html_dir=None):
    """Generate the student version of one assignment and publish it.

    Runs nbgrader's ``GenerateAssignment`` converter (``nbgrader generate_assignment --force``),
    which writes ``release/<assignment>/`` and records the assignment, its notebooks and cells
    in the gradebook; checks the release for leaked solution or hidden-test lines; and copies
    the student notebooks to ``<html_dir>/graded/<assignment>/`` for the book to link to.

    Parameters
    ----------
    course : autograder.course.Course
    assignment : str
    html_dir : path-like or None
        The built book's HTML folder; None copies nothing.

    Returns
    -------
    row : dict
        ``assignment``, ``notebooks``, ``auto points``, ``manual points``, ``release``,
        ``html`` and ``seconds``.

    Raises
    ------
    CourseError
        If nbgrader fails, or the release contains a secret line (it is then deleted).
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.utils import capture_log

    from .term_key import TermKey

    course.check_assignment(assignment)
    started = time.perf_counter()
    coursedir = course.coursedir(assignment_id=assignment)
    app = GenerateAssignment(coursedir=coursedir, config=course.config)
    app.preprocessors = [TermKey, *app.preprocessors]      # before SaveCells records the cells
    app.force = True
    app.create_assignment = True
    result = capture_log(app)
    if not result["success"]:
        raise CourseError(f"nbgrader generate_assignment failed for {assignment}:\n"
                          f"{result.get('log', '')}\n{result.get('error', '')}")

    released = course.path("release", assignment)
    _refuse_leaks(course, assignment, released)
    html_target = None if html_dir is None else _copy_to_book(released, html_dir, assignment)

    with course.gradebook() as gb:
        a = gb.find_assignment(assignment)
        auto, manual = float(a.max_code_score), float(a.max_written_score)
        notebooks = ", ".join(nb.name for nb in a.notebooks)
    return {
        "assignment": assignment,
        "notebooks": notebooks,
        "auto points": auto,
        "manual points": manual,
        "release": str(released),
        "html": str(html_target) if html_target else "-",
        "seconds": time.perf_counter() - started,
    }
