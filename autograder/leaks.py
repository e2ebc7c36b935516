"""Check that a released notebook gives away no solution and no hidden test.

nbgrader removes a hidden test only between the exact markers ``### BEGIN HIDDEN TESTS`` and
``### END HIDDEN TESTS`` (and a solution between ``### BEGIN SOLUTION`` / ``### END SOLUTION``);
a mistyped marker ships the region to students. This module finds the regions with a lenient
pattern (any case, singular or plural, any number of ``#``), so that a region nbgrader missed is
still known to be secret, and then looks for its lines in the released notebook.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["secret_lines", "find_leaks", "MARKER"]

#: Any spelling of a solution or hidden-test marker, exact or not.
MARKER = re.compile(r"(?i)\b(BEGIN|END)\s*(HIDDEN\s*TESTS?|SOLUTIONS?)\b")

#: Lines this short say nothing (``else:``, ``)``, ``try:``) and are ignored.
MIN_LENGTH = 6


def _read(path):
    import nbformat

    return nbformat.read(str(path), as_version=4)


def secret_lines(source_notebook):
    """The lines of a source notebook that students must not see.

    Parameters
    ----------
    source_notebook : path-like or NotebookNode
        An instructor's version, with solutions and hidden tests.

    Returns
    -------
    secret : set of str
        Stripped lines inside solution or hidden-test regions, and every line of a solution
        cell that has no region (nbgrader replaces the whole cell), less the lines that also
        appear outside those regions (they are public anyway) and very short lines.
    """
    from nbgrader.utils import is_solution

    nb = source_notebook if not isinstance(source_notebook, (str, Path)) else _read(source_notebook)
    secret, public = set(), set()
    for cell in nb.cells:
        lines = cell.source.splitlines()
        has_region = any(MARKER.search(line) for line in lines)
        whole_cell = bool(is_solution(cell)) and not has_region
        inside = False
        for line in lines:
            text = line.strip()
            match = MARKER.search(text)
            if match:
                inside = match.group(1).upper() == "BEGIN"
                continue
            (secret if inside or whole_cell else public).add(text)
    return {s for s in secret - public if len(s) >= MIN_LENGTH}


def find_leaks(source_notebook, released_notebook):
    """Lines of a released notebook that give away a solution or a hidden test.

    Parameters
    ----------
    source_notebook, released_notebook : path-like or NotebookNode

    Returns
    -------
    leaks : list of str
        Each leaked line (or surviving marker), with the number of the cell it is in.
    """
    secret = secret_lines(source_notebook)
    rel = (released_notebook if not isinstance(released_notebook, (str, Path))
           else _read(released_notebook))
    leaks = []
    for index, cell in enumerate(rel.cells):
        for line in cell.source.splitlines():
            text = line.strip()
            if MARKER.search(text):
                leaks.append(f"cell {index}: marker left in the release: {text}")
            elif text in secret:
                leaks.append(f"cell {index}: {text}")
    return leaks
