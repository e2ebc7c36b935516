"""The LSTM course's grader: an nbgrader course root and its instructor command line.

``autograder/`` is an nbgrader course directory (``nbgrader_config.py``, ``source/<assignment>/``)
and a Python package whose command line, ``python -m autograder``, releases the graded notebooks,
grades a class's submissions, writes feedback and exports grades, through nbgrader's own
converters and gradebook. See ``python -m autograder --help`` and the README's instructor section.

Importing this package is cheap and imports neither nbgrader nor TensorFlow: the student
notebooks import :mod:`autograder.guards` from it.
"""

from pathlib import Path

__all__ = ["COURSE_ROOT", "REPO_ROOT"]

#: The nbgrader course root shipped with the repository (this directory).
COURSE_ROOT = Path(__file__).resolve().parent
#: The repository (the book's root): the default home of ``_build/html``.
REPO_ROOT = COURSE_ROOT.parent
