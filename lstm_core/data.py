"""Real data for the course, read from files shipped with the package.

Nothing here touches the network: the sunspot series and the Shakespeare text
are package data in ``lstm_core/data/`` (see its README for sources and
licences), read with :mod:`importlib.resources`; the share prices are the
``goog.npz`` sample file that matplotlib installs with itself.
"""

from __future__ import annotations

import csv
import io

import numpy as np

__all__ = [
    "load_sunspots",
    "load_shakespeare",
    "load_share_prices",
    "encode_text",
    "decode_text",
]


def _read_text(name):
    from importlib import resources      # here, to keep ``import lstm_core`` fast

    return resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")


def load_sunspots():
    """Monthly mean sunspot numbers, Zurich, January 1749 to December 1983.

    Returns
    -------
    months : (2820,) ndarray of datetime64[M]
        The month of each value, from 1749-01 to 1983-12, consecutive.
    values : (2820,) ndarray of float64
        The monthly mean sunspot number (non-negative).

    Notes
    -----
    Read from ``lstm_core/data/monthly-sunspots.csv`` (columns ``Month``,
    ``Sunspots``); source: Andrews & Herzberg (1985), *Data*, via Hyndman's
    Time Series Data Library. The series has a cycle of about 11 years
    (~132 months), which makes it a classic forecasting exercise.
    """
    reader = csv.reader(io.StringIO(_read_text("monthly-sunspots.csv")))
    header = next(reader)
    if [h.strip() for h in header] != ["Month", "Sunspots"]:
        raise ValueError(f"unexpected header in monthly-sunspots.csv: {header}")
    rows = [row for row in reader if row]
    months = np.array([row[0] for row in rows], dtype="datetime64[M]")
    values = np.array([row[1] for row in rows], dtype=np.float64)
    return months, values


def load_shakespeare():
    """The Tiny Shakespeare corpus, the standard character-level text.

    Returns
    -------
    text : str
        1,115,394 characters of Shakespeare's plays (65 distinct characters).

    Notes
    -----
    Read from ``lstm_core/data/tinyshakespeare.txt`` (Karpathy's char-rnn
    ``data/tinyshakespeare/input.txt``). Use :func:`encode_text` to turn it into
    integer codes.
    """
    return _read_text("tinyshakespeare.txt")


def load_share_prices():
    """Daily Google (GOOG) share prices, 2004-08-19 to 2008-10-14, from matplotlib.

    Returns
    -------
    dates : (S,) ndarray of datetime64[D]
        Trading days, increasing (S = 1047 in matplotlib 3.x's sample data).
    adj_close : (S,) ndarray of float64
        The adjusted closing price on each day, in US dollars.

    Raises
    ------
    FileNotFoundError
        If this matplotlib installation has no ``goog.npz`` sample data.

    Notes
    -----
    Read with ``matplotlib.cbook.get_sample_data("goog.npz")``, a file that
    ships inside matplotlib (no download). It holds one structured array,
    ``price_data``, with fields ``date``, ``open``, ``high``, ``low``,
    ``close``, ``volume`` and ``adj_close``. matplotlib is imported only when
    this function is called.
    """
    from matplotlib import cbook

    with cbook.get_sample_data("goog.npz") as npz:
        prices = npz["price_data"]
    dates = np.asarray(prices["date"], dtype="datetime64[D]").copy()
    adj_close = np.asarray(prices["adj_close"], dtype=np.float64).copy()
    return dates, adj_close


def encode_text(text, vocab=None):
    """Turn a string into integer codes, one per character.

    Parameters
    ----------
    text : str
        The text, of length ``L``.
    vocab : str, optional
        The alphabet to use, each character once; code ``k`` stands for
        ``vocab[k]``. If omitted, the sorted distinct characters of ``text``.

    Returns
    -------
    codes : (L,) ndarray of int64
        ``codes[j]`` is the position of ``text[j]`` in ``vocab``.
    vocab : str
        The alphabet, ``V = len(vocab)`` characters.

    Raises
    ------
    ValueError
        If ``text`` is not a str, if ``vocab`` repeats a character, or if
        ``text`` has a character that ``vocab`` lacks (the message names it).

    Notes
    -----
    Vectorised through the code points (UTF-32) and a lookup table, so the
    whole Tiny Shakespeare corpus encodes in a fraction of a second.
    ``decode_text(*encode_text(text)) == text``.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str; got {type(text).__name__}")
    points = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")       # (L,)
    if vocab is None:
        seen = np.zeros(int(points.max()) + 1 if points.size else 0, dtype=bool)
        seen[points] = True
        vocab = np.flatnonzero(seen).astype("<u4").tobytes().decode("utf-32-le")
    elif not isinstance(vocab, str):
        raise ValueError(f"vocab must be a str; got {type(vocab).__name__}")
    alphabet = np.frombuffer(vocab.encode("utf-32-le"), dtype="<u4")     # (V,)
    if len(np.unique(alphabet)) != len(alphabet):
        raise ValueError("vocab must not repeat a character")
    # a lookup table from code point to code, -1 for characters not in vocab
    size = int(max(points.max() if points.size else 0,
                   alphabet.max() if alphabet.size else 0)) + 1
    table = np.full(size, -1, dtype=np.int64)
    table[alphabet] = np.arange(len(alphabet))
    codes = table[points]                                                 # (L,)
    if codes.size and codes.min() < 0:
        missing = sorted({chr(p) for p in points[codes < 0]})
        raise ValueError(f"text has characters not in vocab: {missing[:10]!r}")
    return codes, vocab


def decode_text(codes, vocab):
    """Turn integer codes back into a string.

    Parameters
    ----------
    codes : (L,) array_like of int
        Codes in ``0 .. V - 1``.
    vocab : str
        The alphabet from :func:`encode_text`, ``V`` characters.

    Returns
    -------
    text : str
        ``''.join(vocab[k] for k in codes)``, of length ``L``.

    Raises
    ------
    ValueError
        If ``codes`` is not 1-D integers or has a code outside ``0 .. V - 1``.
    """
    codes = np.asarray(codes)
    if codes.ndim != 1:
        raise ValueError(f"codes must have shape (L,); got {codes.shape}")
    if codes.size and codes.dtype.kind not in "iu":
        raise ValueError(f"codes must be integers; got dtype {codes.dtype}")
    V = len(vocab)
    if codes.size and (codes.min() < 0 or codes.max() >= V):
        raise ValueError(
            f"codes must lie in 0 .. V - 1 = 0 .. {V - 1}; got values from "
            f"{codes.min()} to {codes.max()}"
        )
    alphabet = np.frombuffer(vocab.encode("utf-32-le"), dtype="<u4")     # (V,)
    return alphabet[codes.astype(np.intp)].astype("<u4").tobytes().decode("utf-32-le")
