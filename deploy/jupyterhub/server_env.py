"""Build the environment of the class hub's servers: ``python deploy/jupyterhub/server_env.py DIR``.

Every user's server runs as that user, so its Python must be one every user can run (the
repository's ``.venv`` may be built from a Python in a private folder, such as pyenv's under
``/root``): ``--python`` (default ``/usr/bin/python3``) makes a virtual environment in ``DIR``
with

* the student install: a wheel of ``lstm_core`` alone (built as the book builds its wheel) with
  the extras ``--extras`` (``notebook,keras``: JupyterLab, and TensorFlow for the Keras
  notebook and chapters);
* nbgrader, for the Assignments tab (and, for instructors, the formgrader);
* JupyterHub's ``jupyterhub-singleuser``.

Nothing of ``autograder/`` or ``course/`` goes in: a student cannot import the grader. The
instructors' servers use the same environment with ``DIR/../grader`` on ``PYTHONPATH``, a
folder that holds only a link to the repository's ``autograder`` package (made here too).

``make hub-setup`` runs it (``HUB_STUDENT_EXTRAS=notebook`` leaves TensorFlow out,
``HUB_PYTHON=...`` picks the Python).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: What a server needs beside the wheel (the same pins as pyproject.toml's extras).
SERVER_REQUIREMENTS = ("nbgrader>=0.9.6,<0.10", "jupyterhub>=5.2,<7")


def build_wheel(dest: Path) -> Path:
    """The wheel of ``lstm_core`` alone (no grader, no course), built into ``dest`` by the
    book's own builder (``_ext/student_wheel.py``)."""
    sys.path.insert(0, str(REPO / "_ext"))
    from student_wheel import build_student_wheel

    return build_student_wheel(REPO, dest)


def grader_path(env_dir: Path) -> Path:
    """The folder the instructors' servers have on ``PYTHONPATH``: ``autograder`` alone."""
    folder = env_dir.parent / "grader"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "autograder"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(REPO / "autograder", target_is_directory=True)
    return folder


def create(env_dir: Path, extras: str, python: str) -> Path:
    """Create (or update) the servers' virtual environment.

    Parameters
    ----------
    env_dir : Path
        Where the environment goes (``.venv/hub/server`` from ``make hub-setup``).
    extras : str
        The extras of the student install, comma-separated (``notebook,keras``).
    python : str
        The interpreter the environment is made from (every user must be able to run it).

    Returns
    -------
    python : Path
        The environment's interpreter.
    """
    if not (env_dir / "bin" / "python").exists():
        subprocess.run([python, "-m", "venv", str(env_dir)], check=True)
    env_python = env_dir / "bin" / "python"
    wheel = build_wheel(env_dir / "wheel")
    subprocess.run([str(env_python), "-m", "pip", "install", "--quiet", "--force-reinstall",
                    "--no-deps", str(wheel)], check=True)
    subprocess.run([str(env_python), "-m", "pip", "install", "--quiet",
                    f"{wheel}[{extras}]", *SERVER_REQUIREMENTS], check=True)
    leaked = subprocess.run([str(env_python), "-c", "import autograder"], capture_output=True,
                            cwd=env_dir)  # not the repository, where ./autograder is importable
    if leaked.returncode == 0:
        raise SystemExit(f"{env_dir}: the grader is importable in the students' environment")
    grader_path(env_dir)
    return env_python


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="the environment's folder")
    parser.add_argument("--extras", default="notebook,keras",
                        help="extras of the student install (default: notebook,keras)")
    parser.add_argument("--python", default="/usr/bin/python3",
                        help="the Python to build it from (default /usr/bin/python3)")
    args = parser.parse_args(argv)
    python = create(args.dir.absolute(), args.extras, args.python)
    print(f"the servers' environment is ready: {python}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
