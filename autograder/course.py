"""The nbgrader course directory: its configuration, its folders and its gradebook.

Everything here reads ``nbgrader_config.py`` the way nbgrader does (a traitlets Python config
file), so ``python -m autograder`` and plain ``nbgrader`` commands run from the course root agree.
"""

from __future__ import annotations

import contextlib
import copy
import os
import sys
import warnings
from pathlib import Path

from traitlets import Bool, Dict, Float, Integer
from traitlets.config import Config, Configurable
from traitlets.config.loader import PyFileConfigLoader

from . import DEMO_COURSE

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


class GradingLimits(Configurable):
    """Limits of ``python -m autograder grade``, set in ``nbgrader_config.py``.

    The per-cell limit is nbgrader's own, ``c.ExecutePreprocessor.timeout``.
    """

    notebook_timeout = Float(
        300.0,
        help="Wall-clock seconds one notebook may take to grade (kernel start, every cell). "
             "The student's grading process, kernel included, is killed when the limit of all "
             "its notebooks together runs out.",
    ).tag(config=True)

    startup_allowance = Float(
        20.0,
        help="Seconds added to each student's limit for starting its grading process.",
    ).tag(config=True)

    # --- the sandbox around each student's kernel (autograder/sandbox.py) ---------------------
    sandbox = Bool(
        True,
        help="Run each student's kernel in the sandbox (bubblewrap, an unprivileged user, the "
             "limits below). `grade` refuses to run without bubblewrap unless this is False "
             "(or `grade --no-sandbox` is given).",
    ).tag(config=True)

    memory_mb = Integer(
        2048,
        help="Address space of the student's kernel (RLIMIT_AS), MiB. TensorFlow maps far more "
             "virtual memory than it uses: give TensorFlow assignments more (per_assignment).",
    ).tag(config=True)

    cpu_seconds = Integer(
        600, help="CPU seconds of the student's kernel, all cells together (RLIMIT_CPU).",
    ).tag(config=True)

    max_processes = Integer(
        256,
        help="Processes and threads the kernel's user may have at once (RLIMIT_NPROC); "
             "TensorFlow starts a few dozen threads.",
    ).tag(config=True)

    max_file_mb = Integer(
        64, help="Largest file the kernel may write (RLIMIT_FSIZE), MiB.",
    ).tag(config=True)

    max_output_chars = Integer(
        1_000_000,
        help="Characters of output one cell may keep; the rest is discarded while it arrives, "
             "before it reaches the gradebook or the feedback.",
    ).tag(config=True)

    sandbox_uid = Integer(
        61000,
        help="First unprivileged user id of the kernels (one per concurrent grading slot, "
             "sandbox_uid to sandbox_uid + 999); no other process should use these ids.",
    ).tag(config=True)

    per_assignment = Dict(
        {},
        help="Overrides of the limits above by assignment, e.g. "
             "{'lstm-keras': {'memory_mb': 4096}}.",
    ).tag(config=True)

    #: The limits that ``per_assignment`` and the command line may override.
    OVERRIDABLE = ("notebook_timeout", "memory_mb", "cpu_seconds", "max_processes",
                   "max_file_mb", "max_output_chars")

    def for_assignment(self, assignment, **overrides):
        """The limits of ``assignment``: the defaults, its ``per_assignment`` entry, then
        ``overrides`` that are not None.

        Returns
        -------
        limits : dict
        """
        out = {name: getattr(self, name) for name in self.OVERRIDABLE}
        for source in (self.per_assignment.get(assignment, {}), overrides):
            for name, value in source.items():
                if name not in self.OVERRIDABLE:
                    raise ValueError(f"unknown limit {name!r}; the limits are {self.OVERRIDABLE}")
                if value is not None:
                    out[name] = value
        return out


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
    @property
    def source_dir(self):
        return self.root / "source"

    @property
    def checks_dir(self):
        """The outside checks, ``checks/<assignment>.py`` (see :mod:`autograder.verify`)."""
        return self.root / "checks"

    @property
    def release_dir(self):
        return self.root / "release"

    @property
    def submitted_dir(self):
        return self.root / "submitted"

    @property
    def autograded_dir(self):
        return self.root / "autograded"

    @property
    def feedback_dir(self):
        return self.root / "feedback"

    @property
    def course_id(self):
        return self.config.CourseDirectory.get("course_id", "default_course") or "default_course"

    @property
    def db_url(self):
        """The gradebook's SQLAlchemy URL (nbgrader's default: ``sqlite:///<root>/gradebook.db``)."""
        url = self.config.CourseDirectory.get("db_url", "")
        return url or f"sqlite:///{self.root / 'gradebook.db'}"

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

    def cell_timeout(self):
        """nbgrader's per-cell limit, ``ExecutePreprocessor.timeout`` (seconds)."""
        for section in ("Execute", "ExecutePreprocessor"):
            if "timeout" in self.config[section]:
                return self.config[section].timeout
        return 30
