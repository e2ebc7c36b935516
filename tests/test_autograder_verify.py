"""The outside check (autograder/verify.py) on its own: honest code is confirmed, code that only
fools the kernel is not. A few seconds per case, no nbgrader run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder_helpers import COURSE, read_nb, solution_sources  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from autograder.sandbox import (  # noqa: E402
    SandboxError, SandboxSpec, check_can_sandbox, readonly_paths,
)
from autograder.verify import CHECKS, verify_notebook  # noqa: E402

try:
    check_can_sandbox()
    SANDBOX = True
except SandboxError:
    SANDBOX = False


def _notebook(assignment, **answers):
    """The source notebook with the solution cells replaced by ``answers`` (grade_id -> code)."""
    nb = read_nb(COURSE / "source" / assignment / f"{assignment}.ipynb")
    sol = solution_sources(nb)
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in sol:
            cell.source = answers.get(gid.replace("-", "_"), sol[gid])
    return nb


def _spec():
    return SandboxSpec(work_dir="", ipc_dir="", readonly=readonly_paths()) if SANDBOX else None


def _tests(assignment):
    return {t for case in CHECKS[assignment](__import__("numpy").random.default_rng(0))
            for t in case["tests"]}


@pytest.mark.parametrize("assignment", ["lesson-exercises", "lstm-from-scratch", "lstm-keras"])
def test_the_solution_is_confirmed(assignment, tmp_path):
    assert verify_notebook(assignment, _notebook(assignment), tmp_path, _spec()) == {}


def test_fooling_the_kernel_does_not_fool_the_outside_check(tmp_path):
    patch = ("import builtins, numpy.testing, lstm_core\n"
             "np.allclose = lambda *a, **k: True\n"
             "numpy.testing.assert_allclose = lambda *a, **k: None\n"
             "lstm_core.rel_error = lambda *a, **k: 0.0\n"
             "class Anything(tuple):\n"
             "    def __eq__(self, other):\n        return True\n")
    answers = {
        "lstm_step_forward": patch + "def lstm_step_forward(*a):\n    return (np.zeros((3, 5)),) * 3\n",
        "lstm_forward": "def lstm_forward(*a, **k):\n    return Anything()\n",
        "lstm_step_backward": ("def lstm_step_backward(dh, dc, cache):\n"
                               "    return lstm_core.lstm_step_backward(dh, dc, cache)\n"),
        "lstm_backward": "def lstm_backward(*a, **k):\n    raise SystemExit\n",
    }
    failures = verify_notebook("lstm-from-scratch", _notebook("lstm-from-scratch", **answers),
                               tmp_path, _spec())
    assert set(failures) == _tests("lstm-from-scratch"), failures
    assert "value 0 is wrong" in failures["test-lstm-step-forward"]


def test_a_wrong_quick_check_answer_and_a_missing_function(tmp_path):
    nb = _notebook("lesson-exercises", quick_check_choice='quick_check_answer = "A"\n',
                   exercise_2_code="def forget_gate(*a):\n    return 0.5\n")
    failures = verify_notebook("lesson-exercises", nb, tmp_path, _spec())
    assert set(failures) == {"test-quick-check-choice", "test-forget-gate-range",
                             "test-forget-gate-monotonic", "test-memory-after"}, failures
    assert "NameError" in failures["test-memory-after"]
