"""A small, honest NumPy trainer: a recurrent layer, a dense read-out, MSE and Adam.

The model is what ``keras.Sequential([keras.Input((T, D)), LSTM(H),
Dense(out_dim)])`` computes (or ``SimpleRNN(H)``): a recurrent cell of the
registry :mod:`lstm_core.cells` ('lstm', 'rnn', or an LSTM variant) runs over
the sequence and a dense layer reads out its last hidden state,

.. math::

    \\hat y = h_T W_y + b_y,
    \\qquad L = \\frac{1}{N\\,K} \\sum_{n=1}^{N} \\sum_{k=1}^{K}
    (\\hat y_{nk} - y_{nk})^2 .

The gradients come from the cell's backward function (:func:`lstm_core.lstm_backward`,
:func:`lstm_core.rnn_backward`, ...); :func:`loss_and_grads` exposes them so they
can be checked against central differences. Nothing here mutates its arguments:
:func:`fit` trains a copy and returns it. :func:`lstm_core.params_from_keras`
turns a trained Keras model of this shape into these parameters.
"""

from __future__ import annotations

import numpy as np

from .cells import get_cell
from .init import glorot_uniform
from .validation import (
    as_float_array,
    check_clip_norm,
    check_generator,
    check_positive,
    check_positive_int,
    check_shape,
)

__all__ = ["init_model", "predict", "loss_and_grads", "clip_by_global_norm", "fit",
           "param_names", "PARAM_NAMES"]

#: The parameters of a model whose cell is 'lstm' or 'rnn' (others may add some:
#: see :func:`param_names`).
PARAM_NAMES = ("Wx", "Wh", "b", "Wy", "by")
READOUT_NAMES = ("Wy", "by")


def param_names(cell):
    """The names of a model's parameters, in the order :func:`fit` updates them.

    Parameters
    ----------
    cell : str
        A registered cell (:data:`lstm_core.cells.CELL_NAMES`).

    Returns
    -------
    names : tuple of str
        The recurrent cell's parameters then the read-out's: ``PARAM_NAMES``
        = ``('Wx', 'Wh', 'b', 'Wy', 'by')`` for 'lstm' and 'rnn',
        ``('Wx', 'Wh', 'b', 'P', 'Wy', 'by')`` for 'lstm_peephole'.
    """
    return get_cell(cell).param_names + READOUT_NAMES


def _check_params(params):
    """Validate a parameter dict; return ``(cell, D, H, out_dim)``, ``cell`` a RecurrentCell."""
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict from init_model; got {type(params).__name__}")
    if "cell" not in params:
        raise ValueError(f"params lacks ['cell']; expected keys {('cell',) + PARAM_NAMES}")
    cell = get_cell(params["cell"])
    expected = ("cell",) + cell.param_names + READOUT_NAMES
    missing = [k for k in expected if k not in params]
    if missing:
        raise ValueError(f"params lacks {missing}; expected keys {expected}")
    H = cell.check(tuple(params[k] for k in cell.param_names))
    D = params["Wx"].shape[0]
    check_shape("Wy", params["Wy"], ("H", "out_dim"), (H, None))
    out_dim = params["Wy"].shape[1]
    check_shape("by", params["by"], ("out_dim",), (out_dim,))
    return cell, D, H, out_dim


def _check_data(X, y, D, out_dim, xname="X", yname="y"):
    X = as_float_array(xname, X)
    check_shape(xname, X, ("N", "T", "D"), (None, None, D))
    if y is None:
        return X, None
    y = as_float_array(yname, y)
    check_shape(yname, y, ("N", "out_dim"), (X.shape[0], out_dim))
    return X, y


def init_model(cell, D, H, out_dim, rng, dtype=np.float64):
    """Initial parameters of a recurrent layer with a dense read-out, as Keras makes them.

    Parameters
    ----------
    cell : str
        The recurrent layer: 'lstm', 'rnn', or another registered cell
        (:data:`lstm_core.cells.CELL_NAMES`), in any case.
    D : int
        Number of input features.
    H : int
        Number of units of the recurrent layer.
    out_dim : int
        Number of outputs, ``K``.
    rng : numpy.random.Generator
        The source of randomness.
    dtype : dtype, optional
        float64 by default (exact gradient checks); float32 as Keras.

    Returns
    -------
    params : dict
        ``'cell'``: the cell's name, such as 'lstm' or 'rnn';
        ``'Wx'``: (D, 4H) or (D, H) ndarray, Glorot uniform;
        ``'Wh'``: (H, 4H) or (H, H) ndarray, orthogonal;
        ``'b'``: (4H,) or (H,) ndarray, zeros (forget-gate block 1 for the LSTM);
        (``'P'``: (3, H) ndarray, zeros, for 'lstm_peephole'; the variants
        'lstm_coupled' and 'lstm_no_forget' have 3H columns);
        ``'Wy'``: (H, out_dim) ndarray, Glorot uniform;
        ``'by'``: (out_dim,) ndarray, zeros.

    Raises
    ------
    ValueError
        If ``cell`` is not a registered cell (the message lists them), or a
        size is not a positive integer.
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.
    """
    cell = get_cell(cell)
    D, H, out_dim = (check_positive_int(n, v) for n, v in (("D", D), ("H", H), ("out_dim", out_dim)))
    check_generator("rng", rng)
    params = {"cell": cell.name, **dict(zip(cell.param_names, cell.init(D, H, rng, dtype)))}
    params["Wy"] = glorot_uniform((H, out_dim), rng, dtype)
    params["by"] = np.zeros(out_dim, dtype)
    return params


def _predict(cell, params, X):
    """The read-out of the last hidden state, ``(N, out_dim)``, and the cache; no checks."""
    h, cache = cell.forward(X, tuple(params[k] for k in cell.param_names))   # (N, T, H)
    hT = h[:, -1]                                                     # (N, H)
    return hT, hT @ params["Wy"] + params["by"], cache                # (N, out_dim)


def predict(params, X):
    """The model's outputs for a batch of sequences.

    Parameters
    ----------
    params : dict
        From :func:`init_model` or :func:`fit`.
    X : (N, T, D) ndarray
        Input sequences.

    Returns
    -------
    y_hat : (N, out_dim) ndarray
        :math:`h_T W_y + b_y`, the read-out of the last hidden state.

    Raises
    ------
    ValueError
        If ``params`` is malformed or ``X`` does not have ``D`` features.
    """
    cell, D, _, out_dim = _check_params(params)
    X, _ = _check_data(X, None, D, out_dim)
    return _predict(cell, params, X)[1]


def _loss_and_grads(cell, params, X, y):
    """:func:`loss_and_grads` on checked arguments."""
    hT, y_hat, cache = _predict(cell, params, X)
    err = y_hat - y                                                   # (N, K)
    loss = float(np.mean(err * err))
    delta = 2.0 * err / err.size                                      # (N, K)
    dh = np.zeros(X.shape[:2] + hT.shape[1:], hT.dtype)               # (N, T, H)
    dh[:, -1] = delta @ params["Wy"].T                                # (N, H)
    _, dparams = cell.backward(dh, cache)
    grads = dict(zip(cell.param_names, dparams))
    grads["Wy"] = hT.T @ delta                                        # (H, K)
    grads["by"] = delta.sum(axis=0)                                   # (K,)
    return loss, grads


def loss_and_grads(params, X, y):
    """Mean-squared error of the model on a batch, and its gradient on every parameter.

    Parameters
    ----------
    params : dict
        From :func:`init_model`.
    X : (N, T, D) ndarray
        Input sequences.
    y : (N, out_dim) ndarray
        Targets.

    Returns
    -------
    loss : float
        :math:`L = \\frac{1}{N K} \\sum_{n,k} (\\hat y_{nk} - y_{nk})^2`.
    grads : dict
        ``'Wx'``, ``'Wh'``, ``'b'`` (and ``'P'`` for 'lstm_peephole'),
        ``'Wy'``, ``'by'``: :math:`\\partial L / \\partial \\theta`, each the
        shape of its parameter.

    Raises
    ------
    ValueError
        If ``params`` is malformed or ``X``, ``y`` have the wrong shapes.

    Notes
    -----
    With :math:`\\delta = \\partial L/\\partial \\hat y = 2(\\hat y - y)/(N K)`:
    :math:`\\partial L/\\partial W_y = h_T^\\top \\delta`,
    :math:`\\partial L/\\partial b_y = \\sum_n \\delta_n`, and the recurrent
    layer's backward pass receives :math:`\\partial L/\\partial h_T = \\delta
    W_y^\\top` at the last step and zero elsewhere.
    """
    cell, D, _, out_dim = _check_params(params)
    X, y = _check_data(X, y, D, out_dim)
    return _loss_and_grads(cell, params, X, y)


def clip_by_global_norm(grads, clip_norm=None):
    """Scale a set of gradients down so that their global norm is at most ``clip_norm``.

    Parameters
    ----------
    grads : dict of str to ndarray
        The gradients of all parameters, any shapes (as from :func:`loss_and_grads`).
    clip_norm : float or None, optional
        The largest global norm allowed; ``None`` leaves the gradients as they are.

    Returns
    -------
    clipped : dict of str to ndarray
        The gradients times :math:`\\min(1, c / \\|g\\|)`: same keys and shapes.
    norm : float
        The global norm :math:`\\|g\\|` before clipping.

    Raises
    ------
    ValueError
        If ``clip_norm`` is given and not positive.

    Notes
    -----
    All gradients are treated as one long vector :math:`g`:
    :math:`\\|g\\| = (\\sum_\\theta \\sum g_\\theta^2)^{1/2}`, and
    :math:`g \\leftarrow g \\cdot \\min(1, c / \\|g\\|)` keeps its direction and
    caps its length (Keras's ``global_clipnorm``; Pascanu et al. 2013).
    """
    clip_norm = check_clip_norm(clip_norm)
    norm = float(np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in grads.values())))
    if clip_norm is None or norm <= clip_norm:
        return dict(grads), norm
    scale = clip_norm / norm
    return {k: g * scale for k, g in grads.items()}, norm


def fit(params, X, y, rng, epochs=20, batch_size=32, lr=1e-2, clip_norm=None,
        X_val=None, y_val=None, beta_1=0.9, beta_2=0.999, epsilon=1e-7, shuffle=True):
    """Train the model with Adam on the mean-squared error, in minibatches.

    Parameters
    ----------
    params : dict
        From :func:`init_model`; not modified.
    X : (N, T, D) ndarray
        Training sequences.
    y : (N, out_dim) ndarray
        Training targets.
    rng : numpy.random.Generator
        Shuffles the samples at the start of every epoch.
    epochs : int, optional
        Passes over the training data.
    batch_size : int, optional
        Samples per update; the last batch of an epoch may be smaller.
    lr : float, optional
        Adam's learning rate :math:`\\eta`.
    clip_norm : float, optional
        If given, rescale every minibatch gradient whose global norm exceeds
        it to that norm (Keras's ``global_clipnorm``). Off by default.
    X_val : (M, T, D) ndarray, optional
    y_val : (M, out_dim) ndarray, optional
        Validation data, evaluated after every epoch.
    beta_1, beta_2, epsilon : float, optional
        Adam's constants, Keras's defaults.
    shuffle : bool, optional
        Shuffle the samples every epoch (with ``rng``).

    Returns
    -------
    params : dict
        The trained parameters, new arrays.
    history : dict of lists, one entry per epoch
        ``'loss'``: the mean of the minibatch losses of the epoch, weighted by
        batch size (as Keras reports it); ``'val_loss'``: the loss on the
        validation data after the epoch (empty if none was given);
        ``'grad_norm'``: the mean global norm of the gradients applied
        (after clipping); ``'grad_norm_raw'``: the same before clipping.

    Raises
    ------
    ValueError
        If a shape is wrong, or ``epochs``, ``batch_size``, ``lr`` or
        ``clip_norm`` is not positive.
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.

    Notes
    -----
    Global-norm clipping, then Adam (Kingma & Ba 2015, in the form Keras
    implements), for every parameter :math:`\\theta` with gradient :math:`g`
    at update :math:`t = 1, 2, \\dots`:

    .. math::

        g &\\leftarrow g \\cdot \\min\\big(1, c / \\|g\\|\\big),
        \\qquad \\|g\\| = \\Big(\\sum_{\\theta} \\sum g_\\theta^2\\Big)^{1/2} \\\\
        m_t &= \\beta_1 m_{t-1} + (1 - \\beta_1) g,
        \\qquad v_t = \\beta_2 v_{t-1} + (1 - \\beta_2) g^2 \\\\
        \\theta_t &= \\theta_{t-1} - \\eta \\frac{\\sqrt{1 - \\beta_2^t}}{1 - \\beta_1^t}
        \\frac{m_t}{\\sqrt{v_t} + \\epsilon}
    """
    cell, D, _, out_dim = _check_params(params)
    X, y = _check_data(X, y, D, out_dim)
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither")
    if X_val is not None:
        X_val, y_val = _check_data(X_val, y_val, D, out_dim, "X_val", "y_val")
    check_generator("rng", rng)
    epochs, batch_size = check_positive_int("epochs", epochs), check_positive_int("batch_size", batch_size)
    lr = check_positive("lr", lr)
    clip_norm = check_clip_norm(clip_norm)

    # Everything is checked once, above; the loop calls the unchecked functions.
    names = cell.param_names + READOUT_NAMES
    params = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in params.items()}
    m = {k: np.zeros_like(params[k]) for k in names}
    v = {k: np.zeros_like(params[k]) for k in names}
    history = {"loss": [], "val_loss": [], "grad_norm": [], "grad_norm_raw": []}
    N = X.shape[0]
    step = 0
    for _ in range(epochs):
        order = rng.permutation(N) if shuffle else np.arange(N)
        total = applied = raw = 0.0
        batches = 0
        for start in range(0, N, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = _loss_and_grads(cell, params, X[idx], y[idx])
            grads, norm = clip_by_global_norm(grads, clip_norm)
            scale = 1.0 if clip_norm is None else min(1.0, clip_norm / norm)
            step += 1
            alpha = lr * np.sqrt(1 - beta_2 ** step) / (1 - beta_1 ** step)
            for k in names:
                g = grads[k]
                m[k] *= beta_1
                m[k] += (1 - beta_1) * g
                v[k] *= beta_2
                v[k] += (1 - beta_2) * g * g
                params[k] -= (alpha * m[k] / (np.sqrt(v[k]) + epsilon)).astype(
                    params[k].dtype, copy=False)
            total += loss * len(idx)
            raw += norm
            applied += norm * scale
            batches += 1
        history["loss"].append(total / N)
        history["grad_norm"].append(applied / batches)
        history["grad_norm_raw"].append(raw / batches)
        if X_val is not None:
            err = _predict(cell, params, X_val)[1] - y_val
            history["val_loss"].append(float(np.mean(err * err)))
    return params, history
