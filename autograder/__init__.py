"""The LSTM course's grader: a command line over nbgrader that works on a course folder.

The tool holds only code. A course is a folder of data: ``nbgrader_config.py``,
``source/<assignment>/`` (the instructor's notebooks, with solutions and hidden tests) and
``checks/<assignment>.py`` (the outside checks of its tests). The repository's demo course is
``course/``; ``python -m autograder init DIR`` makes an instructor's private one from it. Every
command takes ``--course DIR``. See ``python -m autograder --help`` and the README's instructor
section.

Importing this package is cheap and imports neither nbgrader nor TensorFlow. Nothing a student
runs imports it: the graded notebooks import only ``lstm_core``.
"""

from pathlib import Path

__all__ = ["DEMO_COURSE", "REPO_ROOT"]

#: The repository (the book's root): the default home of ``_build/html``.
REPO_ROOT = Path(__file__).resolve().parent.parent
#: The demo course shipped with the repository, the default ``--course``.
DEMO_COURSE = REPO_ROOT / "course"
