"""The student's wheel: ``lstm_core`` alone (no grader, no course), built offline.

One builder for the two places that hand it out: the book (``_ext/lstm_book.py`` writes it into
``_build/html/install/``) and the class hub's servers (``deploy/jupyterhub/server_env.py``). It
builds from a copy of the package and the files its metadata names, with the build tools of the
running environment (``--no-build-isolation``: no network, nothing written into the checkout).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["WHEEL_SOURCES", "build_student_wheel"]

#: What the wheel is built from: lstm_core and the files its metadata names.
WHEEL_SOURCES = ("pyproject.toml", "README.md", "lstm_core")


def build_student_wheel(repo, dest):
    """Build the wheel of ``lstm_core`` from the checkout ``repo`` into ``dest``.

    Parameters
    ----------
    repo, dest : path-like
        The repository, and the folder the wheel goes to (created; older wheels there are
        removed).

    Returns
    -------
    wheel : pathlib.Path

    Raises
    ------
    RuntimeError
        If pip cannot build it (pip's own message).
    """
    repo, dest = Path(repo), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in WHEEL_SOURCES:
            src = repo / name
            if src.is_dir():
                shutil.copytree(src, Path(tmp) / name,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(src, Path(tmp) / name)
        for old in dest.glob("*.whl"):
            old.unlink()
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                               "--no-build-isolation", "--wheel-dir", str(dest), tmp],
                              cwd=tmp, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"the student's wheel could not be built:\n{proc.stderr}")
    (wheel,) = dest.glob("*.whl")
    return wheel
