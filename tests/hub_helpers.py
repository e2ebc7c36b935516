"""Helpers for the class-hub test (``test_hub.py``) and its benchmark (``bench_hub.py``).

A class on a real hub needs real Unix users: :func:`make_class` names them with a random prefix
(``lh3f2a-alice``), puts every home, the exchange and the hub's state under one temporary
folder, and picks free ports on 127.0.0.1. What a student hands in (:func:`answers_for`) is
the course's solution for that student, nothing, or half of it.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy" / "jupyterhub"
sys.path.insert(0, str(DEPLOY))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import lifecycle  # noqa: E402
import unixusers  # noqa: E402
from autograder_helpers import solution_answers  # noqa: E402
from hubclient import HubUser  # noqa: E402
from hubctl import free_port  # noqa: E402
from hubsettings import HubSettings  # noqa: E402

INSTRUCTOR = "teacher"


@dataclass
class HubClass:
    """A class on a hub made for a test: its settings, passwords and logged-in users."""

    settings: HubSettings
    root: Path
    prefix: str
    passwords: dict[str, str]
    users: dict[str, HubUser] = field(default_factory=dict)

    def name(self, short: str) -> str:
        """The Unix user name of ``alice``: ``<prefix>alice``."""
        return self.prefix + short

    def user(self, short: str) -> HubUser:
        """The :class:`HubUser` of ``short`` (logged in through the hub's API once)."""
        if short not in self.users:
            name = self.name(short)
            self.users[short] = HubUser(self.settings.url, name, self.passwords[name]).login()
        return self.users[short]


def make_class(students: list[str], course_id: str = "lstm-hub-test") -> HubClass:
    """Settings of a class of ``students`` (short names) and an instructor, not made yet.

    Everything lives under a new folder of ``/tmp`` (mode 0755, so that the users can reach
    their homes and the exchange); call :func:`lifecycle.prepare` with ``passwords``.
    """
    root = Path(tempfile.mkdtemp(prefix="lstm-hub-test-"))
    os.chmod(root, 0o755)
    prefix = "lh" + secrets.token_hex(2) + "-"
    instructor = prefix + INSTRUCTOR
    settings = HubSettings(
        state=root / "hub", exchange=root / "exchange",
        course=root / "homes" / instructor / course_id, course_id=course_id,
        instructors=(instructor,), students=tuple(prefix + s for s in students),
        unix_group=prefix + "instructors", ip="127.0.0.1", port=free_port(),
        hub_port=free_port(), proxy_api_port=free_port(), home_base=root / "homes")
    passwords = {name: secrets.token_urlsafe(12) for name in settings.users}
    return HubClass(settings, root, prefix, passwords)


# --- what the students hand in ------------------------------------------------------------------
def solution_for(course: Path, assignment: str, student: str) -> dict[str, str]:
    """THE place that picks the solution of ``student``'s variant of ``assignment``.

    A student's variant follows from the course's term key, the assignment and the student id
    (``lstm_core.variants``: on the hub the kernel reads ``JUPYTERHUB_USER``, the grader sets
    the submission's id). The demo course's solutions are written once for every variant (they
    compute with ``VARIANT``), so each student's solution is the course's solution; a course
    whose answers differ per variant would build them here.

    Returns
    -------
    answers : dict
        grade_id -> the source a student writes into that cell.
    """
    return solution_answers(course, assignment)


def answers_for(kind: str, course: Path, assignment: str, student: str) -> dict[str, str]:
    """``"solution"``: the whole solution; ``"blank"``: nothing; ``"half"``: the first half of
    the solution's cells, in notebook order, the others left as released."""
    solution = solution_for(course, assignment, student)
    if kind == "solution":
        return solution
    if kind == "blank":
        return {}
    if kind == "half":
        keep = list(solution)[: len(solution) // 2]
        return {gid: solution[gid] for gid in keep}
    raise ValueError(f"kind: expected solution, blank or half, got {kind!r}")


def filled(notebook: dict, answers: dict[str, str]) -> dict:
    """The notebook (a contents-API dict) with ``answers`` written into their cells."""
    for cell in notebook["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell["source"] = answers[gid]
    return notebook


# --- files and processes, seen as a user / by the system ----------------------------------------
PROBE = r"""
import json, os, sys
out = {}
for op, path in json.loads(sys.argv[1]):
    try:
        if op == "list":
            os.listdir(path)
        else:
            open(path, "rb").close()
        out[op + " " + path] = "ok"
    except OSError as exc:
        out[op + " " + path] = type(exc).__name__
print(json.dumps(out))
"""


def probe_as(settings: HubSettings, user: str, checks: list[tuple[str, Path]]) -> dict[str, str]:
    """Try each ``("list" | "read", path)`` as ``user``; ``"ok"`` or the error's name each."""
    proc = unixusers.run_as(user, [str(settings.server_python), "-c", PROBE,
                                   json.dumps([(op, str(p)) for op, p in checks])],
                            env={"PATH": "/usr/bin:/bin"}, timeout=60)
    return json.loads(proc.stdout)


def listening_ports(pids: set[int] | None = None) -> dict[int, int]:
    """port -> pid of every TCP socket listening (of ``pids`` only, if given)."""
    found = {}
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and (pids is None or conn.pid in pids):
            found[conn.laddr.port] = conn.pid
    return found


def hub_pids(hub: HubClass) -> set[int]:
    """JupyterHub, the proxy, and every process of the class's users."""
    pids = {p.pid for p in lifecycle.class_processes(hub.settings)}
    hub_proc = lifecycle.hub_process(hub.settings)
    if hub_proc is not None:
        pids |= {hub_proc.pid} | {c.pid for c in hub_proc.children(recursive=True)}
    return pids


# --- a book of one chapter, built as `make book` builds the real one -----------------------------
BOOK_CHAPTER = "chapters/01_introduction"


def build_small_book(dest: Path, hub_url: str | None, timeout: float = 300) -> Path:
    """Build a book of one chapter with the repository's ``_config.yml`` and ``_ext``.

    The chapter is the real first chapter, not executed (``LSTM_BOOK_EXECUTE=off``); the hub's
    address comes in through ``LSTM_BOOK_JUPYTERHUB_URL`` (None: not set). Returns the built
    chapter's HTML file.
    """
    import shutil
    import subprocess

    src = dest / "src"
    (src / "chapters").mkdir(parents=True)
    for name in ("_config.yml", "references.bib", "pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for name in ("_ext", "lstm_core"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / f"{BOOK_CHAPTER}.ipynb", src / f"{BOOK_CHAPTER}.ipynb")
    (src / "_toc.yml").write_text(f"format: jb-book\nroot: {BOOK_CHAPTER}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSTM_BOOK_")}
    env.update(LSTM_BOOK_EXECUTE="off", LSTM_BOOK_JOBS="1")
    if hub_url is not None:
        env["LSTM_BOOK_JUPYTERHUB_URL"] = hub_url
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(jupyter_book), "build", "--path-output", str(dest / "out"), str(src)],
                          capture_output=True, text=True, timeout=timeout, env=env)
    page = dest / "out" / "_build" / "html" / f"{BOOK_CHAPTER}.html"
    if proc.returncode != 0 or not page.exists():
        raise AssertionError(f"the small book did not build ({proc.returncode}):\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return page
