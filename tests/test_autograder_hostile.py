"""Hostile and broken submissions, graded in one sandboxed batch with an honest one.

One class of ``lesson-exercises`` (the assignment that grades in seconds) is graded with
``--jobs 2`` in the sandbox: the instructor's solution and one submission per attack or
breakage of issue 6. For each: the score the honest parts deserve (zero for what was tampered
with), a reason in the gradebook and the feedback, and the harm that did not happen (the canary
file still there, the listener never reached, no secret in the feedback). A student graded
before the batch keeps their grade; the gradebook passes an integrity check afterwards; the
batch finishes within its limits.

Points of lesson-exercises: test-cell-state-update 2 and test-carry 2 (exercise 1),
test-forget-gate-range 1, test-forget-gate-monotonic 1 and test-memory-after 2 (exercise 2),
test-quick-check-choice 1 and test-clip-by-global-norm 2 (quick check): 11.
"""

from __future__ import annotations

import copy
import html
import json
import os
import re
import socket
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder_helpers import (  # noqa: E402
    check_gradebook_integrity, copy_course, fill, grade_id, gradebook_rows, read_nb, run_cli,
    solution_answers,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from autograder.sandbox import SandboxError, check_can_sandbox  # noqa: E402

try:
    check_can_sandbox()
    NO_SANDBOX = None
except SandboxError as exc:
    NO_SANDBOX = str(exc)

pytestmark = [pytest.mark.slow,
              # never skipped in CI: there a missing sandbox fails the tests
              pytest.mark.skipif(NO_SANDBOX is not None and not os.environ.get("CI"),
                                 reason=f"no sandbox here: {NO_SANDBOX}")]

A = "lesson-exercises"
EX1 = ["test-cell-state-update", "test-carry"]
EX2 = ["test-forget-gate-range", "test-forget-gate-monotonic", "test-memory-after"]
CELL_TIMEOUT, NOTEBOOK_TIMEOUT, STARTUP = 5, 40, 5


class Listener:
    """A TCP server on 127.0.0.1 that records every connection it accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(addr)
            conn.close()

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def _attacks(sol, course_root, canary, port):
    """student -> (answers or bytes or (file name, answers) or a notebook edit, expectation)."""
    db = course_root / "gradebook.db"
    source_nb = course_root / "source" / A / f"{A}.ipynb"
    qc = sol["quick-check-code"]
    ex1, ex2 = sol["exercise-1-code"], sol["exercise-2-code"]
    wrong_ex1 = ("def cell_state_update(c_prev, f, i, g):\n    return np.zeros(np.shape(c_prev))\n\n"
                 "def carry(c0, f, i, g, steps):\n    return np.zeros((steps,) + np.shape(c0))\n")
    return {
        "a-honest": (sol, 11, [], []),
        "b-loop": (dict(sol, **{"exercise-1-code": "while True:\n    pass\n"}),
                   7, EX1, ["time limit"]),
        "c-catch-interrupt": (dict(sol, **{"exercise-1-code": (
            "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n"
            "    except KeyboardInterrupt:\n        pass\n")}),
            7, EX1, ["did not respond to the interrupt", "without this cell"]),
        "d-memory-bomb": (dict(sol, **{"exercise-2-code": (
            "big = np.ones(2**30)          # 8 GiB of float64, touched\n" + ex2)}),
            7, EX2, ["MemoryError"]),
        "e-os-exit": (dict(sol, **{"exercise-2-code": "import os\nos._exit(0)\n" + ex2}),
                      7, EX2, ["kernel died", "without this cell"]),
        "f-sys-exit": (dict(sol, **{"exercise-2-code": "import sys\nsys.exit()\n" + ex2}),
                       7, EX2, ["SystemExit"]),
        "g-print-20mb": (dict(sol, **{"exercise-1-code": ex1 + "\n\nprint('x' * 20_000_000)\n"}),
                         11, [], ["characters were kept"]),
        "h-network": (dict(sol, **{"quick-check-code": qc + (
            f"\n\nimport socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)\n")}),
            11, [], ["Error"]),
        "i-read-secrets": (dict(sol, **{"quick-check-code": qc + (
            "\n\nimport glob, os\n"
            "copies = glob.glob('/tmp/autograder-*/*/course/gradebook.db')\n"
            f"print('FOUND', copies, [p for p in ['{db}', '{source_nb}'] if os.path.exists(p)], "
            "[p for p in os.listdir('/tmp') if p.startswith('autograder-')])\n"
            f"print(open('{source_nb}').read())\n")}), 11, [], ["FileNotFoundError"]),
        "j-write-delete": (dict(sol, **{"quick-check-code": qc + (
            f"\n\nimport os\ntry:\n    os.remove('{canary}')\nexcept OSError as e:\n    print(e)\n"
            f"open('{db}', 'wb').write(b'overwritten by a student')\n")}),
            11, [], ["FileNotFoundError"]),
        "k-monkeypatch": (dict(sol, **{"exercise-1-code": (
            "import builtins, numpy.testing\n"
            "np.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
            "numpy.testing.assert_allclose = lambda *a, **k: None\n"
            "builtins.AssertionError = type('Nothing', (Exception,), {})\n" + wrong_ex1)}),
            7, EX1, ["test-cell-state-update"]),
        "l-equals-everything": (dict(sol, **{"exercise-1-code": (
            "class Anything:\n    def __eq__(self, other):\n        return True\n"
            "    __ne__ = lambda self, other: False\n    shape = (2, 3)\n\n"
            "def cell_state_update(c_prev, f, i, g):\n    return Anything()\n\n"
            "def carry(c0, f, i, g, steps):\n    return Anything()\n")}),
            7, EX1, ["test-cell-state-update"]),
        "m-deleted-test": ("delete", 11, [], []),
        "n-edited-test": ("edit", 9, ["test-carry"], ["test-carry"]),
        "o-duplicated-test": ("duplicate", 11, [], ["removed a copy of cell(s) test-carry"]),
        "p-kernelspec": ("kernelspec", 11, [], []),
        "q-invalid-json": (b'{"cells": [ this is not JSON', 0, "all", ["not a valid notebook"]),
        "r-empty-file": (b"", 0, "all", ["not a valid notebook"]),
        "s-wrong-name": (("my_homework.ipynb", sol), 0, "all", ["my_homework.ipynb", "keep their names"]),
    }


def _edit(nb, how, sol):
    if how == "delete":
        nb.cells = [c for c in nb.cells if grade_id(c) != "test-carry"]
    elif how == "edit":                     # a wrong carry, and its test made to pass
        for c in nb.cells:
            if grade_id(c) == "exercise-1-code":
                c.source = sol["exercise-1-code"].replace(
                    "states[t] = c", "states[t] = np.asarray(c0, dtype=float)")
            if grade_id(c) == "test-carry":
                c.source = "assert True"
    elif how == "duplicate":
        i = next(k for k, c in enumerate(nb.cells) if grade_id(c) == "test-carry")
        nb.cells.insert(i + 1, copy.deepcopy(nb.cells[i]))
    elif how == "kernelspec":
        nb.metadata["kernelspec"] = {"name": "bash", "display_name": "Bash", "language": "bash"}
    return nb


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile")
    root = copy_course(work / "course")
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write(f"\nc.GradingLimits.startup_allowance = {STARTUP}\n")
    run_cli("release", A, "--course", root, "--no-html")
    rel = root / "release" / A / f"{A}.ipynb"
    sol = solution_answers(root, A)

    first = work / "first"                  # graded before the batch: must not change
    fill(rel, sol, first / "zoe" / A / f"{A}.ipynb")
    run_cli("grade", A, first, "--course", root)
    before = gradebook_rows(root, A)

    canary = work / "canary.txt"
    canary.write_text("still here")
    listener = Listener()
    attacks = _attacks(sol, root, canary, listener.port)
    subs = work / "submitted"
    for student, (content, *_rest) in attacks.items():
        folder = subs / student / A
        folder.mkdir(parents=True)
        if isinstance(content, bytes):
            (folder / f"{A}.ipynb").write_bytes(content)
        elif isinstance(content, tuple):
            fill(rel, content[1], folder / content[0])
        elif isinstance(content, str):
            nb = _edit(read_nb(fill(rel, sol, work / f"{student}.ipynb")), content, sol)
            nbformat.write(nb, str(folder / f"{A}.ipynb"))
        else:
            fill(rel, content, folder / f"{A}.ipynb")
    started = time.perf_counter()
    graded = run_cli("grade", A, subs, "--course", root, "--jobs", 2, "--cell-timeout", CELL_TIMEOUT,
                     "--notebook-timeout", NOTEBOOK_TIMEOUT, "--memory-mb", 2048)
    seconds = time.perf_counter() - started
    listener.close()
    run_cli("feedback", A, "--course", root)
    return SimpleNamespace(root=root, out=graded.stdout, seconds=seconds, attacks=attacks,
                           rows=gradebook_rows(root, A), before=before, canary=canary,
                           listener=listener, n=len(attacks),
                           points={"test-cell-state-update": 2, "test-carry": 2,
                                   "test-forget-gate-range": 1, "test-forget-gate-monotonic": 1,
                                   "test-memory-after": 2, "test-quick-check-choice": 1,
                                   "test-clip-by-global-norm": 2})


STUDENTS = list(_attacks({k: "" for k in ["quick-check-code", "exercise-1-code", "exercise-2-code"]},
                         Path("/x"), Path("/x"), 1))


@pytest.mark.parametrize("student", STUDENTS)
def test_each_submission_gets_what_its_honest_parts_deserve(batch, student):
    _, score, lost, words = batch.attacks[student]
    row = batch.rows[student]
    assert row["code"] == score, (student, row)
    for cell, pts in batch.points.items():
        want = 0.0 if lost == "all" or cell in lost else pts
        assert row["grades"][cell] == want, f"{student}: {cell} scored {row['grades'][cell]}, expected {want}"
    reasons = " | ".join(row["reasons"])
    for word in words:
        assert word in reasons, f"{student}: {word!r} not in the reasons: {reasons}"
    if words:                                                  # and the feedback says so too
        page = batch.root / "feedback" / student / A / f"{A}.html"
        text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.read_text())))
        assert re.sub(r"\s+", " ", row["reasons"][0])[:50] in text, student


def test_the_honest_student_and_the_earlier_one_are_untouched(batch):
    assert batch.rows["a-honest"]["code"] == 11 and batch.rows["a-honest"]["reasons"] == []
    assert batch.rows["zoe"] == batch.before["zoe"]


def test_the_gradebook_is_sound_afterwards(batch):
    check_gradebook_integrity(batch.root)
    assert sorted(batch.rows) == sorted(list(batch.attacks) + ["zoe"])


def test_no_harm_done_outside_the_sandbox(batch):
    assert batch.canary.read_text() == "still here", "a student deleted a file outside their folder"
    assert batch.listener.accepted == [], "a student's kernel reached the network"
    for student in ("i-read-secrets", "j-write-delete", "h-network"):
        nb = read_nb(batch.root / "autograded" / student / A / f"{A}.ipynb")
        printed = json.dumps([c.get("outputs", []) for c in nb.cells])
        assert "BEGIN HIDDEN TESTS" not in printed and "918273" not in printed, "a hidden test leaked"
    nb = read_nb(batch.root / "autograded" / "i-read-secrets" / A / f"{A}.ipynb")
    # one printed line may arrive in several stream outputs (the kernel flushes on a timer)
    found = next(line for c in nb.cells
                 for line in "".join(o.get("text", "") for o in c.get("outputs", [])
                                     if o.get("output_type") == "stream").splitlines()
                 if line.startswith("FOUND"))
    assert "FOUND [] [] []" in found, f"the kernel could see the gradebook or the sources: {found}"


def test_output_is_capped_before_it_is_stored(batch):
    nb_path = batch.root / "autograded" / "g-print-20mb" / A / f"{A}.ipynb"
    assert nb_path.stat().st_size < 3_000_000
    feedback = batch.root / "feedback" / "g-print-20mb" / A / f"{A}.html"
    assert feedback.stat().st_size < 5_000_000
    assert (batch.root / "gradebook.db").stat().st_size < 5_000_000


def test_the_batch_finishes_within_its_limits(batch):
    # every student within its own limit: startup allowance + notebook limit (+ slack for the
    # parent's polling), and the whole batch well within what the limits add up to
    per_student = [float(m.group(1)) for m in re.finditer(r"^\[\s*\d+/\d+\] \S+ .*?([\d.]+) s ",
                                                           batch.out, re.M)]
    assert len(per_student) == batch.n
    assert max(per_student) <= STARTUP + NOTEBOOK_TIMEOUT + 3, per_student
    assert batch.seconds < batch.n * (STARTUP + NOTEBOOK_TIMEOUT) / 2
    assert "sandboxed kernels: 2048 MiB" in batch.out


def test_grade_refuses_without_bubblewrap_unless_told(tmp_path):
    root = copy_course(tmp_path / "course")
    subs = tmp_path / "subs" / "x" / A
    subs.mkdir(parents=True)
    (subs / f"{A}.ipynb").write_text("{}")
    env = {"PATH": "/nonexistent"}                        # no bwrap on PATH
    proc = run_cli("grade", A, tmp_path / "subs", "--course", root, check=False,
                   env=dict(env, AUTOGRADER_BWRAP="/nonexistent/bwrap"))
    assert proc.returncode == 2
    assert "bubblewrap" in proc.stderr and "--no-sandbox" in proc.stderr
    ok = run_cli("grade", A, tmp_path / "subs", "--course", root, "--no-sandbox",
                 env=dict(env, AUTOGRADER_BWRAP="/nonexistent/bwrap"))
    assert "NOT SANDBOXED" in ok.stdout
    assert json.loads(json.dumps(gradebook_rows(root, A)))["x"]["code"] == 0
