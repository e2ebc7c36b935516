"""Plot helpers for the book's figures, on matplotlib's object API.

Each helper draws into the axes it is given (``ax=None`` or ``axes=None``
makes a new figure), returns those axes, and never calls ``plt.show()``: the
notebook, or the caller, decides what to show or save. This module is the only
one in ``lstm_core`` that uses matplotlib, and it imports ``matplotlib.pyplot``
only inside the helpers, when one has to make a new figure: ``import lstm_core``
does not import matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .colors import GATE_COLORS, GATE_LABELS, gate_colormap

__all__ = [
    "plot_gates",
    "plot_gate",
    "plot_cell_state",
    "plot_gradient_norms",
    "plot_training_curves",
    "plot_text_activation",
]

GATE_ORDER = "ifgo"                     # Keras's block order i, f, c (= g), o
GATE_NAMES = tuple(GATE_LABELS[k] for k in GATE_ORDER)


def _new_axes(nrows=1, ncols=1, **kwargs):
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(nrows, ncols, **kwargs)
    return axes


def _gate_values(cache, sample):
    """The (N, T, 4H) gate activations of a cache or array, with ``sample`` checked."""
    gates = np.asarray(getattr(cache, "gates", cache))
    if gates.ndim != 3 or gates.shape[-1] % 4 or gates.shape[-1] == 0:
        raise ValueError(f"gates must have shape (N, T, 4H); got {gates.shape}")
    N = gates.shape[0]
    if not -N <= sample < N:
        raise ValueError(f"sample must be in 0 .. N - 1 = 0 .. {N - 1}; got {sample}")
    return gates


def _draw_gate(ax, gates, sample, key, colorbar):
    """One gate's heatmap (H, T) on ``ax``, in that gate's colour map."""
    _, T, H4 = gates.shape
    H = H4 // 4
    k = GATE_ORDER.index(key)
    block = gates[sample, :, k * H:(k + 1) * H].T                        # (H, T)
    lo = -1.0 if key == "g" else 0.0
    im = ax.imshow(block, aspect="auto", origin="lower", interpolation="nearest",
                   vmin=lo, vmax=1.0, cmap=gate_colormap(key),
                   extent=(-0.5, T - 0.5, -0.5, H - 0.5))
    ax.set_title(GATE_LABELS[key], color=GATE_COLORS[key])
    ax.set_xlabel("time step $t$")
    if colorbar:
        ax.figure.colorbar(im, ax=ax)
    return im


def plot_gates(cache, sample=0, axes=None, colorbar=True):
    """Heatmaps of the four gate activations of one sequence, over time and units.

    Each gate is drawn in its own colour map, from white to its colour in
    :data:`lstm_core.colors.GATE_COLORS` (the colour of the gate in the cell
    diagrams); the candidate, which can be negative, runs from
    :data:`lstm_core.colors.NEGATIVE_COLOR` through white to its colour.

    Parameters
    ----------
    cache : LSTMCache or (N, T, 4H) array_like
        The cache of :func:`lstm_core.lstm_forward` (its ``gates``), or gate
        activations in Keras's order i, f, c, o.
    sample : int, optional
        Which sequence of the batch to show, in ``0 .. N - 1``.
    axes : sequence of 4 matplotlib.axes.Axes, optional
        Where to draw i, f, g, o; a new 1 x 4 figure if omitted.
    colorbar : bool, optional
        Add a colour bar beside each heatmap.

    Returns
    -------
    axes : (4,) ndarray of matplotlib.axes.Axes
        One image each: units on the vertical axis, time steps on the
        horizontal; i, f, o on the colour scale [0, 1], g on [-1, 1].

    Raises
    ------
    ValueError
        If the gates are not ``(N, T, 4H)``, ``sample`` is out of range, or
        ``axes`` does not hold four axes.
    """
    gates = _gate_values(cache, sample)
    if axes is None:
        axes = _new_axes(1, 4, figsize=(12, 3), sharey=True, layout="constrained")
    axes = np.asarray(axes, dtype=object).ravel()
    if axes.size != 4:
        raise ValueError(f"axes must hold 4 axes (i, f, g, o); got {axes.size}")
    for ax, key in zip(axes, GATE_ORDER):
        _draw_gate(ax, gates, sample, key, colorbar)
    axes[0].set_ylabel("unit")
    return axes


def plot_gate(cache, gate="o", sample=0, ax=None, colorbar=True):
    """The heatmap of one gate of one sequence, over time and units.

    Parameters
    ----------
    cache : LSTMCache or (N, T, 4H) array_like
        As for :func:`plot_gates`.
    gate : {"i", "f", "g", "o"}, optional
        Which gate to draw (``"c"`` is accepted for the candidate).
    sample : int, optional
        Which sequence of the batch to show, in ``0 .. N - 1``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if omitted.
    colorbar : bool, optional
        Add a colour bar beside the heatmap.

    Returns
    -------
    ax : matplotlib.axes.Axes
        One image, (H, T), in the gate's colour map, as in :func:`plot_gates`.

    Raises
    ------
    ValueError
        If the gates are not ``(N, T, 4H)``, ``sample`` is out of range or
        ``gate`` is not one of i, f, g, o.
    """
    key = "g" if gate == "c" else gate
    if key not in GATE_ORDER:
        raise ValueError(f"gate must be one of 'i', 'f', 'g', 'o'; got {gate!r}")
    gates = _gate_values(cache, sample)
    if ax is None:
        ax = _new_axes(figsize=(6, 3), layout="constrained")
    _draw_gate(ax, gates, sample, key, colorbar)
    ax.set_ylabel("unit")
    return ax


def plot_cell_state(c, sample=0, units=None, ax=None):
    """The cell state of chosen units over time, one line per unit.

    Parameters
    ----------
    c : (N, T, H) array_like
        Cell states, as returned by :func:`lstm_core.lstm_forward`.
    sample : int, optional
        Which sequence of the batch to show, in ``0 .. N - 1``.
    units : sequence of int, optional
        Which units to draw; all ``H`` if omitted.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    ax : matplotlib.axes.Axes
        With one line per unit, labelled ``unit k``, time steps on x.

    Raises
    ------
    ValueError
        If ``c`` is not 3-D, or ``sample`` or a unit is out of range.
    """
    c = np.asarray(c)
    if c.ndim != 3:
        raise ValueError(f"c must have shape (N, T, H); got {c.shape}")
    N, T, H = c.shape
    if not -N <= sample < N:
        raise ValueError(f"sample must be in 0 .. N - 1 = 0 .. {N - 1}; got {sample}")
    units = list(range(H)) if units is None else [int(u) for u in np.ravel(units)]
    bad = [u for u in units if not 0 <= u < H]
    if bad:
        raise ValueError(f"units must be in 0 .. H - 1 = 0 .. {H - 1}; got {bad}")
    if ax is None:
        ax = _new_axes(figsize=(6, 3.5), layout="constrained")
    t = np.arange(T)
    for u in units:
        ax.plot(t, c[sample, :, u], label=f"unit {u}")
    ax.set_xlabel("time step $t$")
    ax.set_ylabel("cell state $c_t$")
    if 0 < len(units) <= 10:
        ax.legend(loc="best", fontsize="small")
    return ax


def plot_gradient_norms(norms, ax=None):
    """Gradient norm against the number of steps back from the last step, log scale.

    Parameters
    ----------
    norms : dict of str to (T,) array_like
        One curve per model, for example ``{"RNN": ..., "LSTM": ...}`` from
        :func:`lstm_core.gradient_norms_through_time`: entry ``t`` belongs to
        step ``t``, so it is drawn at ``T - 1 - t`` steps back.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    ax : matplotlib.axes.Axes
        One line per entry, labelled with its name; logarithmic y-axis.

    Raises
    ------
    ValueError
        If ``norms`` is not a non-empty dict of 1-D arrays.
    """
    if not isinstance(norms, Mapping) or not norms:
        raise ValueError("norms must be a non-empty dict of name -> (T,) array")
    if ax is None:
        ax = _new_axes(figsize=(6, 3.5), layout="constrained")
    for name, values in norms.items():
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 1:
            raise ValueError(f"norms[{name!r}] must have shape (T,); got {values.shape}")
        steps_back = np.arange(values.size)[::-1]                    # T-1 .. 0
        ax.plot(steps_back, values, label=str(name))
    ax.set_yscale("log")
    ax.set_xlabel("steps back from the last step")
    ax.set_ylabel("gradient norm")
    ax.legend(loc="best")
    return ax


def plot_training_curves(histories, key="loss", baseline=None, ax=None):
    """Training curves of several runs, one line each, against the epoch.

    Parameters
    ----------
    histories : dict of str to (list of float or dict)
        One entry per run: a list of per-epoch values, or a history dict (from
        :func:`lstm_core.fit`, or Keras's ``History.history``) whose ``key``
        entry is that list.
    key : str, optional
        Which entry of a history dict to draw, such as ``"loss"`` or
        ``"val_loss"``; also the y-axis label.
    baseline : float, optional
        A reference level drawn as a dashed horizontal line, for example the
        mean-squared error of always predicting the mean.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    ax : matplotlib.axes.Axes
        One line per run (x = epoch, from 1), plus the baseline line if given.

    Raises
    ------
    ValueError
        If ``histories`` is not a non-empty dict, or a history dict lacks ``key``.
    """
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError("histories must be a non-empty dict of name -> list or history dict")
    if ax is None:
        ax = _new_axes(figsize=(6, 3.5), layout="constrained")
    for name, history in histories.items():
        if isinstance(history, Mapping):
            if key not in history:
                raise ValueError(
                    f"histories[{name!r}] has no {key!r}; it has {sorted(history)}"
                )
            history = history[key]
        values = np.asarray(history, dtype=np.float64).ravel()
        ax.plot(np.arange(1, values.size + 1), values, label=str(name))
    if baseline is not None:
        ax.axhline(float(baseline), color="0.4", linestyle="--", linewidth=1,
                   label=f"baseline ({float(baseline):.3g})")
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    ax.legend(loc="best")
    return ax


def _text_rows(text, width):
    """(row, column, character) of each character; a newline ends its row."""
    cells, row, col = [], 0, 0
    for ch in text:
        if col >= width:
            row, col = row + 1, 0
        cells.append((row, col, "\u21b5" if ch == "\n" else ch))
        if ch == "\n":
            row, col = row + 1, 0
        else:
            col += 1
    return cells


def plot_text_activation(text, values, ax=None, width=64, vmin=-1.0, vmax=1.0,
                         cmap="RdBu_r", colorbar=True, label="activation", fontsize=11):
    """Text with each character on a background coloured by a value, one per character.

    The picture of Karpathy, Johnson and Fei-Fei's "Visualizing and understanding
    recurrent networks": the activation of one unit while the network reads each
    character. A newline is drawn as the symbol U+21B5 at the end of its row,
    and rows longer than ``width`` characters are wrapped.

    Parameters
    ----------
    text : str of length T
        The characters, in reading order.
    values : (T,) array_like
        One value per character, for example ``tanh(c_t)`` of one unit.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure sized to the text if omitted.
    width : int, optional
        The longest row, in characters, at least 1.
    vmin, vmax : float, optional
        The values drawn in the two ends of the colour map.
    cmap : str or matplotlib.colors.Colormap, optional
        The colour map, diverging by default (blue negative, red positive).
    colorbar : bool, optional
        Add a horizontal colour bar under the text.
    label : str, optional
        The colour bar's label.
    fontsize : float, optional
        The characters' size in points; 11 fills the cells of a new figure.

    Returns
    -------
    ax : matplotlib.axes.Axes
        One rectangle per character (in ``ax.patches``, in reading order, with
        the character's value as its face colour) and one text per character;
        axis off, one unit per character across and 1.6 down.

    Raises
    ------
    ValueError
        If ``values`` is not 1-D with one value per character, ``text`` is
        empty, ``width < 1`` or ``vmin >= vmax``.
    """
    import matplotlib as mpl
    from matplotlib.patches import Rectangle

    values = np.asarray(values, dtype=np.float64)
    if not isinstance(text, str) or not text:
        raise ValueError("text must be a non-empty str")
    if values.shape != (len(text),):
        raise ValueError(f"values must have shape (T,) = ({len(text)},), one per "
                         f"character; got {values.shape}")
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise ValueError(f"width must be an integer >= 1; got {width!r}")
    if not vmin < vmax:
        raise ValueError(f"vmin must be below vmax; got vmin={vmin}, vmax={vmax}")
    cells = _text_rows(text, int(width))
    n_rows = cells[-1][0] + 1
    n_cols = max(col for _, col, _ in cells) + 1
    if ax is None:
        ax = _new_axes(figsize=(0.115 * n_cols + 0.4, 0.184 * n_rows + 0.9),
                       layout="constrained")
    norm = mpl.colors.Normalize(vmin=vmin, vmax=vmax)
    cmap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    for (row, col, ch), value in zip(cells, values):
        face = cmap(norm(value))
        ax.add_patch(Rectangle((col, -1.6 * (row + 1)), 1, 1.6, facecolor=face,
                               edgecolor="none"))
        dark = 0.299 * face[0] + 0.587 * face[1] + 0.114 * face[2] < 0.5
        ax.text(col + 0.5, -1.6 * row - 0.8, ch, ha="center", va="center",
                family="monospace", fontsize=fontsize, color="white" if dark else "black")
    ax.set_xlim(0, n_cols)
    ax.set_ylim(-1.6 * n_rows, 0)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if colorbar:
        mappable = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
        ax.figure.colorbar(mappable, ax=ax, orientation="horizontal", label=label,
                           fraction=0.05, shrink=0.5, aspect=40)
    return ax
