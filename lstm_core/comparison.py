"""Train several recurrent cells on the same data, a few seeds each, and summarise the runs.

The book's chapter on LSTM variants compares the cells of the registry
(:mod:`lstm_core.cells`) on one task with :func:`compare_cells`: every cell sees
the same training and validation data, and seed ``s`` fixes both the cell's
initial weights and the order of its minibatches, through
``numpy.random.default_rng(s)``. :class:`CellRuns` holds one cell's validation
curves and gives the median and range of their final values.
:func:`gate_bias` reaches one gate's block of a model's bias, for any cell of
the LSTM family, to set how a gate starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .cells import get_cell
from .trainer import fit, init_model
from .validation import as_float_array, check_shape
from .variants import LSTMVariant

__all__ = ["VARIANT_OF_CELL", "CellRuns", "compare_cells", "gate_bias"]

#: The :mod:`lstm_core.variants` cell that each registered LSTM cell computes, in Keras's layout.
VARIANT_OF_CELL = MappingProxyType({
    "lstm": "standard",
    "lstm_coupled": "coupled",
    "lstm_peephole": "peephole",
    "lstm_no_forget": "no_forget",
})


@dataclass(frozen=True)
class CellRuns:
    """The validation curves of one cell trained from several seeds.

    Attributes
    ----------
    cell : str
        The registered cell's name, such as ``'lstm_coupled'``.
    seeds : tuple of int
        One per run, ``S`` of them.
    n_params : int
        The recurrent layer's parameters (the dense read-out not counted).
    val_loss : (S, E) ndarray
        The validation loss after each of the ``E`` epochs, one row per seed.
    """

    cell: str
    seeds: tuple
    n_params: int
    val_loss: np.ndarray

    def __post_init__(self):
        val_loss = as_float_array("val_loss", self.val_loss)
        check_shape("val_loss", val_loss, ("S", "E"), (len(self.seeds), None))
        object.__setattr__(self, "val_loss", val_loss)

    @property
    def final(self):
        """(S,) ndarray: the validation loss after the last epoch, per seed."""
        return self.val_loss[:, -1]

    def summary(self):
        """The median and the range of the final validation losses.

        Returns
        -------
        median, low, high : float
            Over the seeds: the median, the smallest and the largest.
        """
        final = self.final
        return float(np.median(final)), float(final.min()), float(final.max())

    def first_epoch_below(self, level):
        """The first epoch after which each run's validation loss is below ``level``.

        Parameters
        ----------
        level : float

        Returns
        -------
        epochs : (S,) ndarray of int
            Epochs counted from 1; 0 for a run that never went below ``level``.
        """
        below = self.val_loss < level                                # (S, E)
        return np.where(below.any(axis=1), below.argmax(axis=1) + 1, 0)


def compare_cells(cells, X, y, X_val, y_val, seeds, H, prepare=None,
                  **fit_kwargs):
    """Train every cell from every seed on the same data with :func:`lstm_core.trainer.fit`.

    Parameters
    ----------
    cells : sequence of str
        Registered cells (:data:`lstm_core.cells.CELL_NAMES`).
    X : (N, T, D) ndarray
    y : (N, out_dim) ndarray
        The training data, the same for every run.
    X_val : (M, T, D) ndarray
    y_val : (M, out_dim) ndarray
        The validation data, evaluated after every epoch.
    seeds : sequence of int
        Run ``s`` initialises its model with ``init_model(cell, D, H, out_dim,
        default_rng(s))`` and trains it with ``rng=default_rng(s)``.
    H : int
        Units of every recurrent layer.
    prepare : callable, optional
        ``prepare(params)``, called on each model's initial parameters before
        training, to change them in place (for example a gate's bias, with
        :func:`gate_bias`).
    **fit_kwargs
        Passed to :func:`lstm_core.trainer.fit` (``epochs``, ``batch_size``,
        ``lr``, ``clip_norm``, ...).

    Returns
    -------
    runs : dict of str to CellRuns
        One entry per cell, in the order given.

    Raises
    ------
    ValueError
        If ``cells`` or ``seeds`` is empty, a cell is not registered, or the
        data have the wrong shapes (as :func:`lstm_core.trainer.fit`).
    """
    cells, seeds = ([get_cell(c).name for c in cells],
                    [int(s) for s in seeds])
    if not cells or not seeds:
        raise ValueError("give at least one cell and one seed; "
                         f"got cells={cells}, seeds={seeds}")
    D, out_dim = np.shape(X)[-1], np.shape(y)[-1]
    runs = {}
    for cell in cells:
        curves, n_params = [], None
        for seed in seeds:
            params = init_model(cell, D, H, out_dim,
                                np.random.default_rng(seed))
            if prepare is not None:
                prepare(params)
            n_params = sum(params[k].size
                           for k in get_cell(cell).param_names)
            _, history = fit(params, X, y, np.random.default_rng(seed),
                             X_val=X_val, y_val=y_val, **fit_kwargs)
            curves.append(history["val_loss"])
        runs[cell] = CellRuns(cell, tuple(seeds), int(n_params),
                              np.array(curves))
    return runs


def gate_bias(params, gate):
    """One gate's block of a model's recurrent bias, as a view that can be set.

    Parameters
    ----------
    params : dict
        From :func:`lstm_core.trainer.init_model`, for a cell of
        :data:`VARIANT_OF_CELL`.
    gate : {'i', 'f', 'g', 'o'}
        The gate (``'g'`` the candidate); the cell must have it.

    Returns
    -------
    b_gate : (H,) ndarray
        A view of ``params['b']``: writing to it changes the model.

    Raises
    ------
    ValueError
        If the cell is not of the LSTM family, or has no such gate (the coupled
        cell has no ``'i'``, the cell without a forget gate no ``'f'``).
    """
    cell = params.get("cell") if isinstance(params, dict) else None
    if cell not in VARIANT_OF_CELL:
        raise ValueError(f"params['cell'] must be one of {tuple(VARIANT_OF_CELL)}; got {cell!r}")
    order = LSTMVariant(VARIANT_OF_CELL[cell], "keras").gate_order
    if gate not in order:
        raise ValueError(f"the cell {cell!r} has the gates {order}; got {gate!r}")
    H = params["Wh"].shape[0]
    j = order.index(gate)
    return params["b"][j * H:(j + 1) * H]
