"""Set up, start and stop a class hub (as root): users, the course, the exchange, JupyterHub.

``prepare`` makes what the hub needs (the instructors' Unix group, the course with
``python -m autograder init``, the exchange's folders with their owners and modes), checks
that every user can run their role's environment and puts the students into the gradebook; ``start`` runs JupyterHub in its own session
and waits until it answers; ``stop`` ends it (JupyterHub stops every server and the proxy) and
ends whatever of the class's processes is left; ``remove`` deletes what ``prepare`` made.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

import term
import unixusers
from hubsettings import HERE, REPO, ROLES_DIR, HubSettings

CONFIG = HERE / "jupyterhub_config.py"
PID_FILE = "hub.pid"
#: In the state folder when ``prepare`` made the instructors' group (``remove`` then deletes it).
GROUP_MARK = "group-made-by-hub"
LOG_FILE = "jupyterhub.log"
#: Modes of the exchange's course folder (nbgrader's own, made here with the right group):
#: ``inbound`` can be written but not listed by students, and is set-group-ID so that
#: submissions belong to the instructors' group.
EXCHANGE_MODES = {"": 0o2755, "outbound": 0o2755, "inbound": 0o2733, "feedback": 0o0711}


class HubError(RuntimeError):
    """The hub cannot be prepared, started or stopped as asked."""


def make_course(settings: HubSettings) -> None:
    """Make the course folder with ``python -m autograder init`` as its instructor (once)."""
    if (settings.course / "nbgrader_config.py").exists():
        return
    unixusers.run_as(settings.owner,
                     [str(settings.server_python), "-m", "autograder", "init", str(settings.course),
                      "--course-id", settings.course_id],
                     env=settings.environment("instructor"))
    os.chmod(settings.course, 0o700)


def make_exchange(settings: HubSettings) -> Path:
    """Make nbgrader's exchange root (1777) and the course's folder in it.

    Returns
    -------
    course_dir : Path
        ``<exchange>/<course_id>``.
    """
    settings.exchange.mkdir(parents=True, exist_ok=True)
    os.chown(settings.exchange, 0, 0)
    os.chmod(settings.exchange, 0o1777)  # nbgrader wants it writable by all; sticky
    uid = unixusers.uid_of(settings.owner)
    gid = unixusers.grp.getgrnam(settings.unix_group).gr_gid
    course_dir = settings.exchange / settings.course_id
    for sub, mode in EXCHANGE_MODES.items():
        path = course_dir / sub if sub else course_dir
        path.mkdir(exist_ok=True)
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    return course_dir


def check_access(settings: HubSettings) -> None:
    """Fail unless every user can run their role's Python and read the role's configuration."""
    for user in settings.users:
        role = settings.role(user)
        python = settings.server_python
        probe = unixusers.run_as(
            user, [str(python), "-c", "import sys; open(sys.argv[1]).close()",
                   str(ROLES_DIR / role / "nbgrader_config.py")],
            env=settings.environment(role), check=False, timeout=120)
        if probe.returncode != 0:
            raise HubError(
                f"{user} cannot run {python} or read {ROLES_DIR / role}: every folder above "
                f"them must be readable and searchable by all (chmod o+rx); {probe.stderr.strip()}")


def check_engine(settings: HubSettings) -> None:
    """Fail unless the servers' ``lstm_core`` is the repository's (the one the grader runs)."""
    found = subprocess.run([str(settings.server_python), "-c",
                            "import lstm_core, os; print(os.path.dirname(lstm_core.__file__))"],
                           capture_output=True, text=True, cwd="/", timeout=120)
    installed = Path(found.stdout.strip())
    repo = REPO / "lstm_core"
    stale = [p.name for p in sorted(repo.glob("*.py"))
             if not (installed / p.name).is_file() or (installed / p.name).read_bytes() != p.read_bytes()]
    if found.returncode != 0 or stale:
        raise HubError(f"the servers' lstm_core ({installed}) is not the repository's "
                       f"({', '.join(stale[:5]) or found.stderr.strip()}): run `make hub-setup`")


def prepare(settings: HubSettings, passwords: dict[str, str] | None = None) -> None:
    """Make everything the hub needs; with ``passwords``, make those Unix users first."""
    for name, password in (passwords or {}).items():
        unixusers.create_user(name, password, settings.home_base)
    missing = [u for u in settings.users if not unixusers.exists(u)]
    if missing:
        raise HubError(f"no Unix user {missing}: make them first (the demo does)")
    for path, what in ((settings.proxy, "configurable-http-proxy"),
                       (settings.server_env / "bin" / "jupyterhub-singleuser", "the servers' environment"),
                       (settings.grader_path / "autograder", "the grader's folder"),
                       (settings.grading_env / "bin" / "jupyterhub", "JupyterHub")):
        if not path.exists():
            raise HubError(f"{what} is missing ({path}): run `make hub-setup`")
    check_engine(settings)
    settings.save()
    if unixusers.ensure_group(settings.unix_group, list(settings.instructors)):
        (settings.state / GROUP_MARK).write_text(settings.unix_group)
    make_course(settings)
    make_exchange(settings)
    check_access(settings)
    term.enroll(settings)


def _url_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def start(settings: HubSettings, timeout: float = 120) -> int:
    """Start JupyterHub in its own session and wait until its API answers.

    Returns
    -------
    pid : int
        JupyterHub's process id (also in ``state/hub.pid``).
    """
    if running(settings):
        raise HubError(f"the hub of {settings.state} is already running")
    log = open(settings.state / LOG_FILE, "ab")
    env = {"PATH": f"{settings.grading_env / 'bin'}:/usr/local/bin:/usr/bin:/bin",
           "LANG": "C.UTF-8", "LSTM_HUB_SETTINGS": str(settings.state / "hub.toml")}
    proc = subprocess.Popen([str(settings.grading_env / "bin" / "jupyterhub"), "-f",
                             str(CONFIG)], cwd=settings.state, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    (settings.state / PID_FILE).write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while not _url_answers(f"{settings.url}/hub/api/"):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(settings)
            raise HubError(f"the hub did not start; the end of its log:\n{log_tail(settings)}")
        time.sleep(0.5)
    return proc.pid


def log_tail(settings: HubSettings, lines: int = 40) -> str:
    path = settings.state / LOG_FILE
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def hub_process(settings: HubSettings) -> psutil.Process | None:
    path = settings.state / PID_FILE
    if not path.exists():
        return None
    try:
        proc = psutil.Process(int(path.read_text()))
        return proc if any("jupyterhub" in part for part in proc.cmdline()) else None
    except (psutil.Error, ValueError):
        return None


def running(settings: HubSettings) -> bool:
    return hub_process(settings) is not None


def class_processes(settings: HubSettings) -> list[psutil.Process]:
    """Processes of the class's users, and the proxy whose pid file the hub wrote."""
    uids = {unixusers.uid_of(u) for u in settings.users if unixusers.exists(u)}
    found = [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real in uids]
    proxy_pid = settings.state / "proxy.pid"
    if proxy_pid.exists():
        try:
            proxy = psutil.Process(int(proxy_pid.read_text()))
            if any("configurable-http-proxy" in part for part in proxy.cmdline()):
                found.append(proxy)
        except (psutil.Error, ValueError):
            pass
    return found


def _end(processes: list[psutil.Process], timeout: float) -> None:
    for proc in processes:
        try:
            proc.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=timeout)


@dataclass(frozen=True)
class Stopped:
    """What :func:`stop` found: ``hub`` (JupyterHub was running), ``leftovers`` (processes
    that outlived JupyterHub's own clean-up and were ended here, as ``"pid name user"``)."""

    hub: bool
    leftovers: tuple[str, ...]


def stop(settings: HubSettings, timeout: float = 60) -> Stopped:
    """Stop JupyterHub (SIGTERM: it stops every server and the proxy), then any leftover."""
    hub = hub_process(settings)
    if hub is not None:
        hub.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs([hub], timeout=timeout)
        _end(alive, 10)
    left = class_processes(settings)
    described = []
    for proc in left:
        try:
            described.append(f"{proc.pid} {proc.name()} {proc.username()}")
        except psutil.Error:
            pass
    _end(left, 10)
    (settings.state / PID_FILE).unlink(missing_ok=True)
    return Stopped(hub is not None, tuple(described))


def remove(settings: HubSettings) -> None:
    """Delete the exchange, the class's users (those made by the hub) with their homes (the
    course too), the instructors' group (if the hub made it) and the state folder. The hub must
    be stopped."""
    if running(settings):
        raise HubError("stop the hub first")
    if settings.exchange.exists():
        shutil.rmtree(settings.exchange)
    for user in settings.users:
        if unixusers.is_ours(user):
            unixusers.remove_user(user)
    if (settings.state / GROUP_MARK).exists():
        unixusers.remove_group(settings.unix_group)
    if settings.state.exists():
        shutil.rmtree(settings.state)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)
