"""The nbgrader course directory: its configuration, its folders and its gradebook.

Everything here reads ``nbgrader_config.py`` the way nbgrader does (a traitlets Python config
file), and takes the folders and the gradebook's URL from nbgrader's own ``CourseDirectory``
(:attr:`Course.directory`), so ``python -m autograder`` and plain ``nbgrader`` commands run from
the course root agree. The grading limits are :class:`autograder.jobs.GradingLimits`.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import sys
import warnings
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from . import DEMO_COURSE
from .jobs import GradingLimits

__all__ = ["CourseError", "GradingLimits", "Course", "prepare_process", "speed_up_imports"]


def speed_up_imports():
    """Skip an optional 5-second import that nbgrader's dependencies would make.

    nbgrader imports nbformat, which imports jsonschema, which imports ``rfc3987_syntax`` if it
    is installed, only to check strings of the JSON-schema formats "iri" and "iri-reference".
    That package builds a parser when it is imported, which costs about 5 s of CPU in every
    process that loads nbgrader, and so in every grading worker. No nbformat or nbgrader schema
    uses those formats; marking the package as absent (jsonschema expects it may be) changes no
    validation result. Call this before nbgrader is imported.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


def prepare_process():
    """Set up this process for nbgrader; call it before nbgrader is imported.

    * nbgrader creates a gradebook by running its environment's ``alembic`` script, found on
      ``PATH``: put this interpreter's ``bin`` folder first, as an activated virtual environment
      would (``make`` does the same).
    * ``TF_CPP_MIN_LOG_LEVEL=3`` for every kernel started from here (TensorFlow's C++ log on
      stderr would zero a test cell).
    * :func:`speed_up_imports`.
    """
    bindir = os.path.dirname(os.path.abspath(sys.executable))
    path = os.environ.get("PATH", "")
    if bindir not in path.split(os.pathsep):
        os.environ["PATH"] = bindir + (os.pathsep + path if path else "")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # nbgrader 0.9's Gradebook.add_submission builds objects in a way SQLAlchemy 2 warns about
    # ("Object of type <SubmittedNotebook> not in session"); the rows are written correctly.
    warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session")
    speed_up_imports()


class CourseError(RuntimeError):
    """Something about the course or the command's arguments is wrong; the message says what."""


def load_config(root):
    """Read ``root/nbgrader_config.py`` as nbgrader does.

    Parameters
    ----------
    root : path-like
        The course root.

    Returns
    -------
    config : traitlets.config.Config
    """
    loader = PyFileConfigLoader("nbgrader_config.py", path=str(root))
    return loader.load_config()


class Course:
    """A course folder (an nbgrader course root): ``nbgrader_config.py``, ``source/``,
    ``checks/``, and what the commands generate (``release/``, ``submitted/``, the gradebook...).

    Parameters
    ----------
    root : path-like, optional
        The course folder; the repository's demo course ``course/`` by default.

    Raises
    ------
    CourseError
        If ``root`` has no ``nbgrader_config.py``.
    """

    def __init__(self, root=None):
        self.root = Path(root if root is not None else DEMO_COURSE).resolve()
        if not (self.root / "nbgrader_config.py").is_file():
            raise CourseError(f"{self.root} is not a course folder: it has no nbgrader_config.py "
                              "(make one with `python -m autograder init DIR`)")
        self.config = load_config(self.root)
        cd = self.config.CourseDirectory
        if "root" in cd and Path(cd.root).resolve() != self.root:
            # A copied course whose config names another root: this copy wins.
            cd.root = str(self.root)
        if "root" not in cd:
            cd.root = str(self.root)

    # ------------------------------------------------------------------ folders
    @functools.cached_property
    def directory(self):
        """nbgrader's ``CourseDirectory`` of this course: its folders and its gradebook's URL
        (nbgrader's default, ``sqlite:///<root>/gradebook.db``, unless the config sets one)."""
        speed_up_imports()
        from nbgrader.coursedir import CourseDirectory

        return CourseDirectory(config=self.config)

    def path(self, step, assignment, student="."):
        """nbgrader's folder of ``assignment`` at ``step`` (``"source"``, ``"release"``,
        ``"submitted"``, ``"autograded"``, ``"feedback"``) for ``student``, as
        ``CourseDirectory.format_path`` lays it out."""
        cd = self.directory
        return Path(cd.format_path(getattr(cd, f"{step}_directory"), student, assignment))

    def _step_dir(self, step):
        return Path(self.directory.root) / getattr(self.directory, f"{step}_directory")

    @property
    def source_dir(self):
        return self._step_dir("source")

    @property
    def checks_dir(self):
        """The outside checks, ``checks/<assignment>.py`` (see :mod:`autograder.verify`)."""
        return self.root / "checks"

    @property
    def release_dir(self):
        return self._step_dir("release")

    @property
    def submitted_dir(self):
        return self._step_dir("submitted")

    @property
    def autograded_dir(self):
        return self._step_dir("autograded")

    @property
    def feedback_dir(self):
        return self._step_dir("feedback")

    @property
    def course_id(self):
        return self.directory.course_id or "default_course"

    @property
    def db_url(self):
        """The gradebook's SQLAlchemy URL (``CourseDirectory.db_url``)."""
        return self.directory.db_url

    @property
    def db_path(self):
        """The gradebook file, for an SQLite gradebook; else None."""
        url = self.db_url
        return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None

    def assignments(self):
        """The assignments in ``source/``: folders holding at least one notebook, sorted."""
        if not self.source_dir.is_dir():
            return []
        return sorted(p.name for p in self.source_dir.iterdir()
                      if p.is_dir() and any(p.glob("*.ipynb")))

    def check_assignment(self, assignment):
        """Raise :class:`CourseError` unless ``assignment`` is in ``source/``."""
        known = self.assignments()
        if assignment not in known:
            raise CourseError(f"no assignment {assignment!r} in {self.source_dir}; "
                              f"the assignments are: {', '.join(known) or 'none'}")

    def notebook_names(self, assignment):
        """The notebook names (without ``.ipynb``) of an assignment, from ``source/``."""
        return sorted(p.stem for p in (self.source_dir / assignment).glob("*.ipynb"))

    # ------------------------------------------------------------------ nbgrader objects
    def make_config(self, **sections):
        """A copy of the course config with ``sections`` merged in.

        Parameters
        ----------
        **sections : dict
            For example ``CourseDirectory={"root": "/tmp/x"}``.

        Returns
        -------
        config : traitlets.config.Config
        """
        cfg = copy.deepcopy(self.config)
        cfg.merge(Config(sections))
        return cfg

    def coursedir(self, config=None, **attrs):
        """An ``nbgrader.coursedir.CourseDirectory`` for this course (or ``config``)."""
        from nbgrader.coursedir import CourseDirectory

        cd = CourseDirectory(config=config if config is not None else self.config)
        for name, value in attrs.items():
            setattr(cd, name, value)
        return cd

    @contextlib.contextmanager
    def gradebook(self):
        """The course gradebook, ``nbgrader.api.Gradebook``, closed on exit."""
        from nbgrader.api import Gradebook

        gb = Gradebook(self.db_url, self.course_id)
        try:
            yield gb
        finally:
            gb.close()

    def limits(self):
        """The :class:`GradingLimits` set in ``nbgrader_config.py``."""
        return GradingLimits(config=self.config)

    def term_key(self):
        """The course's term key (``c.TermKey.term_key``; empty if not set)."""
        speed_up_imports()
        from .term_key import TermKey

        return TermKey(config=self.config).term_key

    def cell_timeout(self):
        """nbgrader's per-cell limit (seconds): the ``timeout`` of its ``Execute`` preprocessor
        configured by this course (``c.Execute.timeout`` or ``c.ExecutePreprocessor.timeout``)."""
        speed_up_imports()
        from nbgrader.preprocessors import Execute

        return Execute(config=self.config).timeout
