"""``validate``: run a notebook's tests as the grader will, and fail when a test fails.

``nbgrader validate`` prints failures but exits 0. This command uses nbgrader's ``Validator``
with the grader's own execution settings (including the stderr filter of ``IgnorePattern``, so
that a TensorFlow warning fails here only if it would fail in grading) and exits 1 when a test
fails, a test cell was changed, or a cell changed type.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .course import CourseError

__all__ = ["validate_notebook"]


def validate_notebook(course, path, cell_timeout=None, stream=None):
    """Validate one notebook.

    Parameters
    ----------
    course : autograder.course.Course
        For the execution settings in its ``nbgrader_config.py``.
    path : path-like
    cell_timeout : float, optional
    stream : file, optional
        Where to print (standard output by default).

    Returns
    -------
    code : int
        0 if every test passes, 1 otherwise.
    """
    from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, Execute, IgnorePattern
    from nbgrader.validator import Validator

    stream = stream or sys.stdout
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"no notebook {path}")
    sections = {}
    if cell_timeout is not None:
        sections = {"ExecutePreprocessor": {"timeout": int(cell_timeout)},
                    "Execute": {"timeout": int(cell_timeout)}}
    validator = Validator(config=course.make_config(**sections))
    validator.preprocessors = [CheckCellMetadata, ClearOutput, Execute, IgnorePattern]
    validator.stream = stream
    try:
        results = validator.validate(str(path.resolve()))
    except Exception as exc:                  # noqa: BLE001 -- not JSON, not a notebook, ...
        stream.write(f"VALIDATION FAILED: {path} could not be run: {type(exc).__name__}: {exc}\n")
        return 1
    type_changed = results.get("type_changed", [])
    changed = results.get("changed", [])
    failed = results.get("failed", [])
    if type_changed:
        validator._print_num_type_changed(len(type_changed))
        for cell in type_changed:
            validator._print_type_changed(cell["old_type"], cell["new_type"], cell["source"])
    elif changed:
        validator._print_num_changed(len(changed))
        for cell in changed:
            validator._print_changed(cell["source"])
    elif failed:
        validator._print_num_failed(len(failed))
        for cell in failed:
            validator._print_error(cell["source"], cell["raw_error"])
    else:
        stream.write(f"Success! Every test in {path.name} passes.\n")
    stream.flush()
    return 1 if (type_changed or changed or failed) else 0
