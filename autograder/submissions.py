"""Find the students' submissions and put each into nbgrader's ``submitted/`` layout.

Two ways in:

* nbgrader's own layout, ``SUBMISSIONS/<student>/<assignment>/*.ipynb`` (what ``nbgrader
  collect`` makes, or the course's own ``submitted/`` folder);
* what a learning-management system exports: a folder of one file per student, ``.ipynb`` or
  ``.zip``, whose name starts with the student's id (``alice.ipynb``, ``bob_1234_attempt.zip``).
  The id is the part of the file name before the first ``_`` or space, or what the
  ``--student-pattern`` regular expression's group ``student`` matches.

Nothing here runs student code or parses a notebook: that happens in each student's grading
process. Problems found here (an unreadable zip, two files for one student) become reasons.

Why not ``nbgrader zip_collect``'s plugins, which read LMS exports too: they do not fit what a
grading run must guarantee.

* ``FileNameCollectorPlugin`` *skips* a file whose extension is not in ``valid_ext`` or whose
  name its ``named_regexp`` does not match (a log warning, no record), so that student gets no
  gradebook row at all -- the trap in DESIGN.md; here every file that names a student becomes a
  submission, and what is wrong with it becomes the reason for its zero. It also matches with
  ``re.match`` against the file's absolute path (the folders' names in the way of a pattern
  anchored at the student id) and requires a ``file_id`` group, which a one-file-per-student
  export does not have.
* ``ExtractorPlugin`` unpacks every archive whole, and the archives inside it (``tree=True``),
  with no limit on the unpacked size: one zip bomb fills the grader's disk. Here a zip yields
  only its notebooks, the shallowest of each name, never more than
  :data:`MAX_UNZIPPED_BYTES`, and a zip that cannot be read is a reason, not an error that
  stops the class.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .course import CourseError

__all__ = ["Submission", "discover", "stage", "clean_student_id", "DEFAULT_STUDENT_PATTERN"]

#: The student id at the start of an exported file's name.
DEFAULT_STUDENT_PATTERN = r"^(?P<student>[^_\s]+)"

#: Refuse to unpack zips whose contents add up to more than this many bytes.
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024

_SKIP_PARTS = {"__MACOSX", ".ipynb_checkpoints"}


@dataclass
class Submission:
    """One student's submission before it is staged.

    Attributes
    ----------
    student : str
        The student's id, safe as a folder name.
    origin : Path
        The folder (nbgrader layout) or file (export) the student handed in.
    kind : str
        ``"nbgrader"``, ``"ipynb"``, ``"zip"`` or ``"other"``.
    problems : list of str
        Reasons found before grading.
    """

    student: str
    origin: Path
    kind: str
    problems: list = field(default_factory=list)


def clean_student_id(text):
    """A student id that is safe as a folder name and a gradebook key (``[A-Za-z0-9._@-]``)."""
    cleaned = re.sub(r"[^A-Za-z0-9._@-]+", "-", text).strip("-.")
    return cleaned


def _is_nbgrader_layout(path, assignment):
    return any((d / assignment).is_dir() for d in path.iterdir() if d.is_dir())


def discover(path, assignment, student_pattern=None):
    """The submissions in ``path``, one per student, sorted by student id.

    Parameters
    ----------
    path : path-like
        A folder in nbgrader's layout or a folder of exported files.
    assignment : str
    student_pattern : str, optional
        A regular expression with a group named ``student``, searched in exported file names.

    Returns
    -------
    submissions : list of Submission

    Raises
    ------
    CourseError
        If ``path`` is not a folder, or the pattern has no ``student`` group.
    """
    path = Path(path)
    if not path.is_dir():
        raise CourseError(f"{path} is not a folder of submissions")
    pattern = re.compile(student_pattern or DEFAULT_STUDENT_PATTERN)
    if "student" not in pattern.groupindex:
        raise CourseError("--student-pattern needs a named group: (?P<student>...)")
    found = {}
    if _is_nbgrader_layout(path, assignment):
        for d in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
            student = clean_student_id(d.name)
            if not student:
                continue
            sub = Submission(student, d / assignment, "nbgrader")
            if not (d / assignment).is_dir():
                sub.problems.append(f"no folder {assignment}/ in the submission")
            found[student] = sub
        return [found[s] for s in sorted(found)]

    by_student = {}
    for f in sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")):
        m = pattern.search(f.stem)
        student = clean_student_id(m.group("student")) if m else ""
        if not student:
            continue
        suffix = f.suffix.lower()
        kind = {".ipynb": "ipynb", ".zip": "zip"}.get(suffix, "other")
        by_student.setdefault(student, []).append(Submission(student, f, kind))
    for student, subs in sorted(by_student.items()):
        subs.sort(key=lambda s: (s.origin.stat().st_mtime, s.origin.name))
        chosen = subs[-1]
        if len(subs) > 1:
            chosen.problems.append(
                f"{len(subs)} files for this student ({', '.join(s.origin.name for s in subs)}); "
                f"graded the newest, {chosen.origin.name}")
        if chosen.kind == "other":
            chosen.problems.append(f"{chosen.origin.name} is neither a notebook (.ipynb) nor a .zip")
        found[student] = chosen
    return [found[s] for s in sorted(found)]


def _safe_members(zf):
    total = 0
    for info in zf.infolist():
        name = info.filename
        parts = Path(name).parts
        if info.is_dir() or not parts or name.startswith("/") or ".." in parts:
            continue
        if any(p in _SKIP_PARTS or p.startswith("._") for p in parts):
            continue
        total += info.file_size
        if total > MAX_UNZIPPED_BYTES:
            raise CourseError(f"the zip unpacks to more than {MAX_UNZIPPED_BYTES // 2**20} MB")
        yield info


def _unzip_notebooks(zip_path, dest, notebooks):
    """Copy the notebooks of a zip into ``dest``, flat; return the problems found."""
    problems = []
    try:
        with zipfile.ZipFile(zip_path) as zf:
            members = [i for i in _safe_members(zf) if i.filename.lower().endswith(".ipynb")]
            chosen = {}
            for info in sorted(members, key=lambda i: (len(Path(i.filename).parts), i.filename)):
                name = Path(info.filename).name
                chosen.setdefault(name, info)          # the shallowest of each name
            if not chosen:
                problems.append(f"{zip_path.name} holds no notebook (.ipynb)")
            for name, info in chosen.items():
                with zf.open(info) as src, open(dest / name, "wb") as out:
                    shutil.copyfileobj(src, out)
    except zipfile.BadZipFile:
        problems.append(f"{zip_path.name} is not a valid zip file")
    except CourseError as exc:
        problems.append(f"{zip_path.name}: {exc}")
    return problems


def stage(sub, dest, notebooks):
    """Put a submission into ``dest`` = ``submitted/<student>/<assignment>/``.

    Parameters
    ----------
    sub : Submission
    dest : Path
        Replaced if it exists (a re-submission replaces the earlier one), unless it *is* the
        submission.
    notebooks : list of str
        The assignment's notebook names, without ``.ipynb``.

    Returns
    -------
    problems : list of str
        ``sub.problems`` and any found while staging.
    """
    problems = list(sub.problems)
    dest = Path(dest)
    if sub.kind == "nbgrader" and sub.origin.exists() and dest.exists() \
            and dest.resolve() == sub.origin.resolve():
        return problems
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if sub.kind == "nbgrader":
        if sub.origin.is_dir():
            for item in sub.origin.iterdir():
                if item.name in _SKIP_PARTS or item.is_symlink():
                    continue
                if item.is_dir():
                    shutil.copytree(item, dest / item.name, symlinks=True,
                                    ignore=shutil.ignore_patterns(*_SKIP_PARTS))
                elif item.is_file():
                    shutil.copyfile(item, dest / item.name)
    elif sub.kind == "ipynb":
        name = notebooks[0] + ".ipynb" if len(notebooks) == 1 else sub.origin.name
        shutil.copyfile(sub.origin, dest / name)
    elif sub.kind == "zip":
        problems += _unzip_notebooks(sub.origin, dest, notebooks)
    return problems
