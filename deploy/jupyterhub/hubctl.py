"""``hubctl.py``: start, run a term on, and stop an LSTM course's class hub (as root).

    sudo .venv/bin/python deploy/jupyterhub/hubctl.py up --demo     # the demo class (deploy/jupyterhub/demo)
    sudo .venv/bin/python deploy/jupyterhub/hubctl.py release lesson-exercises
    sudo .venv/bin/python deploy/jupyterhub/hubctl.py collect lesson-exercises
    sudo .venv/bin/python deploy/jupyterhub/hubctl.py grade lesson-exercises --jobs 2
    sudo .venv/bin/python deploy/jupyterhub/hubctl.py return lesson-exercises
    sudo .venv/bin/python deploy/jupyterhub/hubctl.py export --to grades.csv
    sudo .venv/bin/python deploy/jupyterhub/hubctl.py down [--purge]

Every command works on the hub whose ``hub.toml`` is in ``--state DIR`` (default: the demo's,
``/var/lib/lstm-course-hub-demo/hub``). For a real class, copy ``hub.example.toml`` into a
state folder of its own, edit it, make the Unix users, and run ``up --state DIR``.
"""

from __future__ import annotations

import argparse
import secrets
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import lifecycle  # noqa: E402
import term  # noqa: E402
import unixusers  # noqa: E402
from hubsettings import HubSettings, load  # noqa: E402

DEMO_ROOT = Path("/var/lib/lstm-course-hub-demo")
DEMO_STATE = DEMO_ROOT / "hub"
DEMO_INSTRUCTOR = "demo-teacher"
DEMO_STUDENTS = ("demo-alice", "demo-bob", "demo-carol")
DEMO_COURSE_ID = "lstm-demo"
PASSWORDS = "passwords.txt"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_settings(port: int, root: Path = DEMO_ROOT) -> HubSettings:
    """The demo class: one instructor, three students, everything on 127.0.0.1."""
    home = Path("/home") / DEMO_INSTRUCTOR
    return HubSettings(state=root / "hub", exchange=root / "exchange",
                       course=home / DEMO_COURSE_ID, course_id=DEMO_COURSE_ID,
                       instructors=(DEMO_INSTRUCTOR,), students=DEMO_STUDENTS,
                       ip="127.0.0.1", port=port, hub_port=free_port(),
                       proxy_api_port=free_port(), home_base=Path("/home"))


def demo_passwords(settings: HubSettings) -> dict[str, str]:
    """The demo users' passwords: kept in ``state/passwords.txt`` (root only), made once."""
    path = settings.state / PASSWORDS
    if path.exists():
        pairs = (line.split(" ", 1) for line in path.read_text().splitlines() if line.strip())
        return {name: password for name, password in pairs}
    passwords = {name: secrets.token_urlsafe(9) for name in settings.users}
    settings.state.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text("".join(f"{n} {p}\n" for n, p in passwords.items()))
    return passwords


def cmd_up(args) -> int:
    state = Path(args.state)
    if args.demo and not (state / "hub.toml").exists():
        settings = demo_settings(args.port or 8000, state.parent)
    else:
        settings = load(state)
    passwords = demo_passwords(settings) if args.demo else None
    lifecycle.prepare(settings, passwords)
    pid = lifecycle.start(settings)
    print(f"the class hub is up (pid {pid}): open {settings.url}/hub/login")
    print(f"  instructors: {', '.join(settings.instructors)}; course {settings.course}")
    print(f"  students: {', '.join(settings.students)}")
    if passwords:
        for name, password in passwords.items():
            print(f"  log in as {name:<14} password {password}")
        print(f"  (the passwords are in {settings.state / PASSWORDS})")
    stop = ("sudo deploy/jupyterhub/demo down" if args.demo
            else f"sudo {sys.executable} {Path(__file__)} --state {settings.state} down")
    print(f"stop it with: {stop}")
    return 0


def cmd_down(args) -> int:
    settings = load(args.state)
    stopped = lifecycle.stop(settings)
    print("the hub is stopped" if stopped.hub else "the hub was not running")
    for line in stopped.leftovers:
        print(f"  ended a leftover process: {line}")
    if args.purge:
        lifecycle.remove(settings)
        if settings.state.parent == DEMO_ROOT and not any(DEMO_ROOT.iterdir()):
            DEMO_ROOT.rmdir()
        print("removed the class's users (with their homes and the course), the exchange "
              "and the hub's state")
    return 0


def cmd_status(args) -> int:
    settings = load(args.state)
    up = lifecycle.running(settings)
    print(f"{settings.url}: {'running' if up else 'stopped'}")
    for user in settings.users:
        procs = [p for p in lifecycle.class_processes(settings)
                 if unixusers.exists(user) and p.uids().real == unixusers.uid_of(user)]
        print(f"  {settings.role(user):<10} {user:<16} {len(procs)} processes")
    return 0 if up else 1


def cmd_term(args) -> int:
    settings = load(args.state)
    if args.command == "release":
        print(term.release(settings, args.assignments))
    elif args.command == "collect":
        print(term.collect(settings, args.assignment))
    elif args.command == "grade":
        print(term.grade(settings, args.assignment, jobs=args.jobs))
    elif args.command == "return":
        print(term.return_feedback(settings, args.assignment))
    elif args.command == "export":
        print(f"wrote {term.export(settings, args.to)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hubctl.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--state", default=str(DEMO_STATE), metavar="DIR",
                        help=f"the hub's state folder, with hub.toml (default {DEMO_STATE})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("up", help="prepare (users' group, course, exchange) and start the hub")
    p.add_argument("--demo", action="store_true",
                   help="the demo class: make its Unix users with passwords first")
    p.add_argument("--port", type=int, default=None, help="the demo's port (default 8000)")
    p.set_defaults(func=cmd_up)
    p = sub.add_parser("down", help="stop the hub, every server and the proxy")
    p.add_argument("--purge", action="store_true",
                   help="also remove the users the hub made (homes, course), the exchange, the state")
    p.set_defaults(func=cmd_down)
    sub.add_parser("status", help="is the hub running; processes per user").set_defaults(func=cmd_status)
    p = sub.add_parser("release", help="generate and release assignments to the exchange")
    p.add_argument("assignments", nargs="+", metavar="ASSIGNMENT")
    p.set_defaults(func=cmd_term)
    for name, text in (("collect", "collect the submissions from the exchange"),
                       ("grade", "grade the collected submissions (sandboxed)"),
                       ("return", "write feedback and release it to the students")):
        p = sub.add_parser(name, help=text)
        p.add_argument("assignment", metavar="ASSIGNMENT")
        if name == "grade":
            p.add_argument("--jobs", "-j", type=int, default=1, metavar="N")
        p.set_defaults(func=cmd_term)
    p = sub.add_parser("export", help="export the grades as CSV")
    p.add_argument("--to", type=Path, default=None, metavar="FILE")
    p.set_defaults(func=cmd_term)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (lifecycle.HubError, unixusers.UserError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
