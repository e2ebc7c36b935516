"""The LSTM layer in NumPy: one step and a whole sequence, forward and backward.

Conventions (identical to ``keras.layers.LSTM``, so weights move between the two
with no transposes):

* inputs are batch-first, ``x`` of shape ``(N, T, D)`` = (samples, time_steps,
  features); ``H`` is Keras's ``units``;
* ``Wx`` is Keras's ``kernel`` ``(D, 4H)``, ``Wh`` its ``recurrent_kernel``
  ``(H, 4H)``, ``b`` its ``bias`` ``(4H,)``;
* the four gate blocks of every ``4H`` axis are in the order **i, f, c, o**:
  input gate, forget gate, candidate (written ``g`` here), output gate.

The equations, in row-vector form, for one step:

.. math::

    z_t &= x_t W_x + h_{t-1} W_h + b \\\\
    i_t = \\sigma(z^{(i)}_t),\\quad f_t &= \\sigma(z^{(f)}_t),\\quad
    g_t = \\tanh(z^{(g)}_t),\\quad o_t = \\sigma(z^{(o)}_t) \\\\
    c_t &= f_t \\odot c_{t-1} + i_t \\odot g_t \\\\
    h_t &= o_t \\odot \\tanh(c_t)

Forward functions return their outputs and a cache; backward functions take the
upstream gradients and that cache and never recompute the forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import sigmoid
from .validation import as_float_array, check_shape, common_dtype

__all__ = [
    "LSTMStepCache",
    "LSTMCache",
    "split_gates",
    "lstm_step_forward",
    "lstm_step_backward",
    "lstm_forward",
    "lstm_backward",
    "check_lstm_weights",
]


def split_gates(gates):
    """Split a ``(..., 4H)`` array into its four gate blocks, in Keras's order.

    Parameters
    ----------
    gates : (..., 4H) ndarray
        Gate pre-activations or activations, blocks in the order i, f, c, o.

    Returns
    -------
    i, f, g, o : (..., H) ndarray
        Views of the input gate, forget gate, candidate and output gate blocks.
    """
    H = gates.shape[-1] // 4
    return (gates[..., :H], gates[..., H:2 * H],
            gates[..., 2 * H:3 * H], gates[..., 3 * H:])


def check_lstm_weights(Wx, Wh, b, D=None):
    """Check the shapes of LSTM weights against each other and the input size.

    Parameters
    ----------
    Wx : (D, 4H) ndarray
    Wh : (H, 4H) ndarray
    b : (4H,) ndarray
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
    check_shape("Wh", Wh, ("H", "4H"), (None, None))
    H = Wh.shape[0]
    check_shape("Wh", Wh, ("H", "4H"), (H, 4 * H))
    check_shape("Wx", Wx, ("D", "4H"), (D, 4 * H))
    check_shape("b", b, ("4H",), (4 * H,))
    return H


# --------------------------------------------------------------------------
# The arithmetic of one step, on preallocated buffers. The step functions and
# the sequence functions below both call these, so they share one code path.
# --------------------------------------------------------------------------

def _activate(z):
    """Turn pre-activations ``z`` (N, 4H) into gate values in place."""
    i, f, g, o = split_gates(z)
    sigmoid(i, out=i)
    sigmoid(f, out=f)
    np.tanh(g, out=g)
    sigmoid(o, out=o)


def _cell_forward(gates, c_prev, c, tanh_c, h):
    """Compute ``c``, ``tanh(c)`` and ``h`` (each (N, H)) from gate values."""
    i, f, g, o = split_gates(gates)
    np.multiply(f, c_prev, out=c)      # f * c_prev            (N, H)
    np.multiply(i, g, out=h)           # i * g, h as scratch   (N, H)
    c += h                             # c = f*c_prev + i*g
    np.tanh(c, out=tanh_c)
    np.multiply(o, tanh_c, out=h)      # h = o * tanh(c)


def _cell_backward(dh, dc, gates, c_prev, tanh_c, dz):
    """Gradients through one cell, given the total gradients on ``h`` and ``c``.

    Writes the gradient on the pre-activations into ``dz`` (N, 4H) and returns
    the gradient on ``c_prev`` (N, H).
    """
    i, f, g, o = split_gates(gates)
    di, df, dg, do = split_gates(dz)
    # do = dh * tanh(c); dc_total = dc + dh * o * (1 - tanh(c)^2)
    np.multiply(dh, tanh_c, out=do)
    dc_total = np.multiply(tanh_c, tanh_c)
    np.subtract(1, dc_total, out=dc_total)
    dc_total *= o
    dc_total *= dh
    dc_total += dc
    np.multiply(dc_total, g, out=di)           # dL/di
    np.multiply(dc_total, c_prev, out=df)      # dL/df
    np.multiply(dc_total, i, out=dg)           # dL/dg
    # through the activations: sigma' = s(1-s), tanh' = 1-t^2
    di *= i
    di *= 1 - i
    df *= f
    df *= 1 - f
    dg *= 1 - g * g
    do *= o
    do *= 1 - o
    dc_total *= f                              # dL/dc_prev
    return dc_total


# --------------------------------------------------------------------------
# One step
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class LSTMStepCache:
    """What :func:`lstm_step_backward` needs from one forward step.

    Attributes
    ----------
    x : (N, D) ndarray
    h_prev, c_prev : (N, H) ndarray
    Wx : (D, 4H) ndarray
    Wh : (H, 4H) ndarray
    gates : (N, 4H) ndarray
        Gate values i, f, g, o after their activations.
    tanh_c : (N, H) ndarray
        ``tanh`` of the new cell state.
    """

    x: np.ndarray
    h_prev: np.ndarray
    c_prev: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    gates: np.ndarray
    tanh_c: np.ndarray


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM time step, forward.

    Parameters
    ----------
    x : (N, D) ndarray
        The inputs at this step.
    h_prev : (N, H) ndarray
        The previous hidden state.
    c_prev : (N, H) ndarray
        The previous cell state.
    Wx : (D, 4H) ndarray
        Input weights (Keras's ``kernel``), gate blocks i, f, c, o.
    Wh : (H, 4H) ndarray
        Recurrent weights (Keras's ``recurrent_kernel``).
    b : (4H,) ndarray
        Bias.

    Returns
    -------
    h : (N, H) ndarray
        The new hidden state.
    c : (N, H) ndarray
        The new cell state.
    cache : LSTMStepCache
        Values for :func:`lstm_step_backward`.

    Notes
    -----
    .. math::

        z &= x W_x + h_{t-1} W_h + b \\\\
        i = \\sigma(z_i),\\; f &= \\sigma(z_f),\\; g = \\tanh(z_g),\\;
        o = \\sigma(z_o) \\\\
        c_t &= f \\odot c_{t-1} + i \\odot g \\\\
        h_t &= o \\odot \\tanh(c_t)
    """
    x = as_float_array("x", x)
    h_prev = as_float_array("h_prev", h_prev)
    c_prev = as_float_array("c_prev", c_prev)
    Wx, Wh, b = (as_float_array(n, a) for n, a in (("Wx", Wx), ("Wh", Wh), ("b", b)))
    check_shape("x", x, ("N", "D"), (None, None))
    N, D = x.shape
    H = check_lstm_weights(Wx, Wh, b, D)
    check_shape("h_prev", h_prev, ("N", "H"), (N, H))
    check_shape("c_prev", c_prev, ("N", "H"), (N, H))
    dtype = common_dtype(x, h_prev, c_prev, Wx, Wh, b)

    z = x @ Wx + h_prev @ Wh + b                       # (N, 4H)
    gates = np.asarray(z, dtype=dtype)
    _activate(gates)
    c = np.empty((N, H), dtype)
    tanh_c = np.empty((N, H), dtype)
    h = np.empty((N, H), dtype)
    _cell_forward(gates, c_prev, c, tanh_c, h)
    return h, c, LSTMStepCache(x, h_prev, c_prev, Wx, Wh, gates, tanh_c)


def lstm_step_backward(dh, dc, cache):
    """One LSTM time step, backward.

    Parameters
    ----------
    dh : (N, H) ndarray
        Upstream gradient on the new hidden state ``h``.
    dc : (N, H) ndarray
        Upstream gradient on the new cell state ``c``.
    cache : LSTMStepCache
        From :func:`lstm_step_forward`.

    Returns
    -------
    dx : (N, D) ndarray
        Gradient on the input.
    dh_prev : (N, H) ndarray
        Gradient on the previous hidden state.
    dc_prev : (N, H) ndarray
        Gradient on the previous cell state.
    dWx : (D, 4H) ndarray
    dWh : (H, 4H) ndarray
    db : (4H,) ndarray
        Gradients on the weights.

    Notes
    -----
    With :math:`\\bar c = \\partial L/\\partial c_t + \\partial L/\\partial h_t
    \\odot o \\odot (1 - \\tanh^2 c_t)`:
    :math:`\\partial L/\\partial c_{t-1} = \\bar c \\odot f`, and the gradient on
    the pre-activations is :math:`\\bar c \\odot g \\odot i(1-i)`,
    :math:`\\bar c \\odot c_{t-1} \\odot f(1-f)`, :math:`\\bar c \\odot i
    \\odot (1-g^2)`, :math:`\\partial L/\\partial h_t \\odot \\tanh c_t \\odot
    o(1-o)` for i, f, g, o.
    """
    N, H = cache.h_prev.shape
    dh = as_float_array("dh", dh)
    dc = as_float_array("dc", dc)
    check_shape("dh", dh, ("N", "H"), (N, H))
    check_shape("dc", dc, ("N", "H"), (N, H))
    dz = np.empty_like(cache.gates)                   # (N, 4H)
    dc_prev = _cell_backward(dh, dc, cache.gates, cache.c_prev, cache.tanh_c, dz)
    dx = dz @ cache.Wx.T                              # (N, D)
    dh_prev = dz @ cache.Wh.T                         # (N, H)
    dWx = cache.x.T @ dz                              # (D, 4H)
    dWh = cache.h_prev.T @ dz                         # (H, 4H)
    db = dz.sum(axis=0)                               # (4H,)
    return dx, dh_prev, dc_prev, dWx, dWh, db


# --------------------------------------------------------------------------
# A whole sequence: the same arithmetic as the step functions above (the tests
# hold the two against each other), arranged for speed: one matrix product for
# the input projection of every step, preallocated time-major buffers,
# in-place activations, and in backward, the weight gradients of a block of
# steps summed with one product each.
# --------------------------------------------------------------------------

def _gate_scale_shift(H, dtype):
    """Per-column factors that turn ``tanh`` into the four gate activations.

    Returns ``scale`` and ``shift`` (4H,) with ``scale = 1/2, shift = 1/2`` in the
    sigmoid blocks i, f, o and ``scale = 1, shift = 0`` in the candidate block g,
    so that ``tanh(z * scale) * scale + shift`` is ``sigmoid(z)`` or ``tanh(z)``.
    """
    scale = np.full(4 * H, 0.5, dtype)
    scale[2 * H:3 * H] = 1
    shift = np.full(4 * H, 0.5, dtype)
    shift[2 * H:3 * H] = 0
    return scale, shift


def _backward_block_length(N, T):
    """Steps per block in :func:`lstm_backward`: about 4096 rows per product."""
    return min(T, max(8, -(-4096 // N)))


class LSTMCache:
    """What :func:`lstm_backward` needs from :func:`lstm_forward`.

    The arrays are stored time-major, so that each step's slice is contiguous;
    the properties give batch-first views.

    Attributes
    ----------
    x_tm : (T, N, D) ndarray
        The input sequence, time-major (``x`` gives it batch-first).
    Wx : (D, 4H) ndarray
    Wh : (H, 4H) ndarray
    hs, cs : (T + 1, N, H) ndarray
        Hidden and cell states, time-major, ``hs[0] = h0`` and ``cs[0] = c0``.
    gates_tm : (T, N, 4H) ndarray
        Gate values after their activations, time-major.
    tanh_cs : (T, N, H) ndarray
        ``tanh`` of every cell state, time-major.
    """

    def __init__(self, x_tm, Wx, Wh, hs, cs, gates_tm, tanh_cs):
        self.x_tm, self.Wx, self.Wh = x_tm, Wx, Wh
        self.hs, self.cs, self.gates_tm, self.tanh_cs = hs, cs, gates_tm, tanh_cs

    @property
    def x(self):
        """(N, T, D) ndarray: the input sequence, batch-first."""
        return self.x_tm.swapaxes(0, 1)

    @property
    def gates(self):
        """(N, T, 4H) ndarray: the gate activations i, f, g, o at every step."""
        return self.gates_tm.swapaxes(0, 1)

    @property
    def i(self):
        """(N, T, H) ndarray: input gate values."""
        return split_gates(self.gates)[0]

    @property
    def f(self):
        """(N, T, H) ndarray: forget gate values."""
        return split_gates(self.gates)[1]

    @property
    def g(self):
        """(N, T, H) ndarray: candidate values (Keras's ``c`` block)."""
        return split_gates(self.gates)[2]

    @property
    def o(self):
        """(N, T, H) ndarray: output gate values."""
        return split_gates(self.gates)[3]

    @property
    def shape(self):
        """tuple: ``(N, T, D, H)``."""
        T, N, D = self.x_tm.shape
        return N, T, D, self.Wh.shape[0]


def lstm_forward(x, Wx, Wh, b, h0=None, c0=None):
    """Run an LSTM over a whole sequence.

    Parameters
    ----------
    x : (N, T, D) ndarray
        Input sequence, batch-first as Keras's ``(samples, time_steps, features)``.
    Wx : (D, 4H) ndarray
        Input weights (Keras's ``kernel``), gate blocks i, f, c, o.
    Wh : (H, 4H) ndarray
        Recurrent weights (Keras's ``recurrent_kernel``).
    b : (4H,) ndarray
        Bias.
    h0 : (N, H) ndarray, optional
        Initial hidden state; zeros if omitted.
    c0 : (N, H) ndarray, optional
        Initial cell state; zeros if omitted.

    Returns
    -------
    h : (N, T, H) ndarray
        The hidden state at every step (Keras's output with
        ``return_sequences=True``); ``h[:, -1]`` is the last one.
    c : (N, T, H) ndarray
        The cell state at every step; ``c[:, -1]`` is Keras's returned cell state.
    cache : LSTMCache
        Values for :func:`lstm_backward`; ``cache.gates`` (N, T, 4H) and
        ``cache.i``, ``cache.f``, ``cache.g``, ``cache.o`` (N, T, H) hold the
        gate activations.

    Notes
    -----
    For :math:`t = 1, \\dots, T`:

    .. math::

        z_t &= x_t W_x + h_{t-1} W_h + b \\\\
        c_t &= \\sigma(z^{(f)}_t) \\odot c_{t-1}
               + \\sigma(z^{(i)}_t) \\odot \\tanh(z^{(g)}_t) \\\\
        h_t &= \\sigma(z^{(o)}_t) \\odot \\tanh(c_t)

    The input projection :math:`x_t W_x + b` of all steps is one matrix product;
    each step then adds one ``(N, H) @ (H, 4H)`` product. All buffers are
    allocated once, and float32 input stays float32.
    """
    x = as_float_array("x", x)
    Wx, Wh, b = (as_float_array(n, a) for n, a in (("Wx", Wx), ("Wh", Wh), ("b", b)))
    check_shape("x", x, ("N", "T", "D"), (None, None, None))
    N, T, D = x.shape
    H = check_lstm_weights(Wx, Wh, b, D)
    if h0 is not None:
        h0 = as_float_array("h0", h0)
        check_shape("h0", h0, ("N", "H"), (N, H))
    if c0 is not None:
        c0 = as_float_array("c0", c0)
        check_shape("c0", c0, ("N", "H"), (N, H))
    dtype = common_dtype(x, Wx, Wh, b, h0, c0)

    hs = np.empty((T + 1, N, H), dtype)
    cs = np.empty((T + 1, N, H), dtype)
    hs[0] = 0 if h0 is None else h0
    cs[0] = 0 if c0 is None else c0
    tanh_cs = np.empty((T, N, H), dtype)

    # sigma(z) = (1 + tanh(z / 2)) / 2: scaling the i, f, o columns of the
    # weights by 1/2 (exact in floating point) lets one tanh over all 4H
    # columns, then one multiply-add, activate all four gates.
    scale, shift = _gate_scale_shift(H, dtype)                         # (4H,)
    Wh_s = Wh * scale                                                  # (H, 4H)
    # Input projection of every step at once, time-major: (T*N, D) @ (D, 4H).
    x_tm = np.ascontiguousarray(x.swapaxes(0, 1), dtype=dtype)          # (T, N, D)
    gates = np.matmul(x_tm.reshape(T * N, D), Wx * scale).reshape(T, N, 4 * H)
    gates += b * scale                                                 # (T, N, 4H)
    rec = np.empty((N, 4 * H), dtype)
    ig = np.empty((N, H), dtype)
    for t in range(T):
        z = gates[t]
        np.matmul(hs[t], Wh_s, out=rec)                                # (N, 4H)
        z += rec
        np.tanh(z, out=z)
        z *= scale
        z += shift                                                     # i, f, g, o
        i, f, g, o = split_gates(z)
        np.multiply(f, cs[t], out=cs[t + 1])                           # f * c_prev
        np.multiply(i, g, out=ig)
        cs[t + 1] += ig                                                # c = f*c_prev + i*g
        np.tanh(cs[t + 1], out=tanh_cs[t])
        np.multiply(o, tanh_cs[t], out=hs[t + 1])                      # h = o * tanh(c)

    cache = LSTMCache(x_tm, Wx, Wh, hs, cs, gates, tanh_cs)
    return hs[1:].swapaxes(0, 1), cs[1:].swapaxes(0, 1), cache


def lstm_backward(dh, cache, dc_last=None):
    """Backpropagation through time for :func:`lstm_forward`.

    Parameters
    ----------
    dh : (N, T, H) ndarray
        Upstream gradient on the hidden state at every step. For a loss on the
        last output only, it is zero except ``dh[:, -1]``.
    cache : LSTMCache
        From :func:`lstm_forward`.
    dc_last : (N, H) ndarray, optional
        Upstream gradient on the last cell state (when it is used, as Keras's
        ``return_state`` does); zeros if omitted.

    Returns
    -------
    dx : (N, T, D) ndarray
        Gradient on the input sequence.
    dh0 : (N, H) ndarray
        Gradient on the initial hidden state.
    dc0 : (N, H) ndarray
        Gradient on the initial cell state.
    dWx : (D, 4H) ndarray
    dWh : (H, 4H) ndarray
    db : (4H,) ndarray
        Gradients on the weights.

    Notes
    -----
    Going backward from :math:`t = T`, the gradient reaching :math:`h_{t-1}` is
    the upstream ``dh[:, t-1]`` plus :math:`\\delta z_t W_h^\\top`, and the one
    reaching :math:`c_{t-1}` is :math:`\\bar c_t \\odot f_t`: an element-wise
    product with the forget gate, not a matrix product, which is why the cell
    state lets gradients travel far. The weight gradients of all steps are
    summed with one matrix product each at the end.
    """
    N, T, D, H = cache.shape
    dh = as_float_array("dh", dh)
    check_shape("dh", dh, ("N", "T", "H"), (N, T, H))
    dtype = cache.gates_tm.dtype
    dc = np.zeros((N, H), dtype)
    if dc_last is not None:
        dc_last = as_float_array("dc_last", dc_last)
        check_shape("dc_last", dc_last, ("N", "H"), (N, H))
        dc[...] = dc_last
    Wx_t = cache.Wx.astype(dtype, copy=False).T                       # (4H, D)
    Wh_t = cache.Wh.astype(dtype, copy=False).T                       # (4H, H)
    dWx = np.zeros((D, 4 * H), dtype)
    dWh = np.zeros((H, 4 * H), dtype)
    db = np.zeros(4 * H, dtype)
    dx = np.empty((T, N, D), dtype)                                   # time-major
    L = _backward_block_length(N, T)
    dz_buf = np.empty((L, N, 4, H), dtype)
    a_buf = np.empty((L, N, H), dtype)
    dh_next = np.zeros((N, H), dtype)
    dh_t = np.empty((N, H), dtype)
    dc_t = np.empty((N, H), dtype)
    for end in range(T, 0, -L):
        start = max(0, end - L)
        n = end - start
        dz4, a = dz_buf[:n], a_buf[:n]                                # (n, N, 4, H), (n, N, H)
        i, f, g, o = split_gates(cache.gates_tm[start:end])          # (n, N, H) each
        c_prev, tanh_c = cache.cs[start:end], cache.tanh_cs[start:end]
        # What does not depend on the upstream gradient, for the whole block:
        # dz = [dc*g*i(1-i), dc*c_prev*f(1-f), dc*i*(1-g^2), dh*tanh(c)*o(1-o)]
        for k, (gate, factor) in enumerate(((i, g), (f, c_prev))):
            np.subtract(1, gate, out=dz4[:, :, k])
            dz4[:, :, k] *= gate
            dz4[:, :, k] *= factor
        np.multiply(g, g, out=dz4[:, :, 2])
        np.subtract(1, dz4[:, :, 2], out=dz4[:, :, 2])
        dz4[:, :, 2] *= i
        np.subtract(1, o, out=dz4[:, :, 3])
        dz4[:, :, 3] *= o
        dz4[:, :, 3] *= tanh_c
        np.multiply(tanh_c, tanh_c, out=a)                            # a = o (1 - tanh^2 c)
        np.subtract(1, a, out=a)
        a *= o
        for k in range(n - 1, -1, -1):
            t = start + k
            np.add(dh[:, t], dh_next, out=dh_t)                       # total dL/dh_t
            np.multiply(dh_t, a[k], out=dc_t)
            dc_t += dc                                                # total dL/dc_t
            dz4[k, :, :3] *= dc_t[:, None, :]
            dz4[k, :, 3] *= dh_t
            np.multiply(dc_t, f[k], out=dc)                           # dL/dc_{t-1}
            np.matmul(dz4[k].reshape(N, 4 * H), Wh_t, out=dh_next)    # dL/dh_{t-1}
        dz = dz4.reshape(n * N, 4 * H)
        dWx += cache.x_tm[start:end].reshape(n * N, D).T @ dz         # (D, 4H)
        dWh += cache.hs[start:end].reshape(n * N, H).T @ dz           # (H, 4H)
        db += dz.sum(axis=0)
        np.matmul(dz, Wx_t, out=dx[start:end].reshape(n * N, D))      # (n*N, D)
    return dx.swapaxes(0, 1), dh_next, dc, dWx, dWh, db
