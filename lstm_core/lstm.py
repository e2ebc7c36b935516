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

There are two versions of the same arithmetic: the readable step functions
(:func:`lstm_step_forward`, :func:`lstm_step_backward`, through the helpers
``_activate``, ``_cell_forward``, ``_cell_backward``), and the fast sequence
functions (:func:`lstm_forward`, :func:`lstm_backward`), which do not loop over
the step functions but run the arithmetic inline on feature-major buffers. The
tests hold the two equal. The other gate layouts and cells (coupled, peephole,
no forget gate) are in :mod:`lstm_core.variants`.
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
# The arithmetic of one step, on preallocated buffers, called by the step
# functions below (lstm_step_forward, lstm_step_backward). The sequence functions
# (lstm_forward, lstm_backward) do not call them: they do the same arithmetic
# inline, on feature-major buffers arranged for speed (see the note above
# lstm_forward), and the tests hold the two against each other
# (tests/test_lstm_numpy.py, test_sequence_forward_and_backward_equal_a_loop_of_steps).
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
# hold the two against each other), arranged for speed. The buffers are
# feature-major, ``(T, features, N)``: every gate block of every step is then
# one contiguous ``(H, N)`` array, so each element-wise operation is a single
# contiguous NumPy loop (on a strided ``(N, H)`` view of an ``(N, 4H)`` array
# NumPy is several times slower). Each step does one matrix product,
# ``[Wx; Wh; b].T @ [x_t, h_{t-1}, 1].T``, that also adds the bias; backward does
# two, one for the gradients on ``x_t`` and ``h_{t-1}`` and one for the weights.
# All buffers are allocated once, and float32 input stays float32.
# --------------------------------------------------------------------------

def _backward_block_length(N, T, H):
    """Steps per block in :func:`lstm_backward`: about 2**20 values of dz per block."""
    return max(1, min(T, 2 ** 20 // (4 * H * N)))


class LSTMCache:
    """What :func:`lstm_backward` needs from :func:`lstm_forward`.

    The arrays are stored feature-major, ``(T, features, N)``, so that each
    step's gate blocks are contiguous; the properties give time-major
    ``(T, N, ...)`` and batch-first ``(N, T, ...)`` views of them (no copies).

    Attributes
    ----------
    xh : (T + 1, D + H + 1, N) ndarray
        Column ``n`` of ``xh[t]`` is ``[x_t; h_{t-1}; 1]`` for sample ``n``: the
        input of step ``t`` (zero at ``t = T``), the hidden state it reads, and a
        row of ones that carries the bias through the matrix product.
    Wx : (D, 4H) ndarray
    Wh : (H, 4H) ndarray
    cs_fm : (T + 1, H, N) ndarray
        Cell states, ``cs_fm[0] = c0.T``.
    gates_fm : (T, 4H, N) ndarray
        Gate values after their activations, rows in the order i, f, c, o.
    tanh_cs_fm : (T, H, N) ndarray
        ``tanh`` of every new cell state.
    """

    def __init__(self, xh, Wx, Wh, cs_fm, gates_fm, tanh_cs_fm):
        self.xh, self.Wx, self.Wh = xh, Wx, Wh
        self.cs_fm, self.gates_fm, self.tanh_cs_fm = cs_fm, gates_fm, tanh_cs_fm

    @property
    def shape(self):
        """tuple: ``(N, T, D, H)``."""
        (D, H), (T, _, N) = self.Wx.shape[:1] + self.Wh.shape[:1], self.gates_fm.shape
        return N, T, D, H

    @property
    def dtype(self):
        """numpy.dtype: the dtype of the forward pass (float32 or float64)."""
        return self.gates_fm.dtype

    @property
    def nbytes(self):
        """int: bytes held by the cache's arrays (each buffer counted once)."""
        return sum(a.nbytes for a in (self.xh, self.Wx, self.Wh, self.cs_fm,
                                      self.gates_fm, self.tanh_cs_fm))

    @property
    def x_tm(self):
        """(T, N, D) ndarray: the input sequence, time-major."""
        D = self.Wx.shape[0]
        return self.xh[:-1, :D].transpose(0, 2, 1)

    @property
    def x(self):
        """(N, T, D) ndarray: the input sequence, batch-first."""
        return self.x_tm.swapaxes(0, 1)

    @property
    def hs(self):
        """(T + 1, N, H) ndarray: hidden states, time-major, ``hs[0] = h0``."""
        D, H = self.Wx.shape[0], self.Wh.shape[0]
        return self.xh[:, D:D + H].transpose(0, 2, 1)

    @property
    def cs(self):
        """(T + 1, N, H) ndarray: cell states, time-major, ``cs[0] = c0``."""
        return self.cs_fm.transpose(0, 2, 1)

    @property
    def gates_tm(self):
        """(T, N, 4H) ndarray: gate values after their activations, time-major."""
        return self.gates_fm.transpose(0, 2, 1)

    @property
    def tanh_cs(self):
        """(T, N, H) ndarray: ``tanh`` of every cell state, time-major."""
        return self.tanh_cs_fm.transpose(0, 2, 1)

    @property
    def gates(self):
        """(N, T, 4H) ndarray: the gate activations i, f, g, o at every step."""
        return self.gates_fm.transpose(2, 0, 1)

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

    Each step is one matrix product, :math:`z_t^\\top = [W_x; W_h; b]^\\top
    [x_t, h_{t-1}, 1]^\\top`, computed feature-major so that every gate block
    is contiguous, and :math:`\\sigma(z) = (1 + \\tanh(z/2))/2`: the i, f, o
    columns of the weights are halved once (exact in floating point), so one
    ``tanh`` over all 4H rows, then a multiply-add on the three sigmoid blocks,
    activates the gates. ``h`` and ``c`` are views of the cache's buffers.
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

    xh = np.empty((T + 1, D + H + 1, N), dtype)        # [x_t; h_{t-1}; 1] per step
    xh[:T, :D] = x.transpose(1, 2, 0)
    xh[T, :D] = 0
    xh[0, D:D + H] = 0 if h0 is None else h0.T
    xh[:, D + H] = 1
    cs = np.empty((T + 1, H, N), dtype)
    cs[0] = 0 if c0 is None else c0.T
    gates = np.empty((T, 4 * H, N), dtype)
    tanh_cs = np.empty((T, H, N), dtype)

    W = np.concatenate([Wx, Wh, b[None]]).astype(dtype)                # (D+H+1, 4H)
    W[:, :2 * H] *= 0.5                                                # i, f: z / 2
    W[:, 3 * H:] *= 0.5                                                # o: z / 2
    W_t = np.ascontiguousarray(W.T)                                    # (4H, D+H+1)
    ig = np.empty((H, N), dtype)
    for t in range(T):
        z = gates[t]
        np.matmul(W_t, xh[t], out=z)                                   # (4H, N)
        np.tanh(z, out=z)
        for s in (z[:2 * H], z[3 * H:]):                               # i, f and o
            s *= 0.5
            s += 0.5
        i, f, g, o = z[:H], z[H:2 * H], z[2 * H:3 * H], z[3 * H:]     # (H, N) each
        c = cs[t + 1]
        np.multiply(f, cs[t], out=c)                                   # f * c_prev
        np.multiply(i, g, out=ig)
        c += ig                                                        # c = f*c_prev + i*g
        np.tanh(c, out=tanh_cs[t])
        np.multiply(o, tanh_cs[t], out=xh[t + 1, D:D + H])             # h = o * tanh(c)

    cache = LSTMCache(xh, Wx, Wh, cs, gates, tanh_cs)
    return cache.hs[1:].swapaxes(0, 1), cache.cs[1:].swapaxes(0, 1), cache


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
    state lets gradients travel far. Each step does two products, feature-major:
    :math:`[W_x; W_h]\\,\\delta z_t^\\top` gives the gradients on :math:`x_t` and
    :math:`h_{t-1}`, and :math:`\\delta z_t^\\top [x_t, h_{t-1}, 1]` the step's
    share of :math:`[\\partial W_x; \\partial W_h; \\partial b]^\\top`. The factors
    of :math:`\\delta z` that do not depend on the upstream gradient are
    computed for a block of steps at once.
    """
    N, T, D, H = cache.shape
    dh = as_float_array("dh", dh)
    check_shape("dh", dh, ("N", "T", "H"), (N, T, H))
    xh, gates_all = cache.xh, cache.gates_fm
    dtype = gates_all.dtype
    dc = np.zeros((H, N), dtype)
    if dc_last is not None:
        dc_last = as_float_array("dc_last", dc_last)
        check_shape("dc_last", dc_last, ("N", "H"), (N, H))
        dc[...] = dc_last.T
    W = np.concatenate([cache.Wx, cache.Wh]).astype(dtype, copy=False)  # (D+H, 4H)
    dW_t = np.zeros((4 * H, D + H + 1), dtype)        # columns: dWx.T, dWh.T, db
    dW_step = np.empty_like(dW_t)
    dx = np.empty((T, D, N), dtype)                   # feature-major
    dxh = np.zeros((D + H, N), dtype)                 # [dx_t; dh_{t-1}] of one step
    dh_next = dxh[D:]                                 # (H, N)
    L = _backward_block_length(N, T, H)
    dz_buf = np.empty((L, 4 * H, N), dtype)
    a_buf = np.empty((L, H, N), dtype)
    dh_buf = np.empty((L, H, N), dtype)
    dh_t = np.empty((H, N), dtype)
    dc_t = np.empty((H, N), dtype)
    for end in range(T, 0, -L):
        start = max(0, end - L)
        n = end - start
        dz, a, dhb = dz_buf[:n], a_buf[:n], dh_buf[:n]                # (n, 4H|H, N)
        G = gates_all[start:end]
        i, f, g, o = G[:, :H], G[:, H:2 * H], G[:, 2 * H:3 * H], G[:, 3 * H:]
        c_prev, tanh_c = cache.cs_fm[start:end], cache.tanh_cs_fm[start:end]
        np.copyto(dhb, dh[:, start:end].transpose(1, 2, 0))          # (n, H, N)
        # What does not depend on the upstream gradient, for the whole block:
        # dz = [dc*g*i(1-i), dc*c_prev*f(1-f), dc*i*(1-g^2), dh*tanh(c)*o(1-o)]
        for row, gate, factor in ((0, i, g), (H, f, c_prev), (3 * H, o, tanh_c)):
            blk = dz[:, row:row + H]                                  # (n, H, N)
            np.subtract(1, gate, out=blk)
            blk *= gate
            blk *= factor
        blk = dz[:, 2 * H:3 * H]
        np.multiply(g, g, out=blk)
        np.subtract(1, blk, out=blk)
        blk *= i
        np.multiply(tanh_c, tanh_c, out=a)                            # a = o (1 - tanh^2 c)
        np.subtract(1, a, out=a)
        a *= o
        for k in range(n - 1, -1, -1):
            t = start + k
            np.add(dhb[k], dh_next, out=dh_t)                         # total dL/dh_t
            np.multiply(dh_t, a[k], out=dc_t)
            dc_t += dc                                                # total dL/dc_t
            dz_t = dz[k]                                              # (4H, N)
            dz_ifg = dz_t[:3 * H].reshape(3, H, N)
            np.multiply(dz_ifg, dc_t, out=dz_ifg)                     # i, f, g rows
            dz_t[3 * H:] *= dh_t                                      # o rows
            np.multiply(dc_t, f[k], out=dc)                           # dL/dc_{t-1}
            np.matmul(W, dz_t, out=dxh)                               # (D+H, N)
            dx[t] = dxh[:D]                                           # dL/dx_t
            np.matmul(dz_t, xh[t].T, out=dW_step)                     # (4H, D+H+1)
            dW_t += dW_step
    dW = np.ascontiguousarray(dW_t.T)                                 # (D+H+1, 4H)
    return (dx.transpose(2, 0, 1), dh_next.T.copy(), dc.T.copy(),
            dW[:D], dW[D:D + H], dW[D + H])
