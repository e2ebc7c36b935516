"""Shape and dtype checks for the data that enters ``lstm_core``'s public API.

Every check raises :class:`ValueError` naming the array, the expected shape (with
its symbolic names, such as ``(N, T, D)``) and the shape it was given. Nothing is
silently reshaped or broadcast.
"""

from __future__ import annotations

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


CELLS = ("lstm", "rnn")


def check_cell(cell):
    """Check the name of a recurrent cell.

    Parameters
    ----------
    cell : str
        ``'lstm'`` or ``'rnn'``, in any case.

    Returns
    -------
    cell : str
        The name in lower case.

    Raises
    ------
    ValueError
        For any other value; the message lists the allowed names.
    """
    if not isinstance(cell, str) or cell.lower() not in CELLS:
        raise ValueError(f"cell must be one of {CELLS!r}; got {cell!r}")
    return cell.lower()
