"""Why points were lost: read from an autograded notebook, written where the instructor looks.

A reason is a :class:`autograder.jobs.Reason`: one line of text and its kind. The grader keeps
them in three places that agree:

* the gradebook, in the ``auto_comment`` of the submission's solution cells, each reason on its
  own line starting with :data:`PREFIX` (nbgrader's own comments, such as "No response.",
  stay in front), written by :func:`comment_lines` and read back by :func:`parse_reasons`
  (a reason of kind ``not graded`` shows as ``not graded: ...``);
* the HTML feedback, which shows those comments under the cells;
* the exported CSV, whose ``reasons`` column lists the distinct prefixed lines of a submission.
"""

from __future__ import annotations

import re

from .jobs import CELL, TEST, Reason

__all__ = ["PREFIX", "TRUNCATED_NOTE", "cell_reasons", "attach_reasons", "comment_lines",
           "merge_comment", "parse_reasons", "reasons_from_comments", "log_reason", "short"]

#: Every reason line written into a gradebook comment starts with this.
PREFIX = "Autograder: "
#: Starts the note that replaces a cell's output past the cap (autograder/execute.py).
TRUNCATED_NOTE = "[grader: output of this cell cut at"

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TIMEOUT_ERRORS = {"CellTimeoutError", "TimeoutError", "DeadKernelError", "KeyboardInterrupt"}


def short(text, limit=240):
    """One line of at most ``limit`` characters, ANSI colours removed."""
    text = _ANSI.sub("", str(text)).strip()
    first = text.splitlines()[0] if text else ""
    if len(text.splitlines()) > 1:
        first += " ..."
    return first if len(first) <= limit else first[:limit - 3] + "..."


def _error_of(cell):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            name = out.get("ename", "Error")
            value = short(out.get("evalue", ""))
            if name in ("CellTimeoutError", "KeyboardInterrupt"):
                return f"{name}: the cell ran past its time limit and was interrupted"
            if name == "MemoryError":
                return f"MemoryError: the cell ran past the kernel's memory limit ({value})"
            return f"{name}: {value}" if value else name
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and TRUNCATED_NOTE in out.get("text", ""):
            m = re.search(re.escape(TRUNCATED_NOTE) + r" ([\d,]+)", out["text"])
            return (f"its output was too long: only its first {m.group(1) if m else 'few'} "
                    "characters were kept")
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            return f"the cell wrote to stderr (which nbgrader scores as a failure): {short(out.get('text', ''))}"
    return None


def cell_reasons(nb, notebook=None):
    """Reasons for the points a graded notebook lost, cell by cell.

    Parameters
    ----------
    nb : NotebookNode
        An autograded notebook (as nbgrader writes it, outputs included).
    notebook : str, optional
        Its name, recorded in each reason.

    Returns
    -------
    reasons : list of Reason
        Kind ``test`` for a test cell that lost points, kind ``cell`` for a student's cell that
        stopped with a time-out or an error (the likely cause of the failing tests after it).
        ``cell`` is the grade_id, None for a cell nbgrader does not know.
    """
    from nbgrader import utils

    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if utils.is_grade(cell) and not utils.is_solution(cell):
            score, max_score = utils.determine_grade(cell)
            if score is not None and score < max_score:
                why = _error_of(cell) or "partial credit"
                found.append(Reason(f"test {gid}: {score:g}/{max_score:g} points: {why}", TEST,
                                    notebook, gid))
            continue
        why = _error_of(cell)
        if why is None:
            continue
        failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        if gid is not None and (utils.is_solution(cell) or failed):
            # a student's cell, or a locked one (the set-up) that stopped with an error
            found.append(Reason(f"cell {gid}: {why}", CELL, notebook, gid))
        elif why.split(":", 1)[0] in _TIMEOUT_ERRORS:
            found.append(Reason(f"cell {index + 1}: {why}", CELL, notebook))
    return found


def _solution_cells(nb):
    """(solution grade_ids in order, grade_id -> the nearest code solution cell at or above it)."""
    from nbgrader import utils

    solutions, code_solution_before, last_code_solution = [], {}, None
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid is None:
            continue
        if utils.is_solution(cell):
            solutions.append(gid)
            if cell.cell_type == "code":
                last_code_solution = gid
        code_solution_before[gid] = last_code_solution
    return solutions, code_solution_before


def attach_reasons(nb, reasons, notebook_reasons=()):
    """Decide which solution cell's comment carries each reason.

    A failing test's reason goes to the nearest code solution cell above it (the code it tests);
    a failing cell's reason to that cell if it is a solution cell; anything else, and every
    notebook-level reason, to every solution cell.

    Parameters
    ----------
    nb : NotebookNode
        The autograded (or released) notebook, for the order of its cells.
    reasons : sequence of Reason
        From :func:`cell_reasons`.
    notebook_reasons : sequence of Reason
        Reasons that concern the whole notebook.

    Returns
    -------
    lines : dict of str to list of str
        Solution-cell ``grade_id`` to its comment lines (:func:`comment_lines`).
    """
    solutions, code_solution_before = _solution_cells(nb)
    lines = {gid: [] for gid in solutions}
    first_code = next((g for g in solutions if code_solution_before.get(g) == g), None)

    def add(gid, reason):
        line = PREFIX + reason.line()
        if line not in lines[gid]:
            lines[gid].append(line)

    for reason in notebook_reasons:
        for gid in solutions:
            add(gid, reason)
    for reason in reasons:
        gid = reason.cell
        if gid in lines:
            add(gid, reason)
        elif gid is not None and code_solution_before.get(gid):
            add(code_solution_before[gid], reason)
        elif first_code is not None:
            add(first_code, reason)
        else:
            for sol in solutions:
                add(sol, reason)
    return lines


def comment_lines(reasons):
    """The gradebook comment lines of ``reasons``: :data:`PREFIX` and :meth:`Reason.line`."""
    return [PREFIX + r.line() for r in reasons]


def merge_comment(nbgrader_comment, reason_lines):
    """nbgrader's own comment (may be None) followed by the reason lines; None if both empty."""
    parts = [nbgrader_comment] if nbgrader_comment else []
    parts += list(reason_lines)
    return "\n".join(parts) if parts else None


def parse_reasons(comments):
    """The distinct reasons in a submission's comments, in order.

    Parameters
    ----------
    comments : iterable of str or None
        ``auto_comment`` values from the gradebook.

    Returns
    -------
    reasons : list of Reason
        Read back by :meth:`Reason.from_line` from the lines that start with :data:`PREFIX`.
    """
    seen = []
    for text in comments:
        for line in (text or "").splitlines():
            if line.startswith(PREFIX):
                reason = Reason.from_line(line[len(PREFIX):])
                if reason not in seen:
                    seen.append(reason)
    return seen


def reasons_from_comments(comments):
    """The distinct reason lines in a submission's comments, in order, as the CSV and the
    feedback show them (:meth:`Reason.line`, without :data:`PREFIX`).

    Parameters
    ----------
    comments : iterable of str or None

    Returns
    -------
    reasons : list of str
    """
    return [r.line() for r in parse_reasons(comments)]


def log_reason(log_text):
    """The most telling error line of an nbgrader log, or None.

    nbgrader logs a failed conversion as a traceback and then a generic "Please see the above
    traceback" message; the exception line of the traceback is the one an instructor needs.
    """
    if "became unresponsive" in (log_text or ""):
        return "the kernel stopped responding and could not be interrupted"
    best = None
    for line in (log_text or "").splitlines():
        m = re.match(r"\s*([A-Za-z_][\w.]*(?:Error|Exception|Interrupt)): (.*)", line)
        if m and not m.group(1).endswith("NbGraderException"):
            best = f"{m.group(1).rsplit('.', 1)[-1]}: {short(m.group(2))}"
    if best and best.startswith("CellTimeoutError"):
        best = ("a cell ran past its time limit and the kernel did not respond to the interrupt "
                f"({best})")
    elif best and best.startswith("DeadKernelError"):
        best = ("the kernel died while running the notebook: it exited, or ran past its memory or "
                f"CPU-time limit ({best})")
    return best
