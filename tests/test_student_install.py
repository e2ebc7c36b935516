"""The student's install: the wheel in the built book, in a fresh virtual environment.

A student downloads the wheel from the book and runs the one command the exercises chapter
gives; with that alone (no TensorFlow, no nbgrader, no grader, no solution on disk) the released
NumPy notebooks run, and ``python -m lstm_core.check`` passes them when they are solved and
fails them while they are blank.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder_helpers import (  # noqa: E402
    BEGIN_HIDDEN, BEGIN_SOLUTION, COURSE, END_HIDDEN, END_SOLUTION, fill, read_nb,
    solution_answers,
)

REPO = Path(__file__).resolve().parents[1]
NUMPY_ASSIGNMENTS = ("lesson-exercises", "lstm-from-scratch")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(book_html):
    wheels = sorted((book_html / "install").glob("*.whl"))
    assert len(wheels) == 1, f"one wheel expected in {book_html / 'install'}: {wheels}"
    return wheels[0]


def _student_command(book_html):
    """The pip command the exercises chapter gives (the built page's text)."""
    page = (book_html / "chapters" / "10_exercises.html").read_text()
    found = re.search(r"pip install (?:&quot;|\")?(lstm_course-[^\s\"&<]+\.whl\[notebook\])", page)
    assert found, "the exercises chapter gives no `pip install ...whl[notebook]` command"
    return found.group(1)


def _with_id(path, student):
    """Type ``student`` into the notebook's id cell, as a student off the class's hub does."""
    nb = read_nb(path)
    cells = [c for c in nb.cells if "student-id" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1 and cells[0].source.startswith("STUDENT_ID = "), "one id cell expected"
    cells[0].source = f'STUDENT_ID = "{student}"'
    nbformat.write(nb, str(path))
    return path


@pytest.fixture(scope="module")
def student_env(tmp_path_factory, wheel, book_html):
    """A fresh virtual environment with the student's install, from the wheel in the book."""
    root = tmp_path_factory.mktemp("student")
    venv.EnvBuilder(with_pip=True).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    requirement = _student_command(book_html).replace(wheel.name, str(wheel))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([str(python), "-m", "pip", "install", "--quiet", requirement],
                          capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return python, env


def _hidden_test_lines():
    """Every line of the demo course's hidden tests (20 characters or more)."""
    lines = set()
    for path in (COURSE / "source").glob("*/*.ipynb"):
        for cell in read_nb(path).cells:
            inside = False
            for line in cell.source.splitlines():
                s = line.strip()
                if s in (BEGIN_HIDDEN, END_HIDDEN):
                    inside = s == BEGIN_HIDDEN
                elif inside and len(s) >= 20:
                    lines.add(s)
    return lines


def test_the_wheel_holds_no_course_file_marker_or_hidden_test(wheel):
    """The wheel is lstm_core, the public engine (whose LSTM the standard variant's solution
    computes too): no course file, no solution or hidden-test marker, no hidden-test line."""
    secrets = _hidden_test_lines()
    assert len(secrets) > 50
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert any(n.startswith("lstm_core/") for n in names)
        assert not any(n.startswith(("course/", "autograder/", "source/", "checks/"))
                       for n in names), names
        for name in names:
            text = zf.read(name).decode("utf-8", errors="replace")
            for marker in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN):
                # the metadata holds the README, which names the markers for instructors
                assert marker not in text or ".dist-info/" in name, f"{marker} in {name}"
            lines = {line.strip() for line in text.splitlines()}
            assert not (lines & secrets), f"{name} holds {sorted(lines & secrets)[:3]}"


def test_the_student_install_has_no_grader_and_no_tensorflow(student_env):
    python, env = student_env
    probe = ("import importlib.util as u, lstm_core;"
             "print([m for m in ('tensorflow', 'keras', 'nbgrader', 'autograder')"
             " if u.find_spec(m)])")
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, env=env,
                         cwd=str(python.parent), timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


@pytest.mark.parametrize("assignment", NUMPY_ASSIGNMENTS)
def test_the_check_passes_the_solution_and_fails_the_blank(assignment, student_env, book_html,
                                                           tmp_path):
    python, env = student_env
    released = book_html / "graded" / assignment / f"{assignment}.ipynb"
    assert "lstm_core" in released.read_text()
    solved = _with_id(fill(released, solution_answers(COURSE, assignment),
                           tmp_path / "solved" / released.name), "s001")
    blank = _with_id(fill(released, {}, tmp_path / "blank" / released.name), "s002")
    anonymous = fill(released, {}, tmp_path / "anonymous" / released.name)

    def check(path):
        return subprocess.run([str(python), "-m", "lstm_core.check", str(path)],
                              capture_output=True, text=True, env=env, cwd=str(tmp_path),
                              timeout=600)

    ok = check(solved)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert re.search(r"(\d+) of \1 visible tests pass", ok.stdout), ok.stdout
    failed = check(blank)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    # a stub in a function's body, or (lstm-from-scratch) a whole-cell stub: no function at all
    assert re.search(r"FAILED  (NotImplementedError|NameError: name '\w+' is not defined)",
                     failed.stdout), failed.stdout
    nobody = check(anonymous)                          # no id typed: the variant cell says so
    assert nobody.returncode == 1 and re.search(r"setup +variant +FAILED .*STUDENT_ID", nobody.stdout), (
        nobody.stdout)
    assert not any(c.get("outputs") for c in read_nb(blank).cells)    # the file is not changed


def test_the_exercises_chapter_links_the_wheel_it_names(book_html, wheel):
    page = (book_html / "chapters" / "10_exercises.html").read_text()
    assert f'href="../install/{wheel.name}"' in page
    assert _student_command(book_html) == f"{wheel.name}[notebook]"
