"""The data loaders read the shipped files (no network) with documented shapes."""

import numpy as np
import pytest

from lstm_core.data import (
    decode_text,
    encode_text,
    load_shakespeare,
    load_share_prices,
    load_sunspots,
)


def test_sunspots_rows_dates_and_dtypes():
    months, values = load_sunspots()
    assert months.shape == (2820,) and values.shape == (2820,)
    assert months.dtype == np.dtype("datetime64[M]")
    assert values.dtype == np.float64
    assert months[0] == np.datetime64("1749-01")
    assert months[-1] == np.datetime64("1983-12")
    # consecutive months, no gaps or repeats
    assert np.all(np.diff(months) == np.timedelta64(1, "M"))
    assert np.all(values >= 0) and np.isfinite(values).all()
    assert values[0] == 58.0 and values[-1] == 33.4      # first and last rows of the CSV


def test_shakespeare_length_and_start():
    text = load_shakespeare()
    assert isinstance(text, str)
    assert len(text) == 1_115_394
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")


def test_encode_decode_round_trip_on_the_whole_corpus():
    text = load_shakespeare()
    codes, vocab = encode_text(text)
    assert codes.shape == (len(text),) and codes.dtype == np.int64
    assert len(vocab) == 65 and vocab == "".join(sorted(set(text)))
    assert codes.min() == 0 and codes.max() == len(vocab) - 1
    assert decode_text(codes, vocab) == text
    assert vocab[codes[0]] == "F"


def test_encode_with_a_given_vocab_and_non_ascii_text():
    codes, vocab = encode_text("héllo ✓", vocab=" ehlo✓é")
    np.testing.assert_array_equal(codes, [2, 6, 3, 3, 4, 0, 5])
    assert vocab == " ehlo✓é"
    assert decode_text(codes, vocab) == "héllo ✓"
    assert decode_text(np.array([], dtype=int), "ab") == ""
    codes, vocab = encode_text("")
    assert codes.shape == (0,) and vocab == ""


def test_encode_and_decode_reject_bad_input():
    with pytest.raises(ValueError, match=r"text has characters not in vocab: \['z'\]"):
        encode_text("abz", vocab="ab")
    with pytest.raises(ValueError, match="vocab must not repeat a character"):
        encode_text("ab", vocab="aab")
    with pytest.raises(ValueError, match="text must be a str"):
        encode_text(b"bytes")
    with pytest.raises(ValueError, match=r"codes must lie in 0 \.\. V - 1 = 0 \.\. 1; got values from 0 to 2"):
        decode_text([0, 2], "ab")
    with pytest.raises(ValueError, match=r"codes must have shape \(L,\); got \(1, 2\)"):
        decode_text([[0, 1]], "ab")
    with pytest.raises(ValueError, match="codes must be integers"):
        decode_text([0.0, 1.0], "ab")


def test_share_prices_from_matplotlib_sample_data():
    dates, adj_close = load_share_prices()
    assert dates.dtype == np.dtype("datetime64[D]") and adj_close.dtype == np.float64
    assert dates.shape == adj_close.shape == (1047,)
    assert dates[0] == np.datetime64("2004-08-19")
    assert dates[-1] == np.datetime64("2008-10-14")
    assert np.all(np.diff(dates) > np.timedelta64(0, "D"))
    assert np.all(adj_close > 0)
    assert adj_close[0] == pytest.approx(100.34)


def test_loaders_do_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys, lstm_core.data as d; d.load_sunspots(); d.load_shakespeare(); "
            "assert 'tensorflow' not in sys.modules and 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
