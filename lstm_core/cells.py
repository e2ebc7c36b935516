"""The registry of recurrent cells that the trainer and the gradient tools run.

Keras separates a *cell* (one step's arithmetic and its weights) from the one
loop that runs any cell over a sequence. Here each registered cell brings its
own sequence functions (the LSTM's are fused for speed), and the trainer and
:mod:`lstm_core.gradients` look a cell up by name instead of branching on it:

========================  ==============================================  =========================
name                      what                                            parameters
========================  ==============================================  =========================
``'lstm'``                :mod:`lstm_core.lstm`, Keras's ``LSTM``         Wx (D, 4H), Wh (H, 4H), b
``'rnn'``                 :mod:`lstm_core.rnn`, Keras's ``SimpleRNN``     Wx (D, H), Wh (H, H), b
``'lstm_coupled'``        input gate ``1 - f``                            Wx (D, 3H), Wh (H, 3H), b
``'lstm_peephole'``       peephole connections (Gers & Schmidhuber 2000)  Wx, Wh, b (4H), P (3, H)
``'lstm_no_forget'``      no forget gate, ``f = 1``                       Wx (D, 3H), Wh (H, 3H), b
========================  ==============================================  =========================

The three variants are :mod:`lstm_core.variants`'s cells in Keras's gate layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Callable

from .init import init_lstm_params, init_rnn_params
from .lstm import LSTMStepCache, check_lstm_weights, lstm_backward, lstm_forward, lstm_step_backward
from .rnn import RNNStepCache, check_rnn_weights, rnn_backward, rnn_forward, rnn_step_backward
from .validation import as_float_array
from .variants import (
    LSTMVariant,
    check_variant_params,
    init_variant_params,
    variant_backward,
    variant_forward,
    variant_step_backward,
)

__all__ = ["RecurrentCell", "CELLS", "CELL_NAMES", "get_cell"]


@dataclass(frozen=True)
class RecurrentCell:
    """A recurrent cell as the trainer and the gradient tools use it.

    Attributes
    ----------
    name : str
        The registry's key, such as ``'lstm'``.
    summary : str
        One line for people.
    param_names : tuple of str
        The cell's parameters, in the order its functions take them:
        ``('Wx', 'Wh', 'b')``, or ``('Wx', 'Wh', 'b', 'P')``.
    n_states : int
        The recurrent state's parts: 2 (``h``, ``c``) for an LSTM, 1 (``h``) for
        a simple RNN.
    init : callable
        ``init(D, H, rng, dtype) -> params``, a tuple in ``param_names`` order,
        initialised as Keras does.
    check : callable
        ``check(params, D=None) -> H``; raises ValueError for a wrong shape.
    forward : callable
        ``forward(x, params) -> (h, cache)``: ``x`` (N, T, D), ``h`` (N, T, H)
        the hidden state at every step, zero initial states.
    backward : callable
        ``backward(dh, cache) -> (dx, dparams)``: ``dh`` (N, T, H) the upstream
        gradient on ``h``; ``dx`` (N, T, D); ``dparams`` a tuple in
        ``param_names`` order.
    backward_step : callable
        ``backward_step(cache, t, dstate) -> dstate_prev``: through step ``t``
        of a sequence cache, from the gradients on the state after the step
        (a tuple of ``n_states`` (N, H) arrays) to those on the state before it.
    """

    name: str
    summary: str
    param_names: tuple
    n_states: int
    init: Callable
    check: Callable
    forward: Callable
    backward: Callable
    backward_step: Callable


def _count(name, params, n):
    if len(params) != n:
        raise ValueError(f"cell {name!r} takes {n} parameters; got {len(params)}")
    return [as_float_array(k, a) for k, a in zip(("Wx", "Wh", "b", "P"), params)]


# ---------------------------------------------------------------- the LSTM

def _lstm_init(D, H, rng, dtype):
    return init_lstm_params(D, H, rng, dtype=dtype)


def _lstm_check(params, D=None):
    return check_lstm_weights(*_count("lstm", params, 3), D)


def _lstm_forward(x, params):
    h, _, cache = lstm_forward(x, *params)
    return h, cache


def _lstm_backward(dh, cache):
    dx, _, _, dWx, dWh, db = lstm_backward(dh, cache)
    return dx, (dWx, dWh, db)


def _lstm_backward_step(cache, t, dstate):
    step = LSTMStepCache(cache.x[:, t], cache.hs[t], cache.cs[t], cache.Wx, cache.Wh,
                         cache.gates_tm[t], cache.tanh_cs[t])
    _, dh, dc, _, _, _ = lstm_step_backward(*dstate, step)                # (N, H) each
    return dh, dc


# ---------------------------------------------------------------- the simple RNN

def _rnn_init(D, H, rng, dtype):
    return init_rnn_params(D, H, rng, dtype=dtype)


def _rnn_check(params, D=None):
    return check_rnn_weights(*_count("rnn", params, 3), D)


def _rnn_forward(x, params):
    return rnn_forward(x, *params)


def _rnn_backward(dh, cache):
    dx, _, dWx, dWh, db = rnn_backward(dh, cache)
    return dx, (dWx, dWh, db)


def _rnn_backward_step(cache, t, dstate):
    step = RNNStepCache(cache.x[:, t], cache.hs[t], cache.Wx, cache.Wh, cache.hs[t + 1])
    _, dh, _, _, _ = rnn_step_backward(dstate[0], step)                  # (N, H)
    return (dh,)


# ---------------------------------------------------------------- the variants (Keras's layout)

def _variant_init(variant, D, H, rng, dtype):
    return init_variant_params(variant, D, H, rng, dtype)


def _variant_check(variant, params, D=None):
    return check_variant_params(variant, params, D)


def _variant_forward(variant, x, params):
    h, _, cache = variant_forward(variant, x, *params)
    return h, cache


def _variant_backward(dh, cache):
    dx, _, _, *dparams = variant_backward(dh, cache)
    return dx, tuple(dparams)


def _variant_backward_step(cache, t, dstate):
    return tuple(variant_step_backward(*dstate, cache.steps[t])[1:3])


def _variant_cell(name, cell, summary):
    variant = LSTMVariant(cell, "keras")
    return RecurrentCell(name, summary, variant.param_names, 2,
                         partial(_variant_init, variant), partial(_variant_check, variant),
                         partial(_variant_forward, variant), _variant_backward,
                         _variant_backward_step)


#: The registered cells, by name (read-only).
CELLS = MappingProxyType({c.name: c for c in (
    RecurrentCell("lstm", "the LSTM, as keras.layers.LSTM", ("Wx", "Wh", "b"), 2,
                  _lstm_init, _lstm_check, _lstm_forward, _lstm_backward, _lstm_backward_step),
    RecurrentCell("rnn", "the simple tanh RNN, as keras.layers.SimpleRNN", ("Wx", "Wh", "b"), 1,
                  _rnn_init, _rnn_check, _rnn_forward, _rnn_backward, _rnn_backward_step),
    _variant_cell("lstm_coupled", "coupled", "the LSTM with coupled input and forget gates, i = 1 - f"),
    _variant_cell("lstm_peephole", "peephole", "the peephole LSTM (Gers & Schmidhuber 2000)"),
    _variant_cell("lstm_no_forget", "no_forget", "the LSTM without a forget gate, f = 1"),
)})
#: The names of the registered cells.
CELL_NAMES = tuple(CELLS)


def get_cell(name):
    """Look a recurrent cell up by name.

    Parameters
    ----------
    name : str or RecurrentCell
        A registered name, in any case (``'LSTM'`` is ``'lstm'``), or a cell.

    Returns
    -------
    cell : RecurrentCell

    Raises
    ------
    ValueError
        For any other value; the message lists the known cells, for example
        ``"cell must be one of ('lstm', 'rnn', ...); got 'gru'"``.
    """
    if isinstance(name, RecurrentCell):
        return name
    if isinstance(name, str) and name.lower() in CELLS:
        return CELLS[name.lower()]
    raise ValueError(f"cell must be one of {CELL_NAMES!r}; got {name!r}")

