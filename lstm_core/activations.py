"""Element-wise activations used by the LSTM and RNN cells."""

from __future__ import annotations

import numpy as np


def sigmoid(x, out=None):
    """Logistic sigmoid, ``1 / (1 + exp(-x))``, that never overflows.

    Parameters
    ----------
    x : array_like
        Any shape.
    out : ndarray, optional
        Where to write the result (may be ``x`` itself, for an in-place update).

    Returns
    -------
    s : ndarray
        Same shape as ``x``, every value in ``[0, 1]``.

    Notes
    -----
    Computed as :math:`\\sigma(x) = \\tfrac12 (1 + \\tanh(x / 2))`, an identity
    that needs no ``exp`` of a large number, so ``sigmoid(-1000.0)`` is ``0.0``
    with no overflow warning, and which runs in place without temporaries.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if out is None:
        out = np.empty_like(x)
    np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out
