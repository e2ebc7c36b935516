"""``validate``: run a notebook's tests as the grader will, and fail when a test fails.

``nbgrader validate`` prints failures but exits 0. This command uses :class:`GradingValidator`,
nbgrader's ``Validator`` with the grader's own execution settings (the course's config, and the
stderr filter of ``IgnorePattern``, so that a TensorFlow warning fails here only if it would fail
in grading), prints what nbgrader prints, and exits 1 when a test fails, a test cell was changed,
or a cell changed type.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, Execute, IgnorePattern
from nbgrader.validator import Validator
from traitlets import Dict, List

from .course import CourseError

__all__ = ["GradingValidator", "validate_notebook"]


class GradingValidator(Validator):
    """nbgrader's ``Validator``, running what grading runs (``IgnorePattern`` after
    ``Execute``), and keeping the results of its last :meth:`validate` for :attr:`passed`."""

    preprocessors = List([CheckCellMetadata, ClearOutput, Execute, IgnorePattern])

    results = Dict()

    def validate(self, filename):
        self.results = super().validate(filename)
        return self.results

    @property
    def passed(self):
        """Whether the last notebook validated passed: nothing failed, changed or changed type
        (with ``invert``: no cell passed)."""
        problems = ("type_changed", "changed", "passed" if self.invert else "failed")
        return not any(self.results.get(k) for k in problems)


def validate_notebook(course, path, cell_timeout=None, stream=None, student=None):
    """Validate one notebook.

    Parameters
    ----------
    course : autograder.course.Course
        For the execution settings in its ``nbgrader_config.py``.
    path : path-like
    cell_timeout : float, optional
        Seconds per cell; the course's ``Execute.timeout`` by default.
    stream : file, optional
        Where to print (standard output by default).
    student : str, optional
        Run it as the grader runs this student's submission: on their variant, whatever id the
        notebook holds. Without it, the notebook's own id cell (or the hub's user) decides.

    Returns
    -------
    code : int
        0 if every test passes, 1 otherwise.
    """
    stream = stream or sys.stdout
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"no notebook {path}")
    sections = {} if cell_timeout is None else {"Execute": {"timeout": int(cell_timeout)}}
    validator = GradingValidator(config=course.make_config(**sections))
    validator.stream = stream
    if student:
        from lstm_core.variants import STUDENT_ENV

        os.environ[STUDENT_ENV] = student          # the kernel inherits this process's environment
    try:
        validator.validate_and_print(str(path.resolve()))
    except Exception as exc:                  # noqa: BLE001 -- not JSON, not a notebook, ...
        stream.write(f"VALIDATION FAILED: {path} could not be run: {type(exc).__name__}: {exc}\n")
        return 1
    stream.flush()
    return 0 if validator.passed else 1
