"""The outside check (autograder/verify.py) on its own: honest code is confirmed, code that only
fools the kernel is not. A few seconds per case, no nbgrader run (lstm-keras's trained model is
trained here, once, as its solution cell does)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder_helpers import COURSE, read_nb, solution_sources  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from autograder.sandbox import (  # noqa: E402
    SandboxError, SandboxSpec, check_can_sandbox, readonly_paths,
)
from autograder.course import Course  # noqa: E402
from autograder.verify import load_check, verify_notebook  # noqa: E402
from lstm_core.variants import STUDENT_ENV  # noqa: E402

CHECKS = {a: load_check(COURSE / "checks", a)
          for a in ("lesson-exercises", "lstm-from-scratch", "lstm-keras")}
KERAS = CHECKS["lstm-keras"]
#: The student the notebooks run as (their variant), and the demo course's term key.
STUDENT = "s000"
TERM_KEY = Course(COURSE).term_key()

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
    return CHECKS[assignment].tests(STUDENT, TERM_KEY)


def _verify(assignment, nb, tmp_path, **kwargs):
    """The outside check of ``nb`` for :data:`STUDENT`."""
    return verify_notebook(CHECKS[assignment], nb, tmp_path, STUDENT, TERM_KEY, _spec(), **kwargs)


def _judge(*args):
    return KERAS.export.judge(*args, STUDENT, TERM_KEY)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """lstm-keras's notebook run up to its training cell, as the kernel runs it, then the
    grader's export code: ``(export folder, seconds the training cell took)``."""
    ns = {}
    nb = _notebook("lstm-keras")
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
    os.environ[STUDENT_ENV] = STUDENT              # as the grader sets it for the kernel
    try:
        for gid in ("setup", "variant", "data", "build-model", "train-setup"):
            exec(cells[gid], ns)
    finally:
        del os.environ[STUDENT_ENV]
    started = time.perf_counter()
    exec(cells["train"], ns)
    seconds = time.perf_counter() - started
    folder = tmp_path_factory.mktemp("export") / "weights"
    export = KERAS.export
    assert (export.after, export.tests) == ("train", ("test-beats-baseline",))
    exec(export.code.replace("__EXPORT_FOLDER__", repr(str(folder))), ns)
    return folder, seconds


@pytest.mark.parametrize("assignment", ["lesson-exercises", "lstm-from-scratch", "lstm-keras"])
def test_the_solution_is_confirmed(assignment, tmp_path, request):
    folder, seconds = request.getfixturevalue("trained") if assignment == "lstm-keras" else (None, 0)
    assert _verify(assignment, _notebook(assignment), tmp_path, export_dir=folder,
                   cell_seconds={"train": seconds}) == {}


def test_the_verify_constants_are_the_notebooks():
    budget = KERAS.cases.__globals__["TRAIN_BUDGET_SECONDS"]
    data = next(c.source for c in _notebook("lstm-keras").cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == "data")
    assert f"TRAIN_BUDGET_SECONDS = {budget} " in data and "TIME_STEPS = VARIANT.time_steps" in data


def test_the_notebooks_term_key_is_the_courses():
    for assignment in CHECKS:
        variant = next(c.source for c in _notebook(assignment).cells
                       if c.metadata.get("nbgrader", {}).get("grade_id") == "variant")
        assert variant.splitlines()[0] == f'TERM_KEY = "{TERM_KEY}"', assignment


def test_the_trained_model_is_judged_by_its_weights_and_the_graders_clock(trained, tmp_path):
    folder, seconds = trained
    rng = lambda: np.random.default_rng(5)                       # noqa: E731
    assert _judge(folder, seconds, rng()) is None
    assert "took 25.0 s by the grader's clock" in _judge(folder, 25.0, rng())
    assert "did not run" in _judge(folder, None, rng())
    assert "no trained `model`" in _judge(None, seconds, rng())
    weights = [np.load(folder / f"{k}.npy") for k in range(5)]

    def judged(name, arrays, link=None):
        d = tmp_path / name
        d.mkdir()
        for k, a in enumerate(arrays):
            np.save(d / f"{k}.npy", a)
        if link:
            os.symlink(link, d / f"{len(arrays)}.npy")
        return _judge(d, seconds, rng())

    # an untrained model (what a kernel that fakes np.mean or the predictions really holds)
    assert "more than half the persistence baseline" in judged("zero", [0 * w for w in weights])
    assert "gave 4 array(s)" in judged("four", weights[:4])
    assert "not those of an LSTM" in judged("gru", [weights[0][:, :3], *weights[1:]])
    # a link the kernel planted (to the gradebook, to /dev/zero) is never followed
    assert "could not be read" in judged("link", weights[:4], link="/dev/zero")
    os.symlink(folder, tmp_path / "dir-link")
    assert "could not be read" in _judge(tmp_path / "dir-link", seconds, rng())


def test_a_model_that_only_fools_the_kernel_is_not_confirmed(tmp_path):
    """build_model returns a GRU with its class patched to look like an LSTM in the kernel."""
    gru = ("def build_model(time_steps, features, units=64):\n"
           "    keras.layers.LSTM = keras.layers.GRU\n"
           "    model = keras.Sequential([keras.Input(shape=(time_steps, features)),\n"
           "                              keras.layers.GRU(units), keras.layers.Dense(1)])\n"
           "    model.compile(optimizer='adam', loss='mse')\n"
           "    return model\n")
    failures = _verify("lstm-keras", _notebook("lstm-keras", build_model=gru), tmp_path,
                       cell_seconds={"train": 1.0})
    assert set(failures) == {"test-build-model", "test-beats-baseline"}, failures
    assert failures["test-build-model"].startswith("build_model: ")


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
    failures = _verify("lstm-from-scratch", _notebook("lstm-from-scratch", **answers), tmp_path)
    assert set(failures) == _tests("lstm-from-scratch"), failures
    assert "value 0 is wrong" in failures["test-lstm-step-forward"]


def test_a_wrong_quick_check_answer_and_a_missing_function(tmp_path):
    nb = _notebook("lesson-exercises", quick_check_choice='quick_check_answer = "A"\n',
                   exercise_2_code="def forget_gate(*a):\n    return 0.5\n")
    failures = _verify("lesson-exercises", nb, tmp_path)
    assert set(failures) == {"test-quick-check-choice", "test-forget-gate-range",
                             "test-forget-gate-monotonic", "test-memory-after"}, failures
    assert "NameError" in failures["test-memory-after"]
