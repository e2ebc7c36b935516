"""Synthetic sequence tasks, as pure functions of a ``numpy.random.Generator``.

Every task returns ``(X, y)`` batch-first, exactly as Keras expects them:
``X`` of shape ``(N, T, D)`` = (samples, time_steps, features) and ``y`` of
shape ``(N, out_dim)``. Nothing here seeds or reads a global random state: the
same generator state gives the same data.

* :func:`adding_problem` -- remember two marked values anywhere in a long
  sequence and add them (Hochreiter & Schmidhuber 1997, in the variant of Le,
  Jaitly & Hinton 2015).
* :func:`delayed_recall` -- output the value seen ``lag`` steps before the end.
* :func:`noisy_sine` -- forecast the next value of a noisy periodic series.
* :func:`make_windows` -- cut any series into (window, next value) pairs.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "adding_problem",
    "adding_baseline_mse",
    "delayed_recall",
    "noisy_sine",
    "make_windows",
]


def _check_int(name, value, minimum):
    """Return ``value`` as an int, or raise ValueError if it is not one >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    return int(value)


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "rng must be a numpy.random.Generator (for example "
            f"numpy.random.default_rng(0)); got {type(rng).__name__}"
        )


def adding_problem(n_samples, T, rng, dtype=np.float32):
    """The adding problem: add the two marked numbers of a long sequence.

    Parameters
    ----------
    n_samples : int
        ``N``, the number of sequences, at least 1.
    T : int
        Sequence length, at least 2.
    rng : numpy.random.Generator
        The source of randomness.
    dtype : dtype, optional
        Floating type of ``X`` and ``y``.

    Returns
    -------
    X : (N, T, 2) ndarray
        Channel 0 holds values drawn uniformly from ``[0, 1)``; channel 1 is a
        marker, 1 at exactly two steps and 0 elsewhere: one step drawn
        uniformly from the first half ``[0, T // 2)`` and one from the second
        half ``[T // 2, T)``.
    y : (N, 1) ndarray
        The sum of the two marked values, in ``[0, 2)``.

    Raises
    ------
    ValueError
        If ``n_samples < 1`` or ``T < 2``.

    Notes
    -----
    This is the variant of Le, Jaitly & Hinton (2015), *A simple way to
    initialize recurrent networks of rectified linear units*, of the task of
    Hochreiter & Schmidhuber (1997). The target is the sum of two independent
    :math:`U[0, 1)` values, so its mean is 1 and its variance
    :math:`2 \\cdot 1/12 = 1/6`: a model that always predicts 1 has a
    mean-squared error of :math:`1/6 \\approx 0.167`, the baseline a network
    must beat to show it remembered anything (see :func:`adding_baseline_mse`).
    """
    N = _check_int("n_samples", n_samples, 1)
    T = _check_int("T", T, 2)
    _check_rng(rng)
    values = rng.uniform(0.0, 1.0, size=(N, T))
    half = T // 2
    first = rng.integers(0, half, size=N)                 # (N,) in the first half
    second = rng.integers(half, T, size=N)                # (N,) in the second half
    rows = np.arange(N)
    marker = np.zeros((N, T))
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    X = np.stack([values, marker], axis=-1).astype(dtype)         # (N, T, 2)
    y = (values[rows, first] + values[rows, second])[:, None]      # (N, 1)
    return X, y.astype(dtype)


def adding_baseline_mse():
    """The mean-squared error of always predicting the adding problem's mean.

    Returns
    -------
    mse : float
        :math:`1/6`, the variance of the sum of two independent
        :math:`U[0, 1)` values.

    Notes
    -----
    :math:`\\mathrm{Var}(u_1 + u_2) = 2\\,\\mathrm{Var}(u) = 2/12`. Tests measure
    this number from generated data rather than trusting this formula.
    """
    return 1.0 / 6.0


def delayed_recall(n_samples, T, lag, rng, dtype=np.float32):
    """Delayed recall: output the input seen ``lag`` steps before the last one.

    Parameters
    ----------
    n_samples : int
        ``N``, the number of sequences, at least 1.
    T : int
        Sequence length, at least 1.
    lag : int
        How many steps before the last the value to recall was seen, in
        ``0 .. T - 1``; ``lag = 0`` asks for the last input itself.
    rng : numpy.random.Generator
        The source of randomness.
    dtype : dtype, optional
        Floating type of ``X`` and ``y``.

    Returns
    -------
    X : (N, T, 1) ndarray
        Values drawn uniformly from ``[-1, 1)``.
    y : (N, 1) ndarray
        ``X[:, T - 1 - lag]``.

    Raises
    ------
    ValueError
        If ``lag`` is outside ``0 .. T - 1``, or ``n_samples < 1``, or ``T < 1``.

    Notes
    -----
    The target is :math:`U[-1, 1)`, of mean 0 and variance :math:`2^2/12 = 1/3`:
    always predicting 0 has a mean-squared error of about :math:`1/3`. A model
    beats that only by carrying the value ``lag`` steps through its state.
    """
    N = _check_int("n_samples", n_samples, 1)
    T = _check_int("T", T, 1)
    if isinstance(lag, bool) or not isinstance(lag, numbers.Integral) or not 0 <= lag < T:
        raise ValueError(f"lag must be an integer in 0 .. T - 1 = 0 .. {T - 1}; got {lag!r}")
    _check_rng(rng)
    X = rng.uniform(-1.0, 1.0, size=(N, T, 1)).astype(dtype)   # (N, T, 1)
    y = X[:, T - 1 - int(lag)].copy()                          # (N, 1)
    return X, y


def noisy_sine(n_samples, T, rng, period=20.0, noise=0.1, dtype=np.float32):
    """Windows of a noisy sine wave, each with the next value as its target.

    Parameters
    ----------
    n_samples : int
        ``N``, the number of windows, at least 1.
    T : int
        Window length, at least 1.
    rng : numpy.random.Generator
        The source of randomness.
    period : float, optional
        Period of the sine, in steps; positive.
    noise : float, optional
        Standard deviation of the Gaussian noise added to every value;
        non-negative.
    dtype : dtype, optional
        Floating type of ``X`` and ``y``.

    Returns
    -------
    X : (N, T, 1) ndarray
        ``s[n, t]`` for ``t = 0 .. T - 1``.
    y : (N, 1) ndarray
        ``s[n, T]``, the next (equally noisy) value.

    Raises
    ------
    ValueError
        If ``period <= 0``, ``noise < 0``, ``n_samples < 1`` or ``T < 1``.

    Notes
    -----
    Each window has its own phase :math:`\\varphi_n \\sim U[0, 2\\pi)`:

    .. math::

        s_{n,t} = \\sin(2\\pi t / P + \\varphi_n) + \\sigma\\,\\varepsilon_{n,t},
        \\qquad \\varepsilon_{n,t} \\sim \\mathcal N(0, 1)

    Even a perfect forecaster is left with the noise: its mean-squared error
    is :math:`\\sigma^2`.
    """
    N = _check_int("n_samples", n_samples, 1)
    T = _check_int("T", T, 1)
    if not period > 0:
        raise ValueError(f"period must be positive; got {period!r}")
    if not noise >= 0:
        raise ValueError(f"noise must be non-negative; got {noise!r}")
    _check_rng(rng)
    phase = rng.uniform(0.0, 2 * np.pi, size=(N, 1))                  # (N, 1)
    t = np.arange(T + 1)                                               # (T+1,)
    s = np.sin(2 * np.pi * t / period + phase)                         # (N, T+1)
    s += noise * rng.standard_normal(s.shape)
    s = s.astype(dtype)
    return s[:, :T, None].copy(), s[:, T:].copy()


def make_windows(series, T, horizon=1):
    """Cut a series into overlapping windows, each with the value ``horizon`` steps later.

    Parameters
    ----------
    series : (S,) or (S, F) array_like
        A series of ``S`` steps with ``F`` features (``F = 1`` for 1-D input).
    T : int
        Window length, at least 1.
    horizon : int, optional
        How far after a window's last step its target lies, at least 1; 1
        means the next value.

    Returns
    -------
    X : (S - T - horizon + 1, T, F) ndarray
        ``X[k] = series[k : k + T]``.
    y : (S - T - horizon + 1, F) ndarray
        ``y[k] = series[k + T + horizon - 1]``.

    Raises
    ------
    ValueError
        If ``series`` is not 1-D or 2-D, ``T < 1``, ``horizon < 1``, or the
        series is too short: ``T + horizon`` must not exceed ``S``.

    Notes
    -----
    Floating input keeps its dtype; integer input becomes float64. The
    windows are copies, not views, so they can be modified safely.
    """
    arr = np.asarray(series)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"series must be numeric; got dtype {arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim != 2:
        raise ValueError(f"series must have shape (S,) or (S, F); got {arr.shape}")
    T = _check_int("T", T, 1)
    horizon = _check_int("horizon", horizon, 1)
    S = arr.shape[0]
    if T + horizon > S:
        raise ValueError(
            f"T + horizon must be <= len(series): T + horizon = {T} + {horizon} "
            f"= {T + horizon} > S = {S}"
        )
    M = S - T - horizon + 1
    windows = np.lib.stride_tricks.sliding_window_view(arr, T, axis=0)   # (S-T+1, F, T)
    X = np.ascontiguousarray(windows[:M].transpose(0, 2, 1))            # (M, T, F)
    y = arr[T + horizon - 1:].copy()                                    # (M, F)
    return X, y
