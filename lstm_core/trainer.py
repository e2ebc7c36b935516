"""A small, honest NumPy trainer: a recurrent layer, a dense read-out, MSE and Adam.

The model is what ``keras.Sequential([keras.Input((T, D)), LSTM(H),
Dense(out_dim)])`` computes (or ``SimpleRNN(H)``): the recurrent layer of
:mod:`lstm_core.lstm` or :mod:`lstm_core.rnn` runs over the sequence and a
dense layer reads out its last hidden state,

.. math::

    \\hat y = h_T W_y + b_y,
    \\qquad L = \\frac{1}{N\\,K} \\sum_{n=1}^{N} \\sum_{k=1}^{K}
    (\\hat y_{nk} - y_{nk})^2 .

The gradients come from :func:`lstm_core.lstm_backward` /
:func:`lstm_core.rnn_backward`; :func:`loss_and_grads` exposes them so they can
be checked against central differences. Nothing here mutates its arguments:
:func:`fit` trains a copy and returns it.
"""

from __future__ import annotations

import numbers

import numpy as np

from .init import glorot_uniform, init_lstm_params, init_rnn_params
from .lstm import check_lstm_weights, lstm_backward, lstm_forward
from .rnn import check_rnn_weights, rnn_backward, rnn_forward
from .validation import as_float_array, check_cell, check_shape

__all__ = ["init_model", "predict", "loss_and_grads", "clip_by_global_norm", "fit", "PARAM_NAMES"]

PARAM_NAMES = ("Wx", "Wh", "b", "Wy", "by")



def _check_params(params):
    """Validate a parameter dict; return ``(cell, D, H, out_dim)``."""
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict from init_model; got {type(params).__name__}")
    missing = [k for k in ("cell",) + PARAM_NAMES if k not in params]
    if missing:
        raise ValueError(f"params lacks {missing}; expected keys {('cell',) + PARAM_NAMES}")
    cell = check_cell(params["cell"])
    Wx, Wh, b = params["Wx"], params["Wh"], params["b"]
    H = (check_lstm_weights if cell == "lstm" else check_rnn_weights)(Wx, Wh, b)
    D = Wx.shape[0]
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
    cell : {'lstm', 'rnn'}
        The recurrent layer.
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
        ``'cell'``: 'lstm' or 'rnn';
        ``'Wx'``: (D, 4H) or (D, H) ndarray, Glorot uniform;
        ``'Wh'``: (H, 4H) or (H, H) ndarray, orthogonal;
        ``'b'``: (4H,) or (H,) ndarray, zeros (forget-gate block 1 for the LSTM);
        ``'Wy'``: (H, out_dim) ndarray, Glorot uniform;
        ``'by'``: (out_dim,) ndarray, zeros.

    Raises
    ------
    ValueError
        If ``cell`` is not 'lstm' or 'rnn', or a size is not a positive integer.
    """
    cell = check_cell(cell)
    for name, value in (("D", D), ("H", H), ("out_dim", out_dim)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if cell == "lstm":
        Wx, Wh, b = init_lstm_params(D, H, rng, dtype=dtype)
    else:
        Wx, Wh, b = init_rnn_params(D, H, rng, dtype=dtype)
    return {"cell": cell, "Wx": Wx, "Wh": Wh, "b": b,
            "Wy": glorot_uniform((H, out_dim), rng, dtype), "by": np.zeros(out_dim, dtype)}


def _forward(params, X, cell):
    """Run the recurrent layer; return the last hidden state (N, H) and the cache."""
    if cell == "lstm":
        h, _, cache = lstm_forward(X, params["Wx"], params["Wh"], params["b"])
    else:
        h, cache = rnn_forward(X, params["Wx"], params["Wh"], params["b"])
    return h[:, -1], cache                                            # (N, H)


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
    hT, _ = _forward(params, X, cell)
    return hT @ params["Wy"] + params["by"]                          # (N, out_dim)


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
        ``'Wx'``, ``'Wh'``, ``'b'``, ``'Wy'``, ``'by'``: :math:`\\partial L /
        \\partial \\theta`, each the shape of its parameter.

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
    cell, D, H, out_dim = _check_params(params)
    X, y = _check_data(X, y, D, out_dim)
    hT, cache = _forward(params, X, cell)
    y_hat = hT @ params["Wy"] + params["by"]                          # (N, K)
    err = y_hat - y                                                   # (N, K)
    loss = float(np.mean(err * err))
    delta = 2.0 * err / err.size                                      # (N, K)
    dh = np.zeros((X.shape[0], X.shape[1], H), hT.dtype)              # (N, T, H)
    dh[:, -1] = delta @ params["Wy"].T                                # (N, H)
    if cell == "lstm":
        _, _, _, dWx, dWh, db = lstm_backward(dh, cache)
    else:
        _, _, dWx, dWh, db = rnn_backward(dh, cache)
    grads = {"Wx": dWx, "Wh": dWh, "b": db,
             "Wy": hT.T @ delta,                                      # (H, K)
             "by": delta.sum(axis=0)}                                 # (K,)
    return loss, grads


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
    if clip_norm is not None and not clip_norm > 0:
        raise ValueError(f"clip_norm must be positive or None; got {clip_norm!r}")
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
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive; got {lr!r}")
    if clip_norm is not None and not clip_norm > 0:
        raise ValueError(f"clip_norm must be positive or None; got {clip_norm!r}")

    params = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in params.items()}
    m = {k: np.zeros_like(params[k]) for k in PARAM_NAMES}
    v = {k: np.zeros_like(params[k]) for k in PARAM_NAMES}
    history = {"loss": [], "val_loss": [], "grad_norm": [], "grad_norm_raw": []}
    N = X.shape[0]
    step = 0
    for _ in range(epochs):
        order = rng.permutation(N) if shuffle else np.arange(N)
        total = applied = raw = 0.0
        batches = 0
        for start in range(0, N, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = loss_and_grads(params, X[idx], y[idx])
            grads, norm = clip_by_global_norm(grads, clip_norm)
            scale = 1.0 if clip_norm is None else min(1.0, clip_norm / norm)
            step += 1
            alpha = lr * np.sqrt(1 - beta_2 ** step) / (1 - beta_1 ** step)
            for k in PARAM_NAMES:
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
            err = predict(params, X_val) - y_val
            history["val_loss"].append(float(np.mean(err * err)))
    return params, history
