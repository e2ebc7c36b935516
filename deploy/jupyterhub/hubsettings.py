"""The settings of one class's hub: a small TOML file that every part of the hub reads.

``jupyterhub_config.py`` (through ``LSTM_HUB_SETTINGS``), ``hubctl.py`` (``--state DIR``, the
file being ``DIR/hub.toml``) and the tests read the same :class:`HubSettings`. A deployment
copies ``hub.example.toml`` and edits it; the demo writes its own.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
#: The per-role Jupyter configuration (``JUPYTER_CONFIG_PATH`` of each server).
ROLES_DIR = HERE / "roles"
ROLES = ("instructor", "student")
#: The JupyterHub group whose servers are instructors' (formgrader and the course).
INSTRUCTOR_GROUP = "instructors"
#: The folder of each home that holds the book's notebooks; the book's JupyterHub launch
#: button opens ``<hub>/hub/user-redirect/lab/tree/<BOOK_FOLDER>/<page>.ipynb``
#: (``_ext/lstm_book.py`` has the same name, a test holds them equal).
BOOK_FOLDER = "lstm-book"
SETTINGS_FILE = "hub.toml"
SETTINGS_ENV = "LSTM_HUB_SETTINGS"


@dataclass(frozen=True)
class HubSettings:
    """One class's hub.

    Attributes
    ----------
    state : Path
        The hub's own folder, readable by root only: ``hub.toml``, JupyterHub's database and
        cookie secret, pid files, the log, the demo's passwords.
    exchange : Path
        nbgrader's exchange root (``Exchange.root``), shared by every server of the class.
    course : Path
        The instructor's course folder (made by ``python -m autograder init``), in the first
        instructor's home.
    course_id : str
        nbgrader's course id (the course folder's ``nbgrader_config.py`` says the same).
    instructors, students : tuple of str
        Unix user names; the first instructor owns the course and the exchange's course folder.
    unix_group : str
        The Unix group of the instructors: students' submissions are readable by it only.
    ip, port : str, int
        Where the hub is served (the proxy's public address).
    hub_port, proxy_api_port : int
        The hub's and the proxy's internal ports (on 127.0.0.1).
    authenticator : str
        JupyterHub's ``authenticator_class`` (``"pam"``: the users' Unix passwords).
    server_env : Path
        The virtual environment of every user's server (``server_env.py``): the student install,
        nbgrader, ``jupyterhub-singleuser``; built from a Python every user can run.
    grader_path : Path
        A folder that holds only the grader (``autograder``), on the instructors' ``PYTHONPATH``.
    grading_env : Path
        The environment root runs JupyterHub and the grader from (the repository's ``.venv``,
        with the ``grader``, ``keras`` and ``hub`` extras).
    proxy : Path
        configurable-http-proxy (installed from npm by ``make hub-setup``).
    book : Path or None
        The book's notebooks, copied into ``~/lstm-book/chapters/`` of each user when a server
        starts (only files not there yet); None for none.
    home_base : Path or None
        Where ``hubctl.py up --create-users`` makes the homes (None: the system's ``/home``).
    """

    state: Path
    exchange: Path
    course: Path
    course_id: str
    instructors: tuple[str, ...]
    students: tuple[str, ...]
    unix_group: str = "lstm-instructors"
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    authenticator: str = "pam"
    server_env: Path = REPO / ".venv" / "hub" / "server"
    grader_path: Path = REPO / ".venv" / "hub" / "grader"
    grading_env: Path = REPO / ".venv"
    proxy: Path = REPO / ".venv" / "hub" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
    book: Path | None = REPO / "chapters"
    home_base: Path | None = None

    def __post_init__(self):
        for name in ("state", "exchange", "course", "server_env", "grader_path", "grading_env",
                     "proxy", "book", "home_base"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value))
        object.__setattr__(self, "instructors", tuple(self.instructors))
        object.__setattr__(self, "students", tuple(self.students))
        if not self.instructors:
            raise ValueError("a hub needs at least one instructor (instructors = [...])")
        both = set(self.instructors) & set(self.students)
        if both:
            raise ValueError(f"users both instructor and student: {sorted(both)}")

    @property
    def url(self) -> str:
        """The hub's public URL."""
        return f"http://{self.ip}:{self.port}"

    @property
    def owner(self) -> str:
        """The instructor who owns the course folder and the exchange's course folder."""
        return self.instructors[0]

    @property
    def users(self) -> tuple[str, ...]:
        return self.instructors + self.students

    def role(self, user: str) -> str:
        """``"instructor"`` or ``"student"``; ValueError for a user not in the class."""
        if user in self.instructors:
            return "instructor"
        if user in self.students:
            return "student"
        raise ValueError(f"{user!r} is neither an instructor nor a student of this hub")

    @property
    def server_python(self) -> Path:
        return self.server_env / "bin" / "python"

    def environment(self, role: str) -> dict[str, str]:
        """The environment of a server of ``role`` (and of nbgrader run for that role)."""
        if role not in ROLES:
            raise ValueError(f"role: expected one of {ROLES}, got {role!r}")
        env = {
            "PATH": f"{self.server_env / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "JUPYTER_CONFIG_PATH": str(ROLES_DIR / role),
            "LSTM_HUB_EXCHANGE": str(self.exchange),
            "LSTM_HUB_COURSE_ID": self.course_id,
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "OPENBLAS_NUM_THREADS": "1",  # many servers share the cores
        }
        if self.book is not None:
            env["LSTM_HUB_BOOK"] = str(self.book)
        if role == "instructor":
            env["LSTM_HUB_COURSE"] = str(self.course)
            env["PYTHONPATH"] = str(self.grader_path)
        return env

    def to_toml(self) -> str:
        """The settings as TOML (what :func:`load` reads back)."""
        lines = []
        for key, value in asdict(self).items():
            if value is None:
                continue
            if isinstance(value, (tuple, list)):
                text = "[" + ", ".join(_toml_str(v) for v in value) + "]"
            elif isinstance(value, int):
                text = str(value)
            else:
                text = _toml_str(str(value))
            lines.append(f"{key} = {text}")
        return "\n".join(lines) + "\n"

    def save(self) -> Path:
        """Write ``state/hub.toml`` (the state folder is made, root-only)."""
        self.state.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state, 0o700)
        path = self.state / SETTINGS_FILE
        path.write_text(self.to_toml(), encoding="utf-8")
        return path

    def with_(self, **changes) -> "HubSettings":
        return replace(self, **changes)


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def load(path: str | os.PathLike) -> HubSettings:
    """Read a settings file (``hub.toml``), or ``DIR/hub.toml`` for a folder."""
    path = Path(path)
    if path.is_dir():
        path = path / SETTINGS_FILE
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    known = {f.name for f in fields(HubSettings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path}: unknown settings {unknown}; expected some of {sorted(known)}")
    data.setdefault("state", str(path.parent))
    return HubSettings(**data)
