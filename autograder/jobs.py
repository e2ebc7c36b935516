"""The data of a grading run, typed: one definition of each thing that crosses a process.

``grade`` (:mod:`autograder.grading`, the supervisor) hands each student's grading process
(:mod:`autograder.worker`) a :class:`GradingJob` and gets back a :class:`StudentResult`; both
travel as JSON (``to_json`` / ``from_json``), so a worker started with ``exec`` (``python -m
autograder.worker JOB.json``) reads exactly what a forked one is given.

* :class:`GradingLimits` -- the limits' one set of defaults and help texts (traitlets, set in
  ``nbgrader_config.py``); ``grade``'s limit flags are generated from it
  (:func:`autograder.cli.build_parser`), and :class:`autograder.sandbox.SandboxSpec` takes its
  defaults from it;
* :class:`Limits` -- the limits of one assignment, resolved (defaults, ``per_assignment``,
  command line);
* :class:`GradingJob` -- one student's work order;
* :class:`Reason` -- why points were lost, with its kind;
* :class:`GradeResult`, :class:`NotebookResult`, :class:`StudentResult` -- what the worker found.

This module imports only traitlets: the supervisor, the worker and the command line all load it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields, replace

from traitlets import Bool, Dict, Float, Integer
from traitlets.config import Configurable

__all__ = ["GradingLimits", "Limits", "limit_default", "NotebookCells", "GradingJob", "Reason",
           "NOT_GRADED", "TEST", "CELL", "NOTE", "REASON_KINDS", "GradeResult",
           "NotebookResult", "StudentResult"]


# --------------------------------------------------------------------------- limits
class GradingLimits(Configurable):
    """Limits of ``python -m autograder grade``, set in ``nbgrader_config.py``.

    The per-cell limit is nbgrader's own, ``c.ExecutePreprocessor.timeout``. The traits tagged
    ``limit=True`` are the fields of :class:`Limits`: ``per_assignment`` and ``grade``'s flags
    of the same names (``--memory-mb``...) override them.
    """

    notebook_timeout = Float(
        300.0,
        help="Wall-clock seconds one notebook may take to grade (kernel start, every cell). "
             "The student's grading process, kernel included, is killed when the limit of all "
             "its notebooks together runs out.",
    ).tag(config=True, limit=True, metavar="S")

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
    ).tag(config=True, limit=True, metavar="MB")

    cpu_seconds = Integer(
        600, help="CPU seconds of the student's kernel, all cells together (RLIMIT_CPU).",
    ).tag(config=True, limit=True, metavar="S")

    max_processes = Integer(
        256,
        help="Processes and threads the kernel's user may have at once (RLIMIT_NPROC); "
             "TensorFlow starts a few dozen threads.",
    ).tag(config=True, limit=True, metavar="N")

    max_file_mb = Integer(
        64, help="Largest file the kernel may write (RLIMIT_FSIZE), MiB.",
    ).tag(config=True, limit=True, metavar="MB")

    max_output_chars = Integer(
        1_000_000,
        help="Characters of output one cell may keep; the rest is discarded while it arrives, "
             "before it reaches the gradebook or the feedback.",
    ).tag(config=True, limit=True, metavar="N")

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

    def for_assignment(self, assignment, **overrides):
        """The limits of ``assignment``: the configured ones, its ``per_assignment`` entry, then
        ``overrides`` that are not None.

        Returns
        -------
        limits : Limits

        Raises
        ------
        ValueError
            For a name that is not a limit.
        """
        values = {name: getattr(self, name) for name in Limits.names()}
        for source in (self.per_assignment.get(assignment, {}), overrides):
            for name, value in source.items():
                if name not in values:
                    raise ValueError(f"unknown limit {name!r}; the limits are {Limits.names()}")
                if value is not None:
                    values[name] = value
        return Limits(**values)


def limit_default(name):
    """The default of the :class:`GradingLimits` trait ``name`` (the one place defaults live)."""
    return GradingLimits.class_traits()[name].default_value


@dataclass(frozen=True)
class Limits:
    """The limits of one assignment's grading, resolved (see :class:`GradingLimits`).

    Attributes
    ----------
    notebook_timeout : float
        Wall-clock seconds per notebook.
    memory_mb, cpu_seconds, max_processes, max_file_mb : int
        The kernel's ``RLIMIT_AS`` (MiB), ``RLIMIT_CPU`` (s), ``RLIMIT_NPROC``,
        ``RLIMIT_FSIZE`` (MiB).
    max_output_chars : int
        Output characters a cell may keep (0: all).
    """

    notebook_timeout: float = limit_default("notebook_timeout")
    memory_mb: int = limit_default("memory_mb")
    cpu_seconds: int = limit_default("cpu_seconds")
    max_processes: int = limit_default("max_processes")
    max_file_mb: int = limit_default("max_file_mb")
    max_output_chars: int = limit_default("max_output_chars")

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"limit {f.name} must be a number >= 0, got {value!r}")

    @classmethod
    def names(cls):
        """The limits' names, in order (the traits of :class:`GradingLimits` tagged ``limit``)."""
        return tuple(f.name for f in fields(cls))

    def kernel(self):
        """The limits :class:`autograder.sandbox.SandboxSpec` applies to a kernel, as a dict."""
        return {name: getattr(self, name)
                for name in ("memory_mb", "cpu_seconds", "max_processes", "max_file_mb")}


# --------------------------------------------------------------------------- reasons
#: A notebook (or the whole submission) could not be graded: it scores zero.
NOT_GRADED = "not graded"
#: A test cell lost points.
TEST = "test"
#: A cell stopped with an error or a time-out (the likely cause of failing tests after it).
CELL = "cell"
#: Something the grader noticed or changed (two files handed in, a copied cell ignored...).
NOTE = "note"
REASON_KINDS = (NOT_GRADED, TEST, CELL, NOTE)

_MARK = {NOT_GRADED: "not graded: "}
_KIND_OF_TEXT = re.compile(r"^(test|cell) ([^\s:]+): ")


@dataclass(frozen=True)
class Reason:
    """Why points were lost (or what the grader changed), in words, with its kind.

    Attributes
    ----------
    text : str
        One line, for the instructor and the student.
    kind : str
        One of :data:`REASON_KINDS`.
    notebook : str, optional
        The notebook it concerns; None for the whole submission.
    cell : str, optional
        The grade_id of the cell it concerns.
    """

    text: str
    kind: str = NOTE
    notebook: str | None = None
    cell: str | None = None

    def __post_init__(self):
        if self.kind not in REASON_KINDS:
            raise ValueError(f"reason kind must be one of {REASON_KINDS}, got {self.kind!r}")

    def line(self):
        """The reason as a gradebook comment shows it (without ``Autograder: ``): the text,
        behind ``not graded: `` when the notebook could not be graded."""
        return _MARK.get(self.kind, "") + self.text

    @classmethod
    def from_line(cls, line):
        """The reason of a gradebook line made by :meth:`line` (``notebook`` is not kept there;
        ``test``/``cell`` kinds are known by the text :func:`autograder.reasons.cell_reasons`
        writes, ``test <id>: ...``, ``cell <id>: ...``)."""
        mark = _MARK[NOT_GRADED]
        if line.startswith(mark):
            return cls(line[len(mark):], NOT_GRADED)
        m = _KIND_OF_TEXT.match(line)
        return cls(line, m.group(1), cell=m.group(2)) if m else cls(line, NOTE)

    def not_graded(self):
        """The same reason, as why its notebook could not be graded."""
        return replace(self, kind=NOT_GRADED)


# --------------------------------------------------------------------------- the job
@dataclass(frozen=True)
class NotebookCells:
    """The cells of one notebook that the gradebook holds a row for.

    Attributes
    ----------
    grades : tuple of str
        grade_ids of the graded cells (tests, written answers, tasks): each has a grade.
    solutions : tuple of str
        grade_ids of the solution cells (and tasks): each has a comment, where reasons go.
    """

    grades: tuple = ()
    solutions: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "grades", tuple(self.grades))
        object.__setattr__(self, "solutions", tuple(self.solutions))


@dataclass(frozen=True)
class GradingJob:
    """One student's grading, as the supervisor hands it to a worker process.

    Attributes
    ----------
    course_root : str
        The course folder (for its config, its ``source/`` and ``checks/``).
    assignment, student : str
    staged : str
        The staged submission, ``submitted/<student>/<assignment>/``.
    scratch : str
        An empty folder private to this job: the scratch course, ``result.json``, the log.
    template_db : str
        A gradebook with the assignment and no students.
    cells : dict of str to NotebookCells
        The assignment's notebooks and their cells, in order.
    cell_timeout : float
        Seconds per cell (nbgrader's ``Execute.timeout``).
    limits : Limits
    sandbox_uid : int, optional
        The user id of this job's sandboxed kernel; None runs the kernel without the sandbox.
    problems : tuple of Reason
        What staging found (two files handed in, a zip without a notebook...).
    fingerprint : str
        What decides the grade, hashed (for ``--resume``).
    term_key : str
        The course's term key (``c.TermKey.term_key``): with the assignment and the student id
        it fixes the student's variant.
    """

    course_root: str
    assignment: str
    student: str
    staged: str
    scratch: str
    template_db: str
    cells: dict
    cell_timeout: float
    limits: Limits = field(default_factory=Limits)
    sandbox_uid: int | None = None
    problems: tuple = ()
    fingerprint: str = ""
    term_key: str = ""

    @property
    def notebooks(self):
        """The notebook names, in order."""
        return list(self.cells)

    @property
    def result_path(self):
        return f"{self.scratch}/result.json"

    @property
    def log_path(self):
        return f"{self.scratch}/worker.log"

    def to_json(self):
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        data["cells"] = {name: NotebookCells(**c) for name, c in data["cells"].items()}
        data["limits"] = Limits(**data["limits"])
        data["problems"] = tuple(Reason(**r) for r in data["problems"])
        return cls(**data)


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class GradeResult:
    """The autograder's score of one graded cell.

    Attributes
    ----------
    auto_score : float or None
        None for a written answer left to the instructor.
    needs_manual_grade : bool
    """

    auto_score: float | None = 0.0
    needs_manual_grade: bool = False


@dataclass(frozen=True)
class NotebookResult:
    """What grading one notebook gave.

    Attributes
    ----------
    name : str
    status : str
        ``"graded"``, ``"not graded"`` (nbgrader or the kernel failed), ``"missing"`` or
        ``"invalid"`` (not a notebook).
    grades : dict of str to GradeResult
        Every graded cell of the notebook.
    comments : dict of str to str or None
        Every solution cell's comment: nbgrader's own, then the reason lines.
    reasons : tuple of Reason
        The reasons of this notebook (for a notebook not graded: why, each ``NOT_GRADED``).
    late_penalty : float, optional
    """

    name: str
    status: str
    grades: dict
    comments: dict
    reasons: tuple = ()
    late_penalty: float | None = None

    @property
    def graded(self):
        return self.status == "graded"

    @classmethod
    def not_graded(cls, name, cells, reasons, status="not graded"):
        """A notebook that scores zero for ``reasons`` (each made ``NOT_GRADED``)."""
        from .reasons import comment_lines

        reasons = tuple(r.not_graded() for r in reasons)
        text = "\n".join(comment_lines(reasons)) or None
        return cls(name=name, status=status,
                   grades={g: GradeResult(0.0, False) for g in cells.grades},
                   comments={s: text for s in cells.solutions}, reasons=reasons)

    @classmethod
    def from_dict(cls, data):
        return cls(**dict(data, grades={k: GradeResult(**g) for k, g in data["grades"].items()},
                          reasons=tuple(Reason(**r) for r in data["reasons"])))


@dataclass(frozen=True)
class StudentResult:
    """What grading one student's submission gave (the worker's ``result.json``).

    Attributes
    ----------
    student, assignment : str
    notebooks : tuple of NotebookResult
        One per notebook of the assignment, in order.
    reasons : tuple of Reason
        Every reason found, in order.
    timestamp : str, optional
        The submission's time (ISO 8601), if nbgrader knew it.
    autograded : str, optional
        The scratch folder of the autograded notebooks.
    nbgrader_log : str
        The end of nbgrader's log.
    """

    student: str
    assignment: str
    notebooks: tuple
    reasons: tuple = ()
    timestamp: str | None = None
    autograded: str | None = None
    nbgrader_log: str = ""

    @classmethod
    def not_graded(cls, job, reasons, status=None):
        """Every notebook of ``job`` scores zero, for ``reasons``.

        Parameters
        ----------
        job : GradingJob
        reasons : sequence of Reason or str
        status : dict, optional
            Notebook name to its status (``"not graded"`` by default).
        """
        reasons = tuple(r if isinstance(r, Reason) else Reason(r) for r in reasons)
        notebooks = tuple(
            NotebookResult.not_graded(name, cells, reasons, (status or {}).get(name, "not graded"))
            for name, cells in job.cells.items())
        return cls(job.student, job.assignment, notebooks, reasons)

    def to_json(self):
        return json.dumps(asdict(self), indent=1, default=str)

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        return cls(**dict(data, notebooks=tuple(NotebookResult.from_dict(n) for n in data["notebooks"]),
                          reasons=tuple(Reason(**r) for r in data["reasons"])))
