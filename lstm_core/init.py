"""Weight initialisation matching Keras's defaults for ``LSTM`` and ``SimpleRNN``."""

from __future__ import annotations

import numpy as np

from .validation import check_generator, check_positive_int

__all__ = ["glorot_uniform", "orthogonal", "init_lstm_params", "init_rnn_params"]


def glorot_uniform(shape, rng, dtype=np.float32):
    """Glorot (Xavier) uniform initialisation, Keras's default ``kernel``.

    Parameters
    ----------
    shape : (fan_in, fan_out) tuple of int
    rng : numpy.random.Generator
    dtype : dtype, optional

    Returns
    -------
    W : (fan_in, fan_out) ndarray
        Uniform on ``[-l, l]`` with ``l = sqrt(6 / (fan_in + fan_out))``.
    """
    limit = np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def orthogonal(shape, rng, dtype=np.float32):
    """Orthogonal initialisation, Keras's default ``recurrent_kernel``.

    Parameters
    ----------
    shape : (rows, cols) tuple of int
    rng : numpy.random.Generator
    dtype : dtype, optional

    Returns
    -------
    W : (rows, cols) ndarray
        Orthonormal rows or columns (whichever are fewer), from the QR
        decomposition of a standard normal matrix.
    """
    rows, cols = shape
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))           # a uniform draw over orthogonal matrices
    if rows < cols:
        q = q.T
    return np.ascontiguousarray(q, dtype=dtype)


def init_lstm_params(D, H, rng, unit_forget_bias=True, dtype=np.float32):
    """Initial LSTM weights, as ``keras.layers.LSTM`` makes them.

    Parameters
    ----------
    D : int
        Number of input features.
    H : int
        Number of units.
    rng : numpy.random.Generator
        The source of randomness.
    unit_forget_bias : bool, optional
        Start the forget-gate bias at 1 (Keras's default, after Jozefowicz et
        al. 2015), so the cell keeps its state at the start of training.
    dtype : dtype, optional
        float32 (Keras's) by default; float64 for gradient checks.

    Returns
    -------
    Wx : (D, 4H) ndarray
        Glorot-uniform input weights, gate blocks i, f, c, o.
    Wh : (H, 4H) ndarray
        Orthogonal recurrent weights.
    b : (4H,) ndarray
        Zeros, with ``b[H:2H] = 1`` when ``unit_forget_bias``.

    Raises
    ------
    ValueError
        If ``D`` or ``H`` is not a positive integer.
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.
    """
    D, H = check_positive_int("D", D), check_positive_int("H", H)
    check_generator("rng", rng)
    Wx = glorot_uniform((D, 4 * H), rng, dtype)
    Wh = orthogonal((H, 4 * H), rng, dtype)
    b = np.zeros(4 * H, dtype)
    if unit_forget_bias:
        b[H:2 * H] = 1
    return Wx, Wh, b


def init_rnn_params(D, H, rng, dtype=np.float32):
    """Initial simple-RNN weights, as ``keras.layers.SimpleRNN`` makes them.

    Parameters
    ----------
    D : int
        Number of input features.
    H : int
        Number of units.
    rng : numpy.random.Generator
    dtype : dtype, optional

    Returns
    -------
    Wx : (D, H) ndarray
        Glorot-uniform input weights.
    Wh : (H, H) ndarray
        Orthogonal recurrent weights.
    b : (H,) ndarray
        Zeros.

    Raises
    ------
    ValueError
        If ``D`` or ``H`` is not a positive integer.
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.
    """
    D, H = check_positive_int("D", D), check_positive_int("H", H)
    check_generator("rng", rng)
    return (glorot_uniform((D, H), rng, dtype), orthogonal((H, H), rng, dtype),
            np.zeros(H, dtype))
