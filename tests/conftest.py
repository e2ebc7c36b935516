"""Shared fixtures: the book, built once per test session.

``book_build`` runs the real build the way ``make book`` does
(``jupyter-book build -W -n --keep-going``) into a fresh temporary folder, with
every notebook executed (``LSTM_BOOK_EXECUTE=force``: the jupyter-cache is
ignored), then, once the grader exists, releases the graded notebooks into the
built book as ``make book`` does. A failed build fails every test that uses it,
with the end of the build log. Tests use ``book_html`` (the ``_build/html``
folder) or ``book_build`` (that folder plus the log and timings); nothing else
builds the book.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BUILD_TIMEOUT_S = 30 * 60  # the whole book must build in ~5 min on 2 cores; this only stops a hang
RELEASE_TIMEOUT_S = 10 * 60



def toc_docs(toc_path: Path = REPO / "_toc.yml") -> list[str]:
    """Every document of ``_toc.yml`` in reading order (root first), without suffix."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    docs = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                docs.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key))

    for key in ("parts", "chapters", "sections"):
        walk(toc.get(key))
    return [str(Path(d).with_suffix("")) if Path(d).suffix in {".md", ".ipynb"} else d for d in docs]


def doc_source(doc: str) -> Path:
    """The source file of a toc document (``.ipynb`` or ``.md``)."""
    for suffix in (".ipynb", ".md"):
        path = REPO / f"{doc}{suffix}"
        if path.exists():
            return path
    raise FileNotFoundError(f"{doc}: no .ipynb or .md file in {REPO}")


@dataclass
class BookBuild:
    """The result of the session's build."""

    root: Path  # the --path-output folder
    html: Path  # root / "_build" / "html"
    command: list[str]
    log: str
    seconds: float
    release_log: str = ""
    released: list[Path] = field(default_factory=list)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["LSTM_BOOK_EXECUTE"] = "force"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def _tail(text: str, n: int = 200) -> str:
    return "\n".join(text.splitlines()[-n:])


def _release_into(html: Path, env: dict[str, str]) -> tuple[str, list[Path]]:
    """Release the demo course's graded notebooks into ``html/graded`` as ``make book`` does."""
    cmd = [sys.executable, "-m", "autograder", "release", "--html-dir", str(html)]
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=RELEASE_TIMEOUT_S
    )
    log = f"$ {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    if proc.returncode != 0:
        pytest.fail(f"the release failed (exit {proc.returncode}):\n{_tail(log)}", pytrace=False)
    graded = html / "graded"
    return log, sorted(graded.rglob("*.ipynb")) if graded.is_dir() else []


@pytest.fixture(scope="session")
def book_build(tmp_path_factory) -> BookBuild:
    """Build the whole book once per session, every notebook executed."""
    root = tmp_path_factory.mktemp("book")
    jb = BIN / "jupyter-book"
    command = [
        str(jb) if jb.exists() else "jupyter-book",
        "build", "-W", "-n", "--keep-going",
        "--path-output", str(root),
        str(REPO),
    ]  # fmt: skip
    env = _env()
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else str(exc.stdout)
        pytest.fail(f"the book build did not finish in {BUILD_TIMEOUT_S} s:\n{_tail(out)}", pytrace=False)
    seconds = time.perf_counter() - start
    log = f"$ LSTM_BOOK_EXECUTE=force {' '.join(command)}\n{proc.stdout}\n{proc.stderr}"
    (root / "build.log").write_text(log, encoding="utf-8")
    html = root / "_build" / "html"
    if proc.returncode != 0 or not (html / "index.html").exists():
        pytest.fail(
            f"the book build failed (exit {proc.returncode}, {seconds:.0f} s); "
            f"full log: {root / 'build.log'}\n{_tail(log)}",
            pytrace=False,
        )
    release_log, released = _release_into(html, env)
    return BookBuild(root, html, command, log, seconds, release_log, released)


@pytest.fixture(scope="session")
def book_html(book_build) -> Path:
    """The built book's ``_build/html`` folder."""
    return book_build.html
