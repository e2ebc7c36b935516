"""Check your work before you hand it in: ``python -m lstm_core.check NOTEBOOK.ipynb``.

Runs a graded notebook from top to bottom in a fresh kernel, as the grader will, and reports
each visible test: passed, or failed with its message; and each answer cell that still says
``raise NotImplementedError``. It exits 0 when every visible test passes and 1 otherwise. The
notebook file is not changed.

It needs only the student install (``lstm_core`` with its ``notebook`` extra: Jupyter's
``nbclient`` and ``ipykernel``), not the grader or nbgrader. The grader also runs hidden tests
on inputs you have not seen, so passing here is necessary, not sufficient.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CellCheck", "check_notebook", "main"]


@dataclass(frozen=True)
class CellCheck:
    """What the check found in one graded cell.

    Attributes
    ----------
    grade_id : str
        The cell's id in the notebook (nbgrader's ``grade_id``).
    kind : str
        ``"test"`` (a visible test), ``"answer"`` (a cell you fill in) or ``"setup"`` (a
        locked cell of the notebook, such as the one that shows your variant).
    points : float
        The points the cell is worth (0 for an answer cell that is not graded by itself).
    passed : bool
        A test: it ran without error. An answer: it no longer raises ``NotImplementedError``.
    message : str
        The error's last line (``AssertionError: ...``), empty when it passed.
    """

    grade_id: str
    kind: str
    points: float
    passed: bool
    message: str = ""


def _error_line(cell):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            if out.get("ename") == "NotImplementedError" and not out.get("evalue"):
                return "NotImplementedError (an answer is not written yet)"
            return f"{out.get('ename', 'Error')}: {out.get('evalue', '')}".strip()
    return ""


def _checks(nb):
    found = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta:
            continue
        error = _error_line(cell)
        if not (meta.get("grade") or meta.get("solution")):
            if error:                                 # e.g. no student id for the variant
                found.append(CellCheck(meta.get("grade_id", "?"), "setup", 0.0, False, error))
            continue
        if meta.get("grade") and not meta.get("solution"):
            found.append(CellCheck(meta.get("grade_id", "?"), "test",
                                   float(meta.get("points", 0) or 0), not error, error))
        elif meta.get("solution"):
            unfinished = error.startswith("NotImplementedError")
            found.append(CellCheck(meta.get("grade_id", "?"), "answer",
                                   float(meta.get("points", 0) or 0) if meta.get("grade") else 0.0,
                                   not unfinished, error if unfinished else ""))
    return found


def check_notebook(path, timeout=120):
    """Run a notebook in a fresh kernel and check its graded cells.

    Parameters
    ----------
    path : path-like
        The notebook; it runs in its own folder (so its data files are found).
    timeout : float, optional
        Seconds one cell may run.

    Returns
    -------
    checks : list of CellCheck
        In the notebook's order.

    Raises
    ------
    ValueError
        If ``path`` is not a readable notebook.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:                  # noqa: BLE001 -- not a file, not JSON, ...
        raise ValueError(f"{path} is not a notebook that can be read: {exc}") from exc
    client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(path.resolve().parent)}})
    client.execute()
    return _checks(nb)


def _report(checks, stream):
    tests = [c for c in checks if c.kind == "test"]
    for c in checks:
        if c.kind == "test":
            mark = "passed" if c.passed else f"FAILED  {c.message}"
            stream.write(f"  test   {c.grade_id:<32} {c.points:g} pt  {mark}\n")
        elif c.kind == "setup":
            stream.write(f"  setup  {c.grade_id:<32} FAILED  {c.message}\n")
        elif not c.passed:
            stream.write(f"  answer {c.grade_id:<32} not done yet (still raises NotImplementedError)\n")
    passed = [c for c in tests if c.passed]
    stream.write(f"{len(passed)} of {len(tests)} visible tests pass "
                 f"({sum(c.points for c in passed):g} of {sum(c.points for c in tests):g} points). "
                 "Hidden tests and written answers are graded when you hand it in.\n")
    return 0 if len(passed) == len(tests) else 1


def main(argv=None):
    """The command line; returns the exit status (0: every visible test passes)."""
    parser = argparse.ArgumentParser(
        prog="python -m lstm_core.check",
        description="Run a graded notebook as the grader will and report its visible tests.")
    parser.add_argument("notebook", metavar="NOTEBOOK.ipynb")
    parser.add_argument("--timeout", type=float, default=120, metavar="S",
                        help="seconds one cell may run (default 120)")
    args = parser.parse_args(argv)
    try:
        checks = check_notebook(args.notebook, timeout=args.timeout)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.notebook}:")
    return _report(checks, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
