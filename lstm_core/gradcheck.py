"""Numerical gradients by central differences, and the relative error used to compare."""

from __future__ import annotations

import numpy as np

__all__ = ["numerical_gradient", "rel_error"]


def numerical_gradient(f, x, df=None, h=1e-5):
    """Gradient of ``f`` at ``x`` by central differences.

    Parameters
    ----------
    f : callable
        ``f(x) -> ndarray or float``, a function of one array argument.
    x : ndarray
        Any shape; the point at which to differentiate. It is not modified: the
        perturbations are made on a float64 copy.
    df : ndarray, optional
        Upstream gradient, the shape of ``f(x)``. The result is then the
        gradient of ``sum(f(x) * df)``; if omitted, of ``sum(f(x))``.
    h : float, optional
        Step size.

    Returns
    -------
    grad : ndarray
        Same shape as ``x``.

    Notes
    -----
    :math:`\\partial L/\\partial x_k \\approx (L(x + h e_k) - L(x - h e_k)) / 2h`
    with :math:`L(x) = \\sum f(x) \\odot df`; error :math:`O(h^2)`.
    """
    xp = np.array(x, dtype=np.float64, order="C")
    grad = np.zeros_like(xp)
    flat, gflat = xp.reshape(-1), grad.reshape(-1)

    def loss():
        out = np.asarray(f(xp), dtype=np.float64)
        if df is None:
            return out.sum()
        if out.shape != np.shape(df):
            raise ValueError(f"df must have the shape of f(x), {out.shape}; got {np.shape(df)}")
        return float(np.sum(out * df))

    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + h
        plus = loss()
        flat[k] = old - h
        minus = loss()
        flat[k] = old
        gflat[k] = (plus - minus) / (2 * h)
    return grad


def rel_error(a, b):
    """Largest element-wise relative error between two arrays.

    Parameters
    ----------
    a, b : array_like
        The same shape.

    Returns
    -------
    err : float
        :math:`\\max_k |a_k - b_k| / \\max(10^{-8}, |a_k| + |b_k|)`.

    Raises
    ------
    ValueError
        If the shapes differ.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs arrays of one shape; got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
