"""Diagrams of the recurrent cells, drawn with matplotlib in the gates' colours.

The pictures follow the style readers know from the best-known explanations of
the LSTM: the cell state runs across the top of the cell as a belt, and each
gate is a valve on a wire, a sigmoid layer whose output multiplies what flows
past. Every gate is drawn in its colour from :data:`lstm_core.colors.GATE_COLORS`,
the same colour as its heatmap in :func:`lstm_core.plots.plot_gates`.

Each helper draws into the axes it is given (``ax=None`` makes a new figure),
returns those axes and never calls ``plt.show()``. The artists that stand for a
gate carry a ``gid`` such as ``"gate-f"`` (its box) or ``"valve-f"`` (the
product it controls), so that tests and readers of the figure can find them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .colors import GATE_COLORS, GRU_GATE_COLORS, STATE_COLORS

__all__ = ["draw_lstm_cell", "draw_gru_cell", "draw_unrolled_rnn_vs_lstm"]

FADED = "#d0d0d0"          # a gate that is not highlighted
BODY = "#f5f3ee"           # the cell's background
BELT_WIDTH = 5.0
WIRE_WIDTH = 1.6
FONT = 12


def _new_axes(nrows=1, ncols=1, **kwargs):
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(nrows, ncols, **kwargs)
    return axes


def _highlight_set(highlight, known) -> set[str] | None:
    """The letters to draw in colour (None: all of them)."""
    if highlight is None:
        return None
    letters = {highlight} if isinstance(highlight, str) else set(highlight)
    unknown = letters - set(known)
    if unknown:
        raise ValueError(f"highlight must be None or letters from {sorted(known)}; got {sorted(unknown)}")
    return letters


class _Pen:
    """Draws the primitives of a cell diagram on one axes, faded unless highlighted."""

    def __init__(self, ax, colors: dict[str, str], lit: set[str] | None):
        self.ax, self.colors, self.lit = ax, colors, lit

    def color(self, key: str) -> str:
        if key in self.colors:
            return self.colors[key] if self.lit is None or key in self.lit else FADED
        return STATE_COLORS.get(key, key)

    def wire(self, points, key="h", lw=WIRE_WIDTH, arrow=True, z=1):
        from matplotlib.patches import FancyArrowPatch
        from matplotlib.path import Path

        pts = np.asarray(points, dtype=float)
        codes = [Path.MOVETO] + [Path.LINETO] * (len(pts) - 1)
        patch = FancyArrowPatch(path=Path(pts, codes), arrowstyle="-|>" if arrow else "-",
                                mutation_scale=14 if lw < 3 else 22, lw=lw,
                                color=self.color(key), zorder=z, shrinkA=0, shrinkB=0,
                                joinstyle="round", capstyle="round")
        self.ax.add_patch(patch)
        return patch

    def box(self, center, text, key, gid, w=1.1, h=0.75):
        from matplotlib.patches import FancyBboxPatch

        x, y = center
        patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.12",
                               facecolor=self.color(key), edgecolor="none", zorder=3, gid=gid)
        self.ax.add_patch(patch)
        self.ax.text(x, y, text, ha="center", va="center", color="white", fontsize=FONT,
                     fontweight="bold", zorder=4)
        return patch

    def op(self, center, symbol, key, gid, r=0.27, size=FONT + 2):
        from matplotlib.patches import Circle

        lit = self.color(key)
        patch = Circle(center, r, facecolor="white", edgecolor=lit, lw=2.2, zorder=3, gid=gid)
        self.ax.add_patch(patch)
        self.ax.text(*center, symbol, ha="center", va="center", fontsize=size, color=lit,
                     fontweight="bold", zorder=4)
        return patch

    def label(self, xy, text, key="c", size=FONT, **kwargs):
        kwargs = {"ha": "center", "va": "center", **kwargs}
        return self.ax.text(*xy, text, color=self.color(key), fontsize=size, zorder=5, **kwargs)

    def body(self, x0, y0, x1, y1):
        from matplotlib.patches import FancyBboxPatch

        self.ax.add_patch(FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, zorder=0,
                                         boxstyle="round,pad=0,rounding_size=0.5",
                                         facecolor=BODY, edgecolor="#b8b2a6", lw=1.2))

    def finish(self, xlim, ylim):
        self.ax.set_xlim(*xlim)
        self.ax.set_ylim(*ylim)
        self.ax.set_aspect("equal")
        self.ax.set_axis_off()


def _lstm_wires(pen: _Pen):
    """The belt, the input bus and the wires of the LSTM cell (see draw_lstm_cell)."""
    belt, bus = 5.4, 1.3
    pen.wire([(-0.3, belt), (12.3, belt)], "c", lw=BELT_WIDTH, z=2)
    pen.wire([(-0.3, bus), (0.95, bus)], "h")
    pen.wire([(0.9, bus), (8.0, bus)], "h", arrow=False)
    pen.wire([(1.7, -0.4), (1.7, bus - 0.05)], "h")
    for x, key in ((3.0, "f"), (4.6, "i"), (6.2, "g"), (8.0, "o")):
        pen.wire([(x, bus), (x, 2.22)], key)
    pen.wire([(3.0, 2.98), (3.0, belt - 0.28)], "f")                # f -> forget valve
    pen.wire([(4.6, 2.98), (4.6, 4.0), (5.93, 4.0)], "i")           # i -> input valve
    pen.wire([(6.2, 2.98), (6.2, 3.73)], "g")                       # g -> input valve
    pen.wire([(6.2, 4.27), (6.2, belt - 0.28)], "i")                # i*g -> add to the belt
    pen.wire([(9.6, belt), (9.6, 4.55)], "c", lw=2.4)               # c_t down to tanh
    pen.wire([(9.6, 3.75), (9.6, 2.87)], "c", lw=2.4)               # tanh(c_t) -> output valve
    pen.wire([(8.55, 2.6), (9.33, 2.6)], "o")                       # o -> output valve
    pen.wire([(9.6, 2.33), (9.6, bus), (12.3, bus)], "h", lw=2.4)   # h_t out
    pen.wire([(10.9, bus), (10.9, 6.9)], "h", lw=2.4)               # h_t up, to the next layer
    return belt, bus


def draw_lstm_cell(ax=None, highlight=None, annotate=True):
    """The LSTM cell: the cell-state belt across the top, the gates as valves.

    Parameters
    ----------
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure (7.5 x 4.4 inches) if omitted.
    highlight : str or iterable of str, optional
        Gates to draw in colour, from ``"i"``, ``"f"``, ``"g"``, ``"o"``; the
        others are drawn in pale grey. All gates are coloured if omitted.
    annotate : bool, optional
        Write what each valve does beside it.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The diagram, axis off, equal aspect. Gate boxes have ``gid`` ``"gate-i"``
        ... ``"gate-o"``; the products they control ``"valve-f"`` (on the belt),
        ``"valve-i"`` (input times candidate) and ``"valve-o"``; the addition
        onto the belt ``"add-belt"``.

    Raises
    ------
    ValueError
        If ``highlight`` names a gate other than i, f, g, o.

    Notes
    -----
    The wires follow the equations, with :math:`[h_{t-1}, x_t]` on the bus::

        f, i, o = sigmoid(...), g = tanh(...)
        c_t = f * c_{t-1} + i * g          (the belt)
        h_t = o * tanh(c_t)
    """
    pen = _Pen(ax if ax is not None else _new_axes(figsize=(7.5, 4.4), layout="constrained"),
               GATE_COLORS, _highlight_set(highlight, GATE_COLORS))
    pen.body(0.9, 0.45, 11.3, 6.15)
    belt, bus = _lstm_wires(pen)
    pen.op((3.0, belt), "×", "f", "valve-f")
    pen.op((6.2, belt), "+", "i", "add-belt")
    pen.op((6.2, 4.0), "×", "i", "valve-i")
    pen.op((9.6, 2.6), "×", "o", "valve-o")
    pen.box((9.6, 4.15), "tanh", "c", "tanh-c", w=1.05, h=0.62).set_facecolor("#555555")
    for x, key, text in ((3.0, "f", "σ"), (4.6, "i", "σ"), (6.2, "g", "tanh"), (8.0, "o", "σ")):
        pen.box((x, 2.6), text, key, f"gate-{key}")
    for x, y, key in ((2.68, 4.2, "f"), (4.28, 3.55, "i"), (6.5, 3.35, "g"), (7.55, 3.2, "o")):
        pen.label((x, y), f"${key}_t$", key, ha="right" if key != "g" else "left", size=FONT + 1)
    pen.label((-0.4, belt + 0.38), "$c_{t-1}$", ha="left")
    pen.label((12.3, belt + 0.38), "$c_t$", ha="right")
    pen.label((-0.4, bus + 0.35), "$h_{t-1}$", "h", ha="left")
    pen.label((12.3, bus - 0.38), "$h_t$", "h", ha="right")
    pen.label((11.1, 6.75), "$h_t$", "h", ha="left")
    pen.label((1.9, -0.3), "$x_t$", "h", ha="left")
    if annotate:
        pen.label((3.0, belt + 0.62), "forget: keep $f_t$ of it", "f", size=FONT - 2)
        pen.label((6.2, belt + 0.62), "write: add $i_t g_t$", "i", size=FONT - 2)
        pen.label((9.9, 2.05), "read", "o", size=FONT - 2, ha="left")
        for x, key, name in ((3.0, "f", "forget"), (4.6, "i", "input"), (6.2, "g", "candidate"),
                             (8.0, "o", "output")):
            pen.label((x, 0.85), name, key, size=FONT - 2)
    pen.finish((-0.5, 12.5), (-0.6, 7.0))
    return pen.ax


def _unrolled_rnn(pen: _Pen, steps: int, dx: float):
    """The simple RNN's chain: h goes through W_h and tanh at every step."""
    y = 1.6
    pen.wire([(0.0, y), (1.75, y)], "h", lw=2.4)
    pen.label((0.0, y + 0.4), "$h_0$", "h", ha="left")
    for k in range(steps):
        x = 1.0 + dx * k + 1.5
        pen.box((x, y), "tanh", "#5a5a5a", f"rnn-step-{k}", w=1.3, h=0.8)
        pen.label((x - 1.15, y + 0.3), "$W_h$", "#5a5a5a", size=FONT - 1)
        pen.wire([(x, -0.1), (x, y - 0.42)], "h")
        pen.label((x + 0.15, 0.0), f"$x_{k + 1}$", "h", ha="left", size=FONT - 1)
        end = x + dx - 0.7 if k < steps - 1 else x + 1.9
        pen.wire([(x + 0.65, y), (end, y)], "h", lw=2.4)
        pen.label((x + 1.05, y - 0.35), f"$h_{k + 1}$", "h", size=FONT - 1)
    return y


def _unrolled_lstm(pen: _Pen, steps: int, dx: float):
    """The LSTM's chain: the belt on top, touched only by x f and + i g at every step."""
    belt, y = 3.0, 1.1
    pen.wire([(0.0, belt), (1.0 + dx * steps + 0.4, belt)], "c", lw=BELT_WIDTH, z=2)
    pen.label((0.0, belt + 0.42), "$c_0$", "c", ha="left")
    pen.wire([(0.0, y), (1.55, y)], "h")
    pen.label((0.0, y + 0.35), "$h_0$", "h", ha="left")
    for k in range(steps):
        x = 1.0 + dx * k + 1.5
        for j, key in enumerate("figo"):
            pen.box((x - 0.75 + 0.5 * j, y), key, key, f"lstm-gate-{key}-{k}", w=0.46, h=0.62)
        pen.wire([(x - 0.75, y + 0.33), (x - 0.75, belt - 0.26)], "f")
        pen.op((x - 0.75, belt), "×", "f", f"lstm-valve-f-{k}", r=0.24)
        pen.wire([(x - 0.25, y + 0.33), (x - 0.25, 2.0), (x + 0.35, 2.0), (x + 0.35, belt - 0.26)], "i")
        pen.wire([(x + 0.25, y + 0.33), (x + 0.25, 2.0)], "g", arrow=False)
        pen.op((x + 0.35, belt), "+", "i", f"lstm-add-{k}", r=0.24)
        pen.wire([(x, -0.3), (x, y - 0.33)], "h")
        pen.label((x + 0.15, -0.2), f"$x_{k + 1}$", "h", ha="left", size=FONT - 1)
        end = x + dx - 1.05 if k < steps - 1 else x + 1.9
        pen.wire([(x + 1.0, y), (end, y)], "h")
        pen.label((x + 1.4, y - 0.35), f"$h_{k + 1}$", "h", size=FONT - 1)
        pen.label((x + 1.4, belt + 0.42), f"$c_{k + 1}$", "c", size=FONT - 1)
    return belt


def draw_unrolled_rnn_vs_lstm(steps=4, axes=None):
    """A simple RNN and an LSTM unrolled over a few steps, one above the other.

    The RNN's state goes through the matrix :math:`W_h` and a ``tanh`` at every
    step; the LSTM's cell state runs along a belt on which each step only
    multiplies element-wise by the forget gate and adds the input gate times
    the candidate. A dashed arrow on each shows the path of the gradient back
    through time and what each step multiplies it by.

    Parameters
    ----------
    steps : int, optional
        How many time steps to draw, 1 to 6.
    axes : sequence of 2 matplotlib.axes.Axes, optional
        Where to draw the RNN and the LSTM; a new 2 x 1 figure if omitted.

    Returns
    -------
    axes : (2,) ndarray of matplotlib.axes.Axes
        The RNN's chain (step boxes with ``gid`` ``"rnn-step-k"``), then the
        LSTM's (gate boxes ``"lstm-gate-f-k"`` ..., valves ``"lstm-valve-f-k"``).

    Raises
    ------
    ValueError
        If ``steps`` is not an integer from 1 to 6, or ``axes`` does not hold two axes.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= 6:
        raise ValueError(f"steps must be an integer from 1 to 6; got {steps!r}")
    if axes is None:
        axes = _new_axes(2, 1, figsize=(8, 5.0), layout="constrained",
                         gridspec_kw={"height_ratios": [3.65, 5.15]})
    axes = np.asarray(axes, dtype=object).ravel()
    if axes.size != 2:
        raise ValueError(f"axes must hold 2 axes (RNN, LSTM); got {axes.size}")
    dx = 3.4
    width = 1.0 + dx * steps + 0.6
    rnn, lstm = _Pen(axes[0], GATE_COLORS, None), _Pen(axes[1], GATE_COLORS, None)
    y = _unrolled_rnn(rnn, steps, dx)
    rnn.wire([(width - 0.2, y + 0.95), (0.3, y + 0.95)], "#B22222", lw=1.4).set_linestyle((0, (4, 3)))
    rnn.label((width / 2, y + 1.3), "gradient: $\\times\\, W_h^{\\top}\\,\\mathrm{diag}(1 - h_t^2)$ at every step",
              "#B22222", size=FONT - 1)
    rnn.finish((-0.2, width + 0.2), (-0.45, y + 1.6))
    axes[0].set_title("Simple RNN: the state is rewritten through $W_h$ and tanh", fontsize=FONT, loc="left")
    belt = _unrolled_lstm(lstm, steps, dx)
    lstm.wire([(width - 0.2, belt + 0.95), (0.3, belt + 0.95)], "#B22222", lw=1.4).set_linestyle((0, (4, 3)))
    lstm.label((width / 2, belt + 1.3), "gradient along the belt: $\\times\\, f_t$ at every step (element-wise)",
               "#B22222", size=FONT - 1)
    lstm.finish((-0.2, width + 0.2), (-0.55, belt + 1.6))
    axes[1].set_title("LSTM: the cell state rides a belt, scaled by $f_t$ and added to",
                      fontsize=FONT, loc="left")
    return axes


def _gru_wires(pen: _Pen):
    """The state belt, the bus and the wires of the GRU cell (see draw_gru_cell)."""
    import matplotlib.patheffects as pe

    belt, bus = 5.6, 1.3
    pen.wire([(-0.3, belt), (10.3, belt)], "c", lw=BELT_WIDTH, z=2)
    pen.wire([(1.3, belt), (1.3, bus)], "h", arrow=False)
    pen.wire([(1.3, bus), (4.4, bus)], "h", arrow=False)
    pen.wire([(2.0, -0.4), (2.0, bus - 0.05)], "h")
    pen.wire([(2.0, 0.85), (7.0, 0.85), (7.0, 3.22)], "h")             # x_t -> candidate
    for x, key in ((2.8, "r"), (4.4, "z")):
        pen.wire([(x, bus), (x, 2.02)], key)
    pen.wire([(1.3, 3.6), (2.53, 3.6)], "h")                           # h_{t-1} -> reset valve
    pen.wire([(2.8, 2.78), (2.8, 3.33)], "r")
    over = pen.wire([(3.07, 3.6), (6.45, 3.6)], "r")                   # r * h_{t-1} -> candidate
    over.set_path_effects([pe.withStroke(linewidth=7, foreground=BODY)])
    over.set_zorder(2.5)
    pen.wire([(4.4, 2.78), (4.4, belt - 0.28)], "z")                   # z -> keep valve
    pen.wire([(4.4, 4.7), (5.45, 4.7)], "z")                           # z -> 1 - z
    pen.wire([(5.95, 4.7), (6.73, 4.7)], "z")                          # 1 - z -> candidate valve
    pen.wire([(7.0, 3.98), (7.0, 4.43)], "g")
    pen.wire([(7.0, 4.97), (7.0, belt - 0.28)], "z")
    pen.wire([(9.0, belt), (9.0, 6.9)], "h", lw=2.4)                   # h_t up, to the next layer
    return belt, bus


def draw_gru_cell(ax=None, highlight=None, annotate=True):
    """The GRU cell, in the style of :func:`draw_lstm_cell`: one state, two gates.

    Parameters
    ----------
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure (6.5 x 4.6 inches) if omitted.
    highlight : str or iterable of str, optional
        Parts to draw in colour, from ``"z"`` (update gate), ``"r"`` (reset
        gate) and ``"g"`` (candidate); the others in pale grey.
    annotate : bool, optional
        Write what each valve does beside it.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The diagram, axis off. Gate boxes have ``gid`` ``"gate-z"``,
        ``"gate-r"``, ``"gate-g"``; valves ``"valve-z"``, ``"valve-r"``,
        ``"valve-g"`` and the addition onto the state ``"add-belt"``.

    Raises
    ------
    ValueError
        If ``highlight`` names something other than z, r, g.

    Notes
    -----
    Keras's GRU, with :math:`\\tilde h_t` the candidate::

        z, r = sigmoid(...),  h~ = tanh(x W + r * (h_{t-1} U))
        h_t = z * h_{t-1} + (1 - z) * h~

    The candidate takes the colour of the LSTM's candidate, from
    :data:`lstm_core.colors.GRU_GATE_COLORS`.
    """
    pen = _Pen(ax if ax is not None else _new_axes(figsize=(6.5, 4.6), layout="constrained"),
               GRU_GATE_COLORS, _highlight_set(highlight, GRU_GATE_COLORS))
    pen.body(0.7, 0.0, 9.5, 6.35)
    belt, bus = _gru_wires(pen)
    pen.op((4.4, belt), "×", "z", "valve-z")
    pen.op((7.0, belt), "+", "z", "add-belt")
    pen.op((2.8, 3.6), "×", "r", "valve-r")
    pen.op((7.0, 4.7), "×", "z", "valve-g")
    pen.op((5.7, 4.7), "1−", "z", "one-minus-z", r=0.25, size=FONT - 3).set_linewidth(1.4)
    for x, y, key, text in ((2.8, 2.4, "r", "σ"), (4.4, 2.4, "z", "σ"), (7.0, 3.6, "g", "tanh")):
        pen.box((x, y), text, key, f"gate-{key}")
    pen.label((2.5, 3.0), "$r_t$", "r", ha="right", size=FONT + 1)
    pen.label((4.1, 3.15), "$z_t$", "z", ha="right", size=FONT + 1)
    pen.label((7.3, 4.2), "$\\tilde h_t$", "g", ha="left", size=FONT + 1)
    pen.label((-0.4, belt + 0.38), "$h_{t-1}$", ha="left")
    pen.label((10.3, belt + 0.38), "$h_t$", ha="right")
    pen.label((9.2, 6.75), "$h_t$", "h", ha="left")
    pen.label((2.2, -0.3), "$x_t$", "h", ha="left")
    if annotate:
        pen.label((4.4, belt + 0.62), "keep $z_t$ of it", "z", size=FONT - 2)
        pen.label((7.0, belt + 0.62), "add $(1 - z_t)\\,\\tilde h_t$", "z", size=FONT - 2)
        for x, key, name in ((2.8, "r", "reset"), (4.4, "z", "update"), (7.0, "g", "candidate")):
            pen.label((x, 0.45), name, key, size=FONT - 2)
    pen.finish((-0.5, 10.5), (-0.6, 7.0))
    return pen.ax
