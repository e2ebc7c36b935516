"""The course's term key, written into the released notebooks.

Each student's variant of an assignment is fixed by the course's term key, the assignment and
the student id (:func:`lstm_core.variants.variant_index`). The key is set once, in the course's
``nbgrader_config.py``::

    c.TermKey.term_key = "lstm-2027-3f9a..."      # python -m autograder init makes a random one

and the release writes it into the first line, ``TERM_KEY = "..."``, of every notebook's locked
``variant`` cell, so the notebook can show the student their variant and the grader computes
the same one. A new key for a new term reshuffles every student's variant. The key is not a
secret: knowing it tells a student which variant a classmate has, nothing more.
"""

from __future__ import annotations

import json
import re

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

__all__ = ["TermKey", "VARIANT_CELL"]

#: The grade_id of the cell whose first line is ``TERM_KEY = "..."``.
VARIANT_CELL = "variant"
_LINE = re.compile(r'^TERM_KEY = .*$', re.MULTILINE)


class TermKey(NbGraderPreprocessor):
    """Set ``TERM_KEY`` in the ``variant`` cell to the course's key (at release)."""

    term_key = Unicode(
        "", help="The course's term key: with the assignment and the student id it fixes each "
                 "student's variant. A new key reshuffles the variants.",
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade_id") != VARIANT_CELL:
            return cell, resources
        if not self.term_key:
            raise ValueError("the notebook has a `variant` cell but the course sets no term key: "
                             "add c.TermKey.term_key = \"...\" to nbgrader_config.py")
        source, n = _LINE.subn(f"TERM_KEY = {json.dumps(self.term_key)}", cell.source, count=1)
        if n != 1:
            raise ValueError(f"the `{VARIANT_CELL}` cell must start with a line "
                             "TERM_KEY = \"...\"")
        cell.source = source
        return cell, resources
