"""The one place that defines the colours of the gates, for every figure of the course.

The heatmaps of :mod:`lstm_core.plots` and the cell diagrams of
:mod:`lstm_core.diagrams` both read :data:`GATE_COLORS`, so the input gate is
the same blue in a diagram, in a heatmap and in the text that names it. The
colours are from the Okabe-Ito palette, chosen to stay distinct for readers
with the common forms of colour blindness.

This module imports nothing from matplotlib; :func:`gate_colormap` imports it
when called.
"""

from __future__ import annotations

__all__ = [
    "GATE_COLORS",
    "GATE_LABELS",
    "GRU_GATE_COLORS",
    "STATE_COLORS",
    "NEGATIVE_COLOR",
    "gate_colormap",
]

#: Colour of each LSTM gate, by the letter of its block in Keras's order i, f, c (= g), o.
GATE_COLORS: dict[str, str] = {
    "i": "#0072B2",  # input gate: blue
    "f": "#D55E00",  # forget gate: vermillion
    "g": "#009E73",  # candidate (Keras's "c" block): bluish green
    "o": "#8E44AD",  # output gate: purple
}

#: What each letter of :data:`GATE_COLORS` names, for legends and titles.
GATE_LABELS: dict[str, str] = {
    "i": "input gate $i$",
    "f": "forget gate $f$",
    "g": "candidate $g$",
    "o": "output gate $o$",
}

#: Colours of the GRU's gates: its candidate plays the LSTM candidate's part and shares its colour.
GRU_GATE_COLORS: dict[str, str] = {
    "z": "#E69F00",  # update gate: orange
    "r": "#56B4E9",  # reset gate: sky blue
    "g": GATE_COLORS["g"],  # candidate hidden state
}

#: Colours of the two states in the diagrams: the cell state (the belt) and the hidden state.
STATE_COLORS: dict[str, str] = {
    "c": "#333333",
    "h": "#777777",
}

#: The colour of -1 on the candidate's diverging colour scale (0 is white, +1 its gate colour).
NEGATIVE_COLOR = "#6E5A3C"


def gate_colormap(gate: str):
    """The colour map of one gate's heatmap, ending at that gate's colour.

    Parameters
    ----------
    gate : {"i", "f", "g", "o", "z", "r"}
        The gate's letter (``"c"`` is accepted for the candidate, Keras's name).

    Returns
    -------
    cmap : matplotlib.colors.LinearSegmentedColormap
        For a gate with values in [0, 1]: white at 0, the gate's colour at 1.
        For the candidate ``"g"``, with values in [-1, 1]: :data:`NEGATIVE_COLOR`
        at -1, white at 0, the candidate's colour at +1.

    Raises
    ------
    ValueError
        If ``gate`` is not one of the letters above.
    """
    from matplotlib.colors import LinearSegmentedColormap

    key = "g" if gate == "c" else gate
    colors = {**GRU_GATE_COLORS, **GATE_COLORS}
    if key not in colors:
        raise ValueError(f"gate must be one of {sorted(colors)} (or 'c'); got {gate!r}")
    stops = [NEGATIVE_COLOR, "#ffffff", colors[key]] if key == "g" else ["#ffffff", colors[key]]
    return LinearSegmentedColormap.from_list(f"gate_{key}", stops)
