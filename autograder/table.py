"""Plain-text tables for the command line's summaries."""

from __future__ import annotations

__all__ = ["format_table", "fmt_points"]


def fmt_points(value):
    """``12`` or ``11.5`` or ``-`` for None."""
    if value is None:
        return "-"
    value = float(value)
    return f"{value:g}"


def format_table(rows, columns, max_width=None):
    """Rows of dicts as an aligned text table.

    Parameters
    ----------
    rows : list of dict
    columns : list of str
        Keys of the rows, in order; also the headers.
    max_width : dict of str to int, optional
        Truncate a column's cells to this many characters.

    Returns
    -------
    text : str
    """
    max_width = max_width or {}
    cells = [[str(c) for c in columns]]
    for row in rows:
        line = []
        for col in columns:
            text = str(row.get(col, ""))
            limit = max_width.get(col)
            if limit and len(text) > limit:
                text = text[:limit - 3] + "..."
            line.append(text)
        cells.append(line)
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    out = []
    for n, r in enumerate(cells):
        out.append("  ".join(t.ljust(w) for t, w in zip(r, widths)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
