"""The simple tanh RNN in NumPy, the baseline the LSTM is compared against.

Weights follow ``keras.layers.SimpleRNN``: ``Wx`` is ``kernel`` ``(D, H)``,
``Wh`` is ``recurrent_kernel`` ``(H, H)``, ``b`` is ``bias`` ``(H,)``. Inputs are
batch-first ``(N, T, D)``. One step:

.. math::

    h_t = \\tanh(x_t W_x + h_{t-1} W_h + b)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import as_float_array, check_shape, common_dtype

__all__ = [
    "RNNStepCache",
    "RNNCache",
    "rnn_step_forward",
    "rnn_step_backward",
    "rnn_forward",
    "rnn_backward",
    "check_rnn_weights",
]


def check_rnn_weights(Wx, Wh, b, D=None):
    """Check the shapes of simple-RNN weights against each other and the input.

    Parameters
    ----------
    Wx : (D, H) ndarray
    Wh : (H, H) ndarray
    b : (H,) ndarray
    D : int, optional
        The number of input features the weights must accept.

    Returns
    -------
    H : int
        The number of units.

    Raises
    ------
    ValueError
        If a shape is wrong; the message names the expected and the given shape.
    """
    check_shape("Wh", Wh, ("H", "H"), (None, None))
    H = Wh.shape[0]
    check_shape("Wh", Wh, ("H", "H"), (H, H))
    check_shape("Wx", Wx, ("D", "H"), (D, H))
    check_shape("b", b, ("H",), (H,))
    return H


def _tanh_backward(dh, h, out):
    """``out = dh * (1 - h**2)``: the gradient through ``h = tanh(a)``."""
    np.multiply(h, h, out=out)
    np.subtract(1, out, out=out)
    out *= dh


@dataclass(frozen=True)
class RNNStepCache:
    """What :func:`rnn_step_backward` needs from one forward step.

    Attributes
    ----------
    x : (N, D) ndarray
    h_prev : (N, H) ndarray
    Wx : (D, H) ndarray
    Wh : (H, H) ndarray
    h : (N, H) ndarray
        The new hidden state, ``tanh`` of the pre-activation.
    """

    x: np.ndarray
    h_prev: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    h: np.ndarray


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """One simple-RNN time step, forward.

    Parameters
    ----------
    x : (N, D) ndarray
        The inputs at this step.
    h_prev : (N, H) ndarray
        The previous hidden state.
    Wx : (D, H) ndarray
        Input weights (Keras's ``kernel``).
    Wh : (H, H) ndarray
        Recurrent weights (Keras's ``recurrent_kernel``).
    b : (H,) ndarray
        Bias.

    Returns
    -------
    h : (N, H) ndarray
        The new hidden state.
    cache : RNNStepCache
        Values for :func:`rnn_step_backward`.

    Notes
    -----
    :math:`h_t = \\tanh(x_t W_x + h_{t-1} W_h + b)`.
    """
    x = as_float_array("x", x)
    h_prev = as_float_array("h_prev", h_prev)
    Wx, Wh, b = (as_float_array(n, a) for n, a in (("Wx", Wx), ("Wh", Wh), ("b", b)))
    check_shape("x", x, ("N", "D"), (None, None))
    N, D = x.shape
    H = check_rnn_weights(Wx, Wh, b, D)
    check_shape("h_prev", h_prev, ("N", "H"), (N, H))
    dtype = common_dtype(x, h_prev, Wx, Wh, b)
    h = np.asarray(x @ Wx + h_prev @ Wh + b, dtype=dtype)   # (N, H)
    np.tanh(h, out=h)
    return h, RNNStepCache(x, h_prev, Wx, Wh, h)


def rnn_step_backward(dh, cache):
    """One simple-RNN time step, backward.

    Parameters
    ----------
    dh : (N, H) ndarray
        Upstream gradient on the new hidden state.
    cache : RNNStepCache
        From :func:`rnn_step_forward`.

    Returns
    -------
    dx : (N, D) ndarray
    dh_prev : (N, H) ndarray
    dWx : (D, H) ndarray
    dWh : (H, H) ndarray
    db : (H,) ndarray

    Notes
    -----
    With :math:`\\delta = \\partial L/\\partial h_t \\odot (1 - h_t^2)`:
    :math:`\\partial L/\\partial h_{t-1} = \\delta W_h^\\top`, a matrix product
    at every step, which is why gradients vanish or explode over many steps.
    """
    N, H = cache.h.shape
    dh = as_float_array("dh", dh)
    check_shape("dh", dh, ("N", "H"), (N, H))
    da = np.empty_like(cache.h)                        # (N, H)
    _tanh_backward(dh, cache.h, da)
    return (da @ cache.Wx.T, da @ cache.Wh.T, cache.x.T @ da,
            cache.h_prev.T @ da, da.sum(axis=0))


class RNNCache:
    """What :func:`rnn_backward` needs from :func:`rnn_forward`.

    Attributes
    ----------
    x : (N, T, D) ndarray
    Wx : (D, H) ndarray
    Wh : (H, H) ndarray
    hs : (T + 1, N, H) ndarray
        Hidden states, time-major, ``hs[0] = h0``.
    """

    def __init__(self, x, Wx, Wh, hs):
        self.x, self.Wx, self.Wh, self.hs = x, Wx, Wh, hs

    @property
    def shape(self):
        """tuple: ``(N, T, D, H)``."""
        N, T, D = self.x.shape
        return N, T, D, self.Wh.shape[0]

    @property
    def dtype(self):
        """numpy.dtype: the dtype of the forward pass (float32 or float64)."""
        return self.hs.dtype


def rnn_forward(x, Wx, Wh, b, h0=None):
    """Run a simple tanh RNN over a whole sequence.

    Parameters
    ----------
    x : (N, T, D) ndarray
        Input sequence, batch-first.
    Wx : (D, H) ndarray
    Wh : (H, H) ndarray
    b : (H,) ndarray
    h0 : (N, H) ndarray, optional
        Initial hidden state; zeros if omitted.

    Returns
    -------
    h : (N, T, H) ndarray
        The hidden state at every step.
    cache : RNNCache
        Values for :func:`rnn_backward`.

    Notes
    -----
    :math:`h_t = \\tanh(x_t W_x + h_{t-1} W_h + b)` for :math:`t = 1..T`; the
    input projection of all steps is one matrix product.
    """
    x = as_float_array("x", x)
    Wx, Wh, b = (as_float_array(n, a) for n, a in (("Wx", Wx), ("Wh", Wh), ("b", b)))
    check_shape("x", x, ("N", "T", "D"), (None, None, None))
    N, T, D = x.shape
    H = check_rnn_weights(Wx, Wh, b, D)
    if h0 is not None:
        h0 = as_float_array("h0", h0)
        check_shape("h0", h0, ("N", "H"), (N, H))
    dtype = common_dtype(x, Wx, Wh, b, h0)

    hs = np.empty((T + 1, N, H), dtype)
    hs[0] = 0 if h0 is None else h0
    x_tm = np.ascontiguousarray(x.swapaxes(0, 1), dtype=dtype)         # (T, N, D)
    proj = np.matmul(x_tm.reshape(T * N, D), Wx.astype(dtype, copy=False))
    proj = proj.reshape(T, N, H)
    proj += b.astype(dtype, copy=False)                                # (T, N, H)
    Wh_ = Wh.astype(dtype, copy=False)
    for t in range(T):
        np.matmul(hs[t], Wh_, out=hs[t + 1])                           # (N, H)
        hs[t + 1] += proj[t]
        np.tanh(hs[t + 1], out=hs[t + 1])
    return hs[1:].swapaxes(0, 1), RNNCache(x, Wx, Wh, hs)


def rnn_backward(dh, cache):
    """Backpropagation through time for :func:`rnn_forward`.

    Parameters
    ----------
    dh : (N, T, H) ndarray
        Upstream gradient on the hidden state at every step.
    cache : RNNCache
        From :func:`rnn_forward`.

    Returns
    -------
    dx : (N, T, D) ndarray
    dh0 : (N, H) ndarray
    dWx : (D, H) ndarray
    dWh : (H, H) ndarray
    db : (H,) ndarray
    """
    N, T, D, H = cache.shape
    dh = as_float_array("dh", dh)
    check_shape("dh", dh, ("N", "T", "H"), (N, T, H))
    dtype = cache.hs.dtype
    Wh_t = cache.Wh.astype(dtype, copy=False).T
    da = np.empty((T, N, H), dtype)                                    # (T, N, H)
    dh_next = np.zeros((N, H), dtype)
    dh_t = np.empty((N, H), dtype)
    for t in range(T - 1, -1, -1):
        np.add(dh[:, t], dh_next, out=dh_t)
        _tanh_backward(dh_t, cache.hs[t + 1], da[t])
        np.matmul(da[t], Wh_t, out=dh_next)                            # (N, H)

    da_flat = da.reshape(T * N, H)
    x_flat = np.ascontiguousarray(cache.x.swapaxes(0, 1), dtype=dtype).reshape(T * N, D)
    dx = (da_flat @ cache.Wx.astype(dtype, copy=False).T).reshape(T, N, D).swapaxes(0, 1)
    dWx = x_flat.T @ da_flat                                           # (D, H)
    dWh = cache.hs[:-1].reshape(T * N, H).T @ da_flat                  # (H, H)
    db = da_flat.sum(axis=0)                                           # (H,)
    return dx, dh_next, dWx, dWh, db
