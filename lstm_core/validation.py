"""Shape and dtype checks for the data that enters ``lstm_core``'s public API.

Every shape check raises :class:`ValueError` naming the array, the expected shape
(with its symbolic names, such as ``(N, T, D)``) and the shape it was given.
Nothing is silently reshaped or broadcast. The argument checks shared by the
trainer, the initialisers and the variants (positive integers and numbers,
clipping bounds, random generators) live here too, so one message says one thing
everywhere.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def as_float_array(name, a):
    """Return ``a`` as a floating-point ndarray without copying float input.

    Parameters
    ----------
    name : str
        The argument's name, used in the error message.
    a : array_like
        The value given.

    Returns
    -------
    out : ndarray
        ``a`` itself when it already is a float32 or float64 array; otherwise a
        float64 copy.

    Raises
    ------
    ValueError
        If ``a`` cannot be read as a numeric array.
    """
    arr = np.asarray(a)
    if arr.dtype in (np.float32, np.float64):
        return arr
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a numeric array; got dtype {arr.dtype}")
    return arr.astype(np.float64)


def _describe(symbols, numbers):
    shown = "(" + ", ".join(symbols) + ("," if len(symbols) == 1 else "") + ")"
    if all(n is not None for n in numbers):
        return f"{shown} = {tuple(numbers)}"
    return shown


def check_shape(name, a, symbols, expected):
    """Check that an array has the expected number of dimensions and sizes.

    Parameters
    ----------
    name : str
        The argument's name, used in the error message.
    a : ndarray
        The array to check.
    symbols : tuple of str
        Symbolic names of the expected dimensions, such as ``("N", "T", "D")``.
    expected : tuple of int or None
        The expected size of each dimension; ``None`` accepts any size.

    Raises
    ------
    ValueError
        If ``a.ndim != len(expected)`` or a size differs from the expected one.
        The message names the expected and the given shape, for example
        ``"Wh must have shape (H, 4H) = (3, 12); got (3, 8)"``.
    """
    shape = np.shape(a)
    ok = len(shape) == len(expected) and all(
        e is None or s == e for s, e in zip(shape, expected)
    )
    if not ok:
        raise ValueError(
            f"{name} must have shape {_describe(symbols, expected)}; got {tuple(shape)}"
        )


def common_dtype(*arrays):
    """The floating dtype in which to compute with ``arrays``.

    Parameters
    ----------
    *arrays : ndarray or None
        Float arrays; ``None`` entries are ignored.

    Returns
    -------
    dtype : numpy.dtype
        float32 when every array is float32, float64 otherwise.
    """
    return np.result_type(*[a.dtype for a in arrays if a is not None], np.float32)


def check_positive_int(name, value):
    """Check that an argument is a positive integer (a ``bool`` is not one).

    Parameters
    ----------
    name : str
        The argument's name, used in the error message.
    value : object
        The value given; any :class:`numbers.Integral` (``int``, ``numpy.int64``).

    Returns
    -------
    value : int
        The value as a Python ``int``.

    Raises
    ------
    ValueError
        ``"<name> must be a positive integer; got <value>"``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def check_positive(name, value):
    """Check that an argument is a positive, finite real number.

    Parameters
    ----------
    name : str
        The argument's name, used in the error message.
    value : object
        The value given.

    Returns
    -------
    value : float

    Raises
    ------
    ValueError
        ``"<name> must be a positive number; got <value>"``; also for NaN,
        infinity and ``bool``.
    """
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or not value > 0):
        raise ValueError(f"{name} must be a positive number; got {value!r}")
    return float(value)


def check_clip_norm(clip_norm):
    """Check a gradient-clipping bound: a positive, finite number, or ``None`` for no clipping.

    Parameters
    ----------
    clip_norm : float or None

    Returns
    -------
    clip_norm : float or None

    Raises
    ------
    ValueError
        ``"clip_norm must be positive or None; got <value>"``.
    """
    if clip_norm is None:
        return None
    if (isinstance(clip_norm, bool) or not isinstance(clip_norm, numbers.Real)
            or not math.isfinite(clip_norm) or not clip_norm > 0):
        raise ValueError(f"clip_norm must be positive or None; got {clip_norm!r}")
    return float(clip_norm)


def check_generator(name, rng):
    """Check that an argument is a :class:`numpy.random.Generator`.

    Randomness enters ``lstm_core`` only this way: no global seeding, no
    ``RandomState``, no integer seeds (make one with
    ``numpy.random.default_rng(seed)``).

    Parameters
    ----------
    name : str
        The argument's name, used in the error message.
    rng : object
        The value given.

    Returns
    -------
    rng : numpy.random.Generator

    Raises
    ------
    TypeError
        ``"<name> must be a numpy.random.Generator (numpy.random.default_rng(seed)); got <type>"``.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name} must be a numpy.random.Generator "
                        f"(numpy.random.default_rng(seed)); got {type(rng).__name__}")
    return rng
