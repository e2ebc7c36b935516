"""``python -m autograder init DIR``: an instructor's private course, outside the repository.

The whole term (release, grade, feedback, export) runs on a course made by ``init`` in
tests/test_autograder_pipeline.py; here, what ``init`` makes and what it refuses.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder_helpers import COURSE, REPO, run_cli  # noqa: E402


def _files(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


def test_init_makes_a_private_course_that_releases(tmp_path):
    root = tmp_path / "terms" / "lstm-2027"
    out = run_cli("init", root, "--course-id", "lstm-2027").stdout
    assert str(root) in out and "private" in out
    demo = {f for f in _files(COURSE) if f.startswith(("source/", "checks/"))}
    assert demo and demo <= set(_files(root))
    config = (root / "nbgrader_config.py").read_text()
    assert "c.CourseDirectory.course_id = 'lstm-2027'" in config
    # a term key of its own: every student's variant is reshuffled for the new term
    demo_key = re.search(r"c.TermKey.term_key = (.*)", (COURSE / "nbgrader_config.py").read_text())
    key = re.search(r"c.TermKey.term_key = '(lstm-2027-[0-9a-f]{16})'", config)
    assert key and demo_key and key.group(1) not in demo_key.group(1)
    ignored = (root / ".gitignore").read_text().split()
    assert {"release/", "submitted/", "gradebook.db", "feedback/"} <= set(ignored)

    run_cli("release", "lesson-exercises", "--course", root, "--no-html")
    assert (root / "release" / "lesson-exercises" / "lesson-exercises.ipynb").is_file()
    with sqlite3.connect(root / "gradebook.db") as db:
        assert db.execute("select course_id from assignment").fetchall() == [("lstm-2027",)]
    assert not (COURSE / "release").exists() or not any(
        p.stat().st_mtime > root.stat().st_mtime for p in (COURSE / "release").rglob("*"))


def test_the_default_course_id_is_the_folder_name(tmp_path):
    run_cli("init", tmp_path / "fall-term")
    assert "course_id = 'fall-term'" in (tmp_path / "fall-term" / "nbgrader_config.py").read_text()


def test_init_refuses_a_folder_in_the_repository_a_full_folder_and_a_bad_id(tmp_path):
    inside = run_cli("init", REPO / "my-course", check=False)
    assert inside.returncode == 2 and "public checkout" in inside.stderr
    assert not (REPO / "my-course").exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    full = run_cli("init", tmp_path / "full", check=False)
    assert full.returncode == 2 and "not an empty folder" in full.stderr
    assert _files(tmp_path / "full") == ["notes.txt"]
    bad = run_cli("init", tmp_path / "x", "--course-id", "a b", check=False)
    assert bad.returncode == 2 and "course id" in bad.stderr


def test_a_folder_that_is_no_course_is_named_with_the_way_out(tmp_path):
    out = run_cli("release", "--course", tmp_path, check=False)
    assert out.returncode == 2 and "python -m autograder init" in out.stderr
