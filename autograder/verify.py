"""The outside check: a test that passed in the student's kernel is confirmed outside it.

nbgrader runs the tests in the student's kernel, where the student's code ran first and could
redefine anything a test relies on (``np.allclose``, ``numpy.testing``, builtins, IPython's input
transformers, even the code objects of ``lstm_core``). So for every test cell that scored points
in the kernel, the worker confirms the verdict without trusting that kernel:

1. it writes inputs the notebook never saw (fixed seeds that are not in the notebook) as
   ``.npy`` files into a fresh sandboxed folder, with a plan: the notebook's code cells to run
   (the locked set-up cells and the student's cells, no test cell, none that failed in the
   kernel) and which of the student's functions to call on which inputs;
2. :mod:`autograder.verify_runner` runs that plan in a new sandboxed process (same sandbox and
   limits as the kernel, a wall-clock limit) and saves what the functions return as plain
   ``.npy`` arrays (``allow_pickle=False``);
3. here, in the worker, which never runs student code, the arrays are loaded without pickles,
   their dtype and shape checked, and compared with values computed by ``lstm_core`` on the same
   inputs.

A test whose outside check fails scores zero, with the reason. A test that failed in the kernel
stays failed (the outside check never adds points).

lstm-keras's model and its training are confirmed the same way, by what they compute:

* ``build_model`` is called in the runner for new sizes, given random weights, and run on
  random inputs; its outputs and the names of its optimizer and loss come back as plain
  arrays, and the outputs must equal ``lstm_core``'s LSTM followed by a dense layer with
  those weights;
* the trained ``model`` cannot be retrained outside in the time a student is graded, so right
  after the training cell the grader asks the kernel to save ``model.get_weights()`` as
  ``.npy`` files (:data:`KERNEL_EXPORTS`, run by :class:`autograder.execute.GuardedExecute`);
  the worker reads them without following links or loading pickles and forecasts a fresh
  stretch of the series with ``lstm_core``: whatever arrays a kernel writes, they are judged
  as the weights of the assignment's model. The training cell's time is the grader's own
  clock's, not the notebook's ``train_seconds``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np

__all__ = ["CHECKS", "KERNEL_EXPORTS", "verify_notebook", "VERIFY_SEED"]

#: Seeds of the outside check's inputs (not in any notebook).
VERIFY_SEED = 20260611

#: lstm-keras's window and training budget (``TIME_STEPS`` and ``TRAIN_BUDGET_SECONDS`` in its
#: locked data cell), and the slack the grader's clock allows for the messages around the cell.
TIME_STEPS, TRAIN_BUDGET_SECONDS, TRAIN_CLOCK_SLACK = 20, 20, 1.0

_EXPORT_TRAINED_MODEL = """
def _autograder_export(folder):
    import os
    import numpy
    os.makedirs(folder)
    for k, w in enumerate(model.get_weights()):
        numpy.save(os.path.join(folder, f"{k}.npy"), numpy.asarray(w, dtype="float32"),
                   allow_pickle=False)
_autograder_export(__EXPORT_FOLDER__)
del _autograder_export
"""

#: assignment -> (the grade_id of the cell after which the kernel saves data, the code that saves
#: it into the folder ``__EXPORT_FOLDER__``, the tests whose outside check reads it)
KERNEL_EXPORTS = {"lstm-keras": ("train", _EXPORT_TRAINED_MODEL, ["test-beats-baseline"])}


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ----------------------------------------------------------------- the cases of each assignment
def _lesson_cases(rng):
    import lstm_core

    N, H, D = 4, 6, 3
    c_prev, f, i, g = (rng.normal(size=(N, H)), rng.uniform(size=(N, H)),
                       rng.uniform(size=(N, H)), np.tanh(rng.normal(size=(N, H))))
    c0 = rng.normal(size=(2, H))
    fc, ic, gc = rng.uniform(0.5, 1, size=H), rng.uniform(size=H), np.tanh(rng.normal(size=H))
    states, c = [], c0
    for _ in range(13):
        c = fc * c + ic * gc
        states.append(c)
    x, h = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    Wx, Wh, b = lstm_core.init_lstm_params(D, H, rng, dtype=np.float64)
    gate = lstm_core.lstm_step_forward(x, h, np.zeros((N, H)), Wx, Wh, b)[2].gates[:, H:2 * H]
    fs = rng.uniform(size=7)
    grads = [30 * rng.normal(size=(3, 4)), 30 * rng.normal(size=5), 30 * rng.normal(size=(2, 2))]
    norm = float(np.sqrt(sum(np.sum(q ** 2) for q in grads)))
    return [
        dict(name="cell_state_update", tests=["test-cell-state-update"], recipe="call",
             function="cell_state_update", inputs=[c_prev, f, i, g], expected=[f * c_prev + i * g]),
        dict(name="carry", tests=["test-carry"], recipe="call", function="carry",
             inputs=[c0, fc, ic, gc, np.array(13)], ints=[4], expected=[np.array(states)]),
        dict(name="forget_gate", tests=["test-forget-gate-range", "test-forget-gate-monotonic"],
             recipe="call", function="forget_gate", inputs=[x, h, Wx, Wh, b], expected=[gate]),
        dict(name="memory_after", tests=["test-memory-after"], recipe="call",
             function="memory_after", inputs=[fs, np.array(9)], ints=[1], expected=[fs ** 9]),
        dict(name="quick_check_answer", tests=["test-quick-check-choice"], recipe="value",
             function="quick_check_answer", kind="str", inputs=[], expected_text="C"),
        dict(name="global_norm", tests=["test-clip-by-global-norm"], recipe="call_list",
             function="global_norm", list_len=3, inputs=grads, expected=[np.array(norm)]),
        dict(name="clip_by_global_norm", tests=["test-clip-by-global-norm"], recipe="call_list",
             function="clip_by_global_norm", list_len=3, kind="list",
             inputs=grads + [np.array(2.5)], expected=[q * (2.5 / norm) for q in grads]),
    ]


def _scratch_cases(rng):
    import lstm_core

    N, T, D, H = 3, 6, 4, 5
    x1, h1, c1 = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    W1 = [0.7 * rng.normal(size=(D, 4 * H)), 0.7 * rng.normal(size=(H, 4 * H)), rng.normal(size=4 * H)]
    h_ref, c_ref, cache1 = lstm_core.lstm_step_forward(x1, h1, c1, *W1)
    dh1, dc1 = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    step_back = lstm_core.lstm_step_backward(dh1, dc1, cache1)
    x, h0, c0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    W = [0.7 * rng.normal(size=(D, 4 * H)), 0.7 * rng.normal(size=(H, 4 * H)), rng.normal(size=4 * H)]
    hs, cs, cache = lstm_core.lstm_forward(x, *W, h0=h0, c0=c0)
    dh, dcl = rng.normal(size=(N, T, H)), rng.normal(size=(N, H))
    back = lstm_core.lstm_backward(dh, cache, dc_last=dcl)
    off = ["lstm_core.lstm"]
    return [
        dict(name="lstm_step_forward", tests=["test-lstm-step-forward"], recipe="call",
             function="lstm_step_forward", kind="first2", inputs=[x1, h1, c1, *W1],
             expected=[h_ref, c_ref], disable=off),
        dict(name="lstm_forward", tests=["test-lstm-forward"], recipe="call",
             function="lstm_forward", kind="first2", inputs=[x, *W, h0, c0],
             expected=[hs, cs], disable=off),
        dict(name="lstm_step_backward", tests=["test-lstm-step-backward"],
             recipe="forward_backward", function="lstm_step_forward", forward_args=6,
             backward="lstm_step_backward", backward_args=2, inputs=[x1, h1, c1, *W1, dh1, dc1],
             expected=list(step_back), disable=off),
        dict(name="lstm_backward", tests=["test-lstm-backward"], recipe="forward_backward",
             function="lstm_forward", forward_args=6, backward="lstm_backward", backward_args=1,
             inputs=[x, *W, h0, c0, dh, dcl], expected=list(back), disable=off),
    ]


def _keras_cases(rng):
    import lstm_core.tasks
    import lstm_core.trainer

    s2, s1 = rng.normal(size=(37, 3)), rng.normal(size=29)
    out = []
    for k, (series, T) in enumerate([(s2, 6), (s1, 28)]):
        X, y = lstm_core.tasks.make_windows(series, T)
        out.append(dict(name=f"to_windows_{k}", tests=["test-to-windows"], recipe="call",
                        function="to_windows", kind="tuple", inputs=[series, np.array(T)],
                        ints=[1], expected=[X, y], disable=["lstm_core.tasks"]))
    for k, (N, T, D, H, rs, st) in enumerate([(4, 9, 2, 3, True, True), (2, 3, 5, 7, False, True),
                                              (5, 2, 1, 4, True, False), (3, 4, 2, 6, False, False)]):
        shapes = [(N, T, H) if rs else (N, H)] + ([(N, H), (N, H)] if st else [])
        out.append(dict(name=f"lstm_output_shapes_{k}", tests=["test-output-shapes"],
                        recipe="call", function="lstm_output_shapes", kind="list",
                        inputs=[np.array(v) for v in (N, T, D, H, int(rs), int(st))],
                        ints=[0, 1, 2, 3, 4, 5], expected=[np.array(s) for s in shapes]))
    for k, (T, F, units, N, steps) in enumerate([(None, 10, None, 2, 13), (7, 3, 5, 4, 7)]):
        H = units or 64
        weights = [0.3 * rng.normal(size=shape) for shape in
                   [(F, 4 * H), (H, 4 * H), (4 * H,), (H, 1), (1,)]]
        x = rng.normal(size=(N, steps, F))
        params = dict(zip(lstm_core.trainer.PARAM_NAMES, weights), cell="lstm")
        out.append(dict(name=f"build_model_{k}", tests=["test-build-model"], recipe="keras_model",
                        function="build_model", kind="keras_model",
                        inputs=[np.array(-1 if T is None else T), np.array(F),
                                np.array(-1 if units is None else units), x, *weights],
                        ints=[0, 1, 2], rtol=1e-4, atol=1e-5,
                        expected=[lstm_core.trainer.predict(params, x), {"adam"},
                                  {"mse", "mean_squared_error", "meansquarederror"}]))
    return out


def _sine_stretch(rng, size=400, period=25):
    """A stretch of lstm-keras's series (a noisy sine wave) at a random phase."""
    steps = np.arange(size) + int(rng.integers(0, period))
    return (np.sin(2 * np.pi * steps / period) + 0.1 * rng.standard_normal(size)).astype("float32")


def _read_exported(folder, limit=16, max_bytes=64 * 2**20):
    """The arrays ``0.npy, 1.npy, ...`` a kernel saved in ``folder`` (never a link, never a
    pickle, never more than ``limit`` files of ``max_bytes``)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW
    dir_fd = os.open(folder, flags | os.O_DIRECTORY)
    try:
        names = [n for n in os.listdir(dir_fd) if re.fullmatch(r"\d+\.npy", n)]
        if len(names) > limit or sorted(names, key=lambda n: int(n[:-4])) != [
                f"{k}.npy" for k in range(len(names))]:
            raise ValueError(f"unexpected files {sorted(names)[:5]}")
        arrays = []
        for name in sorted(names, key=lambda n: int(n[:-4])):
            fd = os.open(name, flags, dir_fd=dir_fd)
            with os.fdopen(fd, "rb") as fh:
                info = os.fstat(fh.fileno())
                if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
                    raise ValueError(f"{name} is not a plain file of at most {max_bytes} bytes")
                arrays.append(np.load(fh, allow_pickle=False))
        return arrays
    finally:
        os.close(dir_fd)


def _judge_trained_model(export_dir, seconds, rng):
    """None if lstm-keras's trained model (its exported weights) beats the persistence
    baseline on a fresh stretch of the series and trained within the budget, else why not."""
    import lstm_core.tasks
    import lstm_core.trainer

    if seconds is None:
        return "the training cell did not run"
    if seconds > TRAIN_BUDGET_SECONDS + TRAIN_CLOCK_SLACK:
        return (f"the training cell took {seconds:.1f} s by the grader's clock, more than the "
                f"{TRAIN_BUDGET_SECONDS} s allowed")
    if export_dir is None:
        return "no trained `model` whose weights could be read after the training cell"
    try:
        weights = _read_exported(export_dir)
    except (OSError, ValueError) as exc:
        return f"the trained model's weights could not be read ({str(exc)[:120]})"
    if len(weights) != 5 or any(w.dtype.kind != "f" for w in weights):
        return (f"model.get_weights() gave {len(weights)} array(s); the assignment's model "
                "(an LSTM, then Dense(1)) has 5 float arrays")
    params = dict(zip(lstm_core.trainer.PARAM_NAMES, (w.astype(float) for w in weights)),
                  cell="lstm")
    X, y = lstm_core.tasks.make_windows(_sine_stretch(rng), TIME_STEPS)
    try:
        pred = lstm_core.trainer.predict(params, X)
    except ValueError as exc:
        return f"the weights are not those of an LSTM then Dense(1) on one feature: {exc}"
    mse = float(np.mean((pred - y) ** 2))
    persistence = float(np.mean((X[:, -1, :] - y) ** 2))
    if not np.isfinite(mse) or mse > 0.5 * persistence:
        return (f"an LSTM and Dense(1) with the model's weights, computed by lstm_core, have MSE "
                f"{mse:.4f} on a fresh stretch of the series, more than half the persistence "
                f"baseline's {persistence:.4f}")
    return None


#: assignment -> function of a numpy Generator giving the cases (each names the tests it confirms)
CHECKS = {"lesson-exercises": _lesson_cases, "lstm-from-scratch": _scratch_cases,
          "lstm-keras": _keras_cases}


# ----------------------------------------------------------------- running and judging
_STOPPED = {"CellTimeoutError", "KeyboardInterrupt", "DeadKernelError", "TimeoutError"}


def _plan_cells(nb):
    """The code cells the runner executes: every code cell but the tests, and none that ran
    past its time limit in the kernel (a cell that failed otherwise runs again and fails again,
    after defining what it defined in the kernel)."""
    from nbgrader import utils

    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code" or (utils.is_grade(cell) and not utils.is_solution(cell)):
            continue
        if any(o.get("output_type") == "error" and o.get("ename") in _STOPPED
               for o in cell.get("outputs", [])):
            continue                           # it hung in the kernel: it would hang here too
        nbg = cell.get("metadata", {}).get("nbgrader", {})
        if nbg.get("grade_id") in ("train", "train-setup", "train-time") or "model.fit" in cell.source:
            continue                           # lstm-keras's training is not needed here
        cells.append(cell.source)
    return cells


def _judge(case, out_dir):
    """None if the student's outputs match, else why not."""
    err = out_dir / "error.txt"
    if err.is_file():
        return err.read_text()[:300]
    files = sorted(out_dir.glob("*.npy"), key=lambda p: int(p.stem))
    if "expected_text" in case:
        if len(files) != 1:
            return "no answer"
        got = np.load(files[0], allow_pickle=False)
        if got.dtype.kind != "U" or str(got).strip().upper() != case["expected_text"]:
            return "not the right answer"
        return None
    want = case["expected"]
    if case.get("kind") == "first2":
        files = files[:2]
    if len(files) != len(want):
        return f"returned {len(files)} value(s), expected {len(want)}"
    for k, (f, w) in enumerate(zip(files, want)):
        got = np.load(f, allow_pickle=False)
        if isinstance(w, set):                  # one of these names, any case
            if got.dtype.kind != "U" or str(got).strip().lower() not in w:
                return f"value {k} is {str(got)[:40]!r}, expected one of {sorted(w)}"
            continue
        if got.dtype.kind not in "fiub":
            return f"value {k} is not numeric"
        w = np.asarray(w, dtype=float)
        if got.shape != w.shape:
            return f"value {k} has shape {got.shape}, expected {w.shape}"
        if not np.all(np.isfinite(got)) or not np.allclose(
                got, w, rtol=case.get("rtol", 1e-6), atol=case.get("atol", 1e-9)):
            return f"value {k} is wrong"
    return None


def verify_notebook(assignment, nb, scratch, sandbox_spec=None, timeout=60, export_dir=None,
                    cell_seconds=None):
    """Confirm outside the kernel the tests of ``nb`` (an autograded notebook).

    Parameters
    ----------
    assignment : str
    nb : NotebookNode
        The autograded notebook (its outputs say which cells failed in the kernel).
    scratch : path-like
        A private folder of the worker.
    sandbox_spec : autograder.sandbox.SandboxSpec, optional
        The sandbox to run the student's functions in; without it they run in a plain
        subprocess (``--no-sandbox``).
    timeout : float
        Seconds for the runner.
    export_dir : path-like, optional
        The folder the kernel saved :data:`KERNEL_EXPORTS`'s data into, None if it did not.
    cell_seconds : dict, optional
        Each cell's wall-clock seconds (grade_id -> seconds), measured by the grader.

    Returns
    -------
    failures : dict
        Test grade_id -> the reason its outside check failed. Tests of the assignment that
        are confirmed, or not checked outside, are absent.
    """
    if assignment not in CHECKS:
        return {}
    cases = CHECKS[assignment](np.random.default_rng(VERIFY_SEED))
    root = Path(scratch) / "verify"
    if root.exists():
        shutil.rmtree(root)
    plan = {"cells": _plan_cells(nb), "cases": [], "cell_seconds": max(int(timeout) // 4, 5)}
    for case in cases:
        folder = root / "in" / case["name"]
        folder.mkdir(parents=True)
        for k, a in enumerate(case["inputs"]):
            np.save(folder / f"{k}.npy", np.asarray(a), allow_pickle=False)
        plan["cases"].append({k: v for k, v in case.items()
                              if k not in ("inputs", "expected", "expected_text", "tests")}
                             | {"n_inputs": len(case["inputs"])})
    (root / "out").mkdir()
    (root / "plan.json").write_text(json.dumps(plan))
    runner = str(Path(__file__).resolve().with_name("verify_runner.py"))
    env = None
    if sandbox_spec is not None:
        from dataclasses import replace

        from .sandbox import bwrap_argv, prepare_dirs

        for p in [root, *root.rglob("*")]:
            os.chown(p, sandbox_spec.uid, sandbox_spec.uid, follow_symlinks=False)
        os.chmod(root, 0o755)
        _, ipc = prepare_dirs(Path(scratch) / "verify-unused", sandbox_spec.uid)
        spec = replace(sandbox_spec, work_dir=str(root), ipc_dir=ipc,
                       readonly=list(sandbox_spec.readonly) + [runner],
                       env=dict(sandbox_spec.env, NBGRADER_EXECUTION="autograde"))
        argv = bwrap_argv(spec, [sys.executable, runner])
        cwd = None
    else:
        argv, cwd, ipc = [sys.executable, runner], str(root), None
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]),
                   NBGRADER_EXECUTION="autograde")
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, timeout=timeout, capture_output=True,
                              start_new_session=True)
        failed_run = None if proc.returncode == 0 else f"the check process exited {proc.returncode}"
    except subprocess.TimeoutExpired:
        failed_run = f"the check process ran past {timeout:g} s"
    finally:
        if ipc:
            shutil.rmtree(ipc, ignore_errors=True)
    failures = {}
    for case in cases:
        why = _judge(case, root / "out" / case["name"]) if not failed_run else failed_run
        if why:
            for test in case["tests"]:
                failures.setdefault(test, f"{case['function']}: {why}")
    if assignment in KERNEL_EXPORTS:
        after, _, tests = KERNEL_EXPORTS[assignment]
        why = _judge_trained_model(export_dir, (cell_seconds or {}).get(after),
                                   np.random.default_rng(VERIFY_SEED + 1))
        for test in tests if why else []:
            failures.setdefault(test, f"model: {why}")
    return failures
