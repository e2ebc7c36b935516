"""How far back a gradient reaches: gradient norms through time, RNN against LSTM.

The vanishing-gradient chapter of the book asks one question of a recurrent
network: if the loss is read at the last step, how large is its gradient with
respect to what happened ``k`` steps earlier? Everything here is computed with
the backward functions of the cell (from the registry :mod:`lstm_core.cells`:
:mod:`lstm_core.lstm`, :mod:`lstm_core.rnn`, the LSTM variants) on the cache of
one forward pass; no cell arithmetic is repeated.
"""

from __future__ import annotations

import numpy as np

from .cells import get_cell

__all__ = ["gradient_norms_through_time", "hidden_state_gradients"]

WRT = ("input", "hidden")



def hidden_state_gradients(cell, cache, dh_last):
    """The gradient of a loss on the last hidden state with respect to every hidden state.

    Parameters
    ----------
    cell : str
        Which kind of cache this is: 'lstm', 'rnn' or another registered cell.
    cache : LSTMCache, RNNCache or VariantCache
        From the cell's forward function (:func:`lstm_core.lstm_forward`,
        :func:`lstm_core.rnn_forward`, :func:`lstm_core.variants.variant_forward`).
    dh_last : (N, H) ndarray
        The upstream gradient :math:`\\partial L/\\partial h_T` on the last
        hidden state; the loss depends on no other output.

    Returns
    -------
    dhs : (N, T, H) ndarray
        ``dhs[:, t]`` is :math:`\\partial L/\\partial h_t`, the gradient on the
        hidden state output at step ``t`` (``dhs[:, -1] = dh_last``). For the
        LSTM it is the gradient with the cell state :math:`c_t` held fixed,
        which is what backpropagation through time passes back along the
        ``h`` path.

    Notes
    -----
    One loop of the cell's step backward (:func:`lstm_core.lstm_step_backward`,
    :func:`lstm_core.rnn_step_backward`, ...) from the last step down, each
    step's cache taken from what the sequence cache already stores (for the
    LSTM the states ``cache.hs``, ``cache.cs``, time-major ``(T + 1, N, H)``,
    the gate values and ``tanh`` of the cell states), so nothing is recomputed:

    .. math::

        \\frac{\\partial L}{\\partial h_{t-1}}
        = \\Big(\\frac{\\partial L}{\\partial h_t}, \\frac{\\partial L}{\\partial c_t}\\Big)
          \\cdot \\frac{\\partial (h_t, c_t)}{\\partial h_{t-1}}
    """
    cell = get_cell(cell)
    N, T, D, H = cache.shape
    dtype = cache.dtype
    dh_last = np.asarray(dh_last)
    if dh_last.shape != (N, H):
        raise ValueError(f"dh_last must have shape (N, H) = {(N, H)}; got {dh_last.shape}")
    dhs = np.empty((N, T, H), dtype)
    dstate = (dh_last.astype(dtype),) + tuple(np.zeros((N, H), dtype)
                                              for _ in range(cell.n_states - 1))
    for t in range(T - 1, -1, -1):
        dhs[:, t] = dstate[0]
        if t == 0:
            break
        dstate = cell.backward_step(cache, t, dstate)                  # (N, H) each
    return dhs


def gradient_norms_through_time(cell, Wx, Wh, b, x, wrt="input", P=None):
    """Norm of the gradient of the last hidden state's sum with respect to each step.

    Parameters
    ----------
    cell : str
        The recurrent layer the weights belong to: 'lstm', 'rnn', or another
        registered cell (:data:`lstm_core.cells.CELL_NAMES`), in any case.
    Wx : (D, 4H) or (D, H) ndarray
        Input weights (LSTM or simple RNN, Keras's layout; ``(D, 3H)`` for
        'lstm_coupled' and 'lstm_no_forget').
    Wh : (H, 4H) or (H, H) ndarray
        Recurrent weights.
    b : (4H,) or (H,) ndarray
        Bias.
    x : (N, T, D) ndarray
        Input sequences, batch-first.
    wrt : {'input', 'hidden'}, optional
        Differentiate with respect to the input :math:`x_t` or the hidden
        state :math:`h_t` of every step.
    P : (3, H) ndarray, optional
        Peephole weights, for the cell 'lstm_peephole' only.

    Returns
    -------
    norms : (T,) ndarray of float64
        ``norms[t]`` is :math:`\\|\\partial L/\\partial x_t\\|_F` (or
        :math:`\\|\\partial L/\\partial h_t\\|_F`), the Frobenius norm over the
        batch and the features (or units). ``norms[T - 1]`` belongs to the
        last step, ``norms[T - 1 - k]`` to ``k`` steps back.

    Raises
    ------
    ValueError
        If ``cell`` is not a registered cell, ``wrt`` not 'input' or 'hidden',
        ``P`` is missing or superfluous, or a shape is wrong (from the forward
        functions).

    Notes
    -----
    The loss is the sum over the batch and the units of the last hidden state,

    .. math::

        L = \\sum_{n=1}^{N} \\sum_{j=1}^{H} h_{T, n j},
        \\qquad
        \\mathrm{norm}_t = \\Big\\| \\frac{\\partial L}{\\partial x_t} \\Big\\|_F
        = \\Big( \\sum_{n, d} \\Big(\\frac{\\partial L}{\\partial x_{t, n d}}\\Big)^2 \\Big)^{1/2},

    so the upstream gradient is ``dh`` zero except ``dh[:, -1] = 1``. For
    ``wrt='input'`` the gradients come from one call of the cell's backward
    function (:func:`lstm_core.lstm_backward`, :func:`lstm_core.rnn_backward`, ...); for
    ``wrt='hidden'`` from :func:`hidden_state_gradients`. In a simple RNN every
    step back multiplies the gradient by :math:`\\mathrm{diag}(1 - h_t^2) W_h^\\top`,
    so it shrinks (or grows) geometrically; in an LSTM the path through the
    cell state multiplies it element-wise by the forget gate.
    """
    cell = get_cell(cell)
    if wrt not in WRT:
        raise ValueError(f"wrt must be one of {WRT!r}; got {wrt!r}")
    params = (Wx, Wh, b) + (() if P is None else (P,))
    if len(params) != len(cell.param_names):
        raise ValueError(f"cell {cell.name!r} takes the parameters {', '.join(cell.param_names)}; "
                         f"got {', '.join(('Wx', 'Wh', 'b', 'P')[:len(params)])}")
    h, cache = cell.forward(x, params)                                 # (N, T, H)
    if wrt == "input":
        dh = np.zeros_like(h)
        dh[:, -1] = 1
        grads = cell.backward(dh, cache)[0]                            # (N, T, D)
    else:
        grads = hidden_state_gradients(cell, cache, np.ones_like(h[:, -1]))  # (N, T, H)
    grads = np.asarray(grads, dtype=np.float64)
    return np.sqrt(np.einsum("ntd,ntd->t", grads, grads))              # (T,)
