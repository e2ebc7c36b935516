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

What to call, on which inputs, and what to expect is the course's, not the tool's: each
assignment may have an outside check, ``checks/<assignment>.py`` in the course folder, a Python
file that defines ``CHECK``, an :class:`OutsideCheck` (the grader runs it, outside the sandbox;
it is never released). The demo course's checks are examples of every kind.

lstm-keras's model and its training are confirmed the same way, by what they compute:

* ``build_model`` is called in the runner for new sizes, given random weights, and run on
  random inputs; its outputs and the names of its optimizer and loss come back as plain
  arrays, and the outputs must equal ``lstm_core``'s LSTM followed by a dense layer with
  those weights;
* the trained ``model`` cannot be retrained outside in the time a student is graded, so right
  after the training cell the grader asks the kernel to save ``model.get_weights()`` as
  ``.npy`` files (a :class:`KernelExport`, run by :class:`autograder.execute.GuardedExecute`);
  the worker reads them without following links or loading pickles and forecasts a fresh
  stretch of the series with ``lstm_core``: whatever arrays a kernel writes, they are judged
  as the weights of the assignment's model. The training cell's time is the grader's own
  clock's, not the notebook's ``train_seconds``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["KernelExport", "OutsideCheck", "load_check", "read_exported", "verify_notebook"]


@dataclass(frozen=True)
class KernelExport:
    """Data the kernel saves for the outside check, right after one cell.

    Attributes
    ----------
    after : str
        The grade_id of the cell after which the kernel runs ``code``.
    code : str
        Python run in the student's kernel; it saves plain ``.npy`` files into the folder named
        by the placeholder ``__EXPORT_FOLDER__`` (replaced by a string literal).
    tests : tuple of str
        The tests whose outside check reads that folder.
    judge : callable
        ``judge(export_dir, cell_seconds, rng, student_id, term_key) -> str or None``: why the
        tests fail (None: they pass), given the folder (None if nothing was saved), the
        seconds the cell ``after`` took by the grader's clock (None if it did not run), and
        the student's id and the course's term key (which fix the student's variant).
    """

    after: str
    code: str
    tests: tuple
    judge: Callable


@dataclass(frozen=True)
class OutsideCheck:
    """The outside check of one assignment (``CHECK`` in ``checks/<assignment>.py``).

    Attributes
    ----------
    cases : callable
        ``cases(rng, student_id, term_key) -> list of dict``: the calls to make for this
        student's variant (the id and key fix it, :mod:`lstm_core.variants`), each a dict with
        ``name``,
        ``tests`` (the grade_ids it confirms), ``recipe`` (how :mod:`autograder.verify_runner`
        calls: ``call``, ``call_list``, ``value``, ``forward_backward``, ``keras_model``),
        ``function``, ``inputs`` (arrays) and ``expected`` (arrays, or sets of accepted names)
        or ``expected_text``, and optionally ``kind``, ``ints``, ``disable`` (modules switched
        off with :func:`lstm_core.testing.reference_disabled`), ``rtol``, ``atol``.
    seed : int
        The seed of the inputs (not in any notebook).
    skip_cells : frozenset of str
        grade_ids of code cells the runner does not execute (not needed to call the functions).
    skip_if_contains : tuple of str
        Code cells containing one of these texts are not executed either.
    export : KernelExport, optional
    """

    cases: Callable
    seed: int
    skip_cells: frozenset = field(default_factory=frozenset)
    skip_if_contains: tuple = ()
    export: KernelExport | None = None

    def tests(self, student_id="s000", term_key="any-term"):
        """The grade_ids this check can fail (its cases' and its export's), for a student."""
        cases = self.cases(np.random.default_rng(self.seed), student_id=student_id,
                           term_key=term_key)
        found = {t for case in cases for t in case["tests"]}
        return found | set(self.export.tests if self.export else ())


def load_check(checks_dir, assignment):
    """The :class:`OutsideCheck` of ``assignment``, or None if the course has none.

    Parameters
    ----------
    checks_dir : path-like
        The course's ``checks/`` folder.
    assignment : str

    Raises
    ------
    ValueError
        If the file exists but defines no ``CHECK`` of the right type.
    """
    path = Path(checks_dir) / f"{assignment}.py"
    if not path.is_file():
        return None
    name = "_course_check_" + re.sub(r"\W", "_", assignment)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    check = getattr(module, "CHECK", None)
    if not isinstance(check, OutsideCheck):
        raise ValueError(f"{path} must define CHECK = OutsideCheck(...)")
    return check


def read_exported(folder, limit=16, max_bytes=64 * 2**20):
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


# ----------------------------------------------------------------- running and judging
_STOPPED = {"CellTimeoutError", "KeyboardInterrupt", "DeadKernelError", "TimeoutError"}


def _plan_cells(nb, check):
    """The code cells the runner executes: every code cell but the tests, none that ran past
    its time limit in the kernel (a cell that failed otherwise runs again and fails again,
    after defining what it defined in the kernel), none the check skips."""
    from nbgrader import utils

    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code" or (utils.is_grade(cell) and not utils.is_solution(cell)):
            continue
        if any(o.get("output_type") == "error" and o.get("ename") in _STOPPED
               for o in cell.get("outputs", [])):
            continue                           # it hung in the kernel: it would hang here too
        nbg = cell.get("metadata", {}).get("nbgrader", {})
        if nbg.get("grade_id") in check.skip_cells or any(
                text in cell.source for text in check.skip_if_contains):
            continue
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


def verify_notebook(check, nb, scratch, student_id, term_key, sandbox_spec=None, timeout=60,
                    export_dir=None, cell_seconds=None):
    """Confirm outside the kernel the tests of ``nb`` (an autograded notebook).

    Parameters
    ----------
    check : OutsideCheck
        The assignment's check (:func:`load_check`).
    nb : NotebookNode
        The autograded notebook (its outputs say which cells failed in the kernel).
    scratch : path-like
        A private folder of the worker.
    student_id, term_key : str
        The id the submission came from and the course's term key: they fix the variant the
        student's functions are checked against. The runner gets the id as
        ``LSTM_COURSE_STUDENT``.
    sandbox_spec : autograder.sandbox.SandboxSpec, optional
        The sandbox to run the student's functions in; without it they run in a plain
        subprocess (``--no-sandbox``).
    timeout : float
        Seconds for the runner.
    export_dir : path-like, optional
        The folder the kernel saved ``check.export``'s data into, None if it did not.
    cell_seconds : dict, optional
        Each cell's wall-clock seconds (grade_id -> seconds), measured by the grader.

    Returns
    -------
    failures : dict
        Test grade_id -> the reason its outside check failed. Tests of the assignment that
        are confirmed, or not checked outside, are absent.
    """
    cases = check.cases(np.random.default_rng(check.seed), student_id=student_id,
                        term_key=term_key)
    root = Path(scratch) / "verify"
    _write_plan(root, nb, check, cases, timeout)
    failed_run = _run_plan(root, Path(scratch), sandbox_spec, timeout, student_id)
    failures = {}
    for case in cases:
        why = failed_run or _judge(case, root / "out" / case["name"])
        if why:
            for test in case["tests"]:
                failures.setdefault(test, f"{case['function']}: {why}")
    if check.export:
        why = check.export.judge(export_dir, (cell_seconds or {}).get(check.export.after),
                                 np.random.default_rng(check.seed + 1), student_id, term_key)
        for test in check.export.tests if why else []:
            failures.setdefault(test, f"model: {why}")
    return failures


def _write_plan(root, nb, check, cases, timeout):
    """The runner's folder: ``plan.json``, each case's inputs in ``in/<case>/``, ``out/``."""
    if root.exists():
        shutil.rmtree(root)
    plan = {"cells": _plan_cells(nb, check), "cases": [], "cell_seconds": max(int(timeout) // 4, 5)}
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


def _run_plan(root, scratch, sandbox_spec, timeout, student_id):
    """Run :mod:`autograder.verify_runner` on ``root`` (sandboxed with ``sandbox_spec``, else in
    a plain subprocess) as the student ``student_id``; return why it failed as a whole, or
    None."""
    from lstm_core.variants import STUDENT_ENV

    runner = str(Path(__file__).resolve().with_name("verify_runner.py"))
    run_env = {"NBGRADER_EXECUTION": "autograde", STUDENT_ENV: student_id}
    env, cwd, ipc = None, None, None
    if sandbox_spec is not None:
        from dataclasses import replace

        from .sandbox import bwrap_argv, prepare_dirs

        for p in [root, *root.rglob("*")]:
            os.chown(p, sandbox_spec.uid, sandbox_spec.uid, follow_symlinks=False)
        os.chmod(root, 0o755)
        _, ipc = prepare_dirs(scratch / "verify-unused", sandbox_spec.uid)
        spec = replace(sandbox_spec, work_dir=str(root), ipc_dir=ipc,
                       readonly=list(sandbox_spec.readonly) + [runner],
                       env=dict(sandbox_spec.env, **run_env))
        argv = bwrap_argv(spec, [sys.executable, runner])
    else:
        from .sandbox import course_pythonpath

        argv, cwd = [sys.executable, runner], str(root)
        env = dict(os.environ, PYTHONPATH=course_pythonpath(), **run_env)
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, timeout=timeout, capture_output=True,
                              start_new_session=True)
        return None if proc.returncode == 0 else f"the check process exited {proc.returncode}"
    except subprocess.TimeoutExpired:
        return f"the check process ran past {timeout:g} s"
    finally:
        if ipc:
            shutil.rmtree(ipc, ignore_errors=True)
