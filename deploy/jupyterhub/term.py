"""The instructor's steps of a term on the class hub, each run as the right user.

Everything nbgrader does through the exchange runs as the course's instructor (the owner of the
course folder and of the exchange's course folder); grading runs as root, because the grader
starts each student's kernel in its sandbox under a user id of its own, and the course's files
are given back to the instructor afterwards.

======================  ==========================================================  ==========
step                    what runs                                                   as
======================  ==========================================================  ==========
:func:`enroll`          ``nbgrader db student import`` (the class's students)       instructor
:func:`release`         ``python -m autograder release`` (generate, leak check),   instructor
                        ``nbgrader release_assignment``
:func:`collect`         ``nbgrader collect``                                       instructor
:func:`grade`           ``python -m autograder grade A <course>/submitted``        root
:func:`return_feedback` ``python -m autograder feedback``, ``nbgrader               instructor
                        release_feedback``
:func:`export`          ``python -m autograder export``                            instructor
======================  ==========================================================  ==========
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import unixusers
from hubsettings import HubSettings


def _python(settings: HubSettings) -> str:
    """The instructor's Python (the servers' environment, the grader on ``PYTHONPATH``)."""
    return str(settings.server_python)


def _nbgrader(settings: HubSettings) -> str:
    return str(settings.server_env / "bin" / "nbgrader")


def as_instructor(settings: HubSettings, argv: list[str], timeout: float = 900
                  ) -> subprocess.CompletedProcess:
    """Run ``argv`` in the course folder as its instructor, with the instructor's environment."""
    return unixusers.run_as(settings.owner, argv, env=settings.environment("instructor"),
                            cwd=settings.course, timeout=timeout)


def enroll(settings: HubSettings) -> str:
    """Put the class's students into the gradebook (``nbgrader db student import``), so that
    the export has a row for every student, with or without a submission."""
    roster = settings.course / "roster.csv"
    roster.write_text("id\n" + "".join(f"{s}\n" for s in settings.students), encoding="utf-8")
    entry = unixusers.pwd.getpwnam(settings.owner)
    os.chown(roster, entry.pw_uid, entry.pw_gid)
    proc = as_instructor(settings, [_nbgrader(settings), "db", "student", "import", str(roster)])
    return proc.stdout + proc.stderr


def release(settings: HubSettings, assignments: list[str]) -> str:
    """Generate the student versions (checked for leaks) and put them into the exchange."""
    out = as_instructor(settings, [_python(settings), "-m", "autograder", "release", "--no-html",
                                   "--course", str(settings.course), *assignments]).stdout
    for name in assignments:
        proc = as_instructor(settings, [_nbgrader(settings), "release_assignment", name,
                                        "--force"])
        out += proc.stdout + proc.stderr
    return out


def collect(settings: HubSettings, assignment: str) -> str:
    """Copy every student's latest submission from the exchange to ``<course>/submitted``."""
    proc = as_instructor(settings, [_nbgrader(settings), "collect", assignment, "--update"])
    return proc.stdout + proc.stderr


def give_back(settings: HubSettings) -> None:
    """Make every file of the course folder the instructor's again (after root graded)."""
    entry = unixusers.pwd.getpwnam(settings.owner)
    for folder, dirs, files in os.walk(settings.course):
        for name in [*dirs, *files]:
            os.chown(Path(folder) / name, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    os.chown(settings.course, entry.pw_uid, entry.pw_gid)


def grade(settings: HubSettings, assignment: str, jobs: int = 1, timeout: float = 3600) -> str:
    """Grade the collected submissions with ``python -m autograder grade`` (sandboxed, as root)."""
    env = {**settings.environment("instructor"), "HOME": "/root",
           "PATH": f"{settings.grading_env / 'bin'}:/usr/local/bin:/usr/bin:/bin"}
    env.pop("PYTHONPATH")
    try:
        proc = subprocess.run(
            [str(settings.grading_env / "bin" / "python"), "-m", "autograder", "grade", assignment,
             str(settings.course / "submitted"), "--course", str(settings.course),
             "--jobs", str(jobs)],
            env=env, cwd=settings.course, capture_output=True, text=True, timeout=timeout)
    finally:
        give_back(settings)
    if proc.returncode != 0:
        raise unixusers.UserError(f"grading {assignment} failed ({proc.returncode})\n"
                                  f"{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def return_feedback(settings: HubSettings, assignment: str) -> str:
    """Write each student's feedback and put it into the exchange for them to fetch."""
    out = as_instructor(settings, [_python(settings), "-m", "autograder", "feedback", assignment,
                                   "--course", str(settings.course)]).stdout
    proc = as_instructor(settings, [_nbgrader(settings), "release_feedback", assignment])
    return out + proc.stdout + proc.stderr


def export(settings: HubSettings, to: Path | None = None) -> Path:
    """Export the gradebook as CSV into ``<course>/grades.csv`` (as the instructor), and copy it
    to ``to`` if given (as root, so any folder will do); return the file written last."""
    written = settings.course / "grades.csv"
    as_instructor(settings, [_python(settings), "-m", "autograder", "export", "--to", str(written),
                             "--course", str(settings.course)])
    if to is None:
        return written
    shutil.copyfile(written, to)
    return Path(to)
