"""Bad input raises ValueError naming the expected and the given shape, before any computation."""

import numpy as np
import pytest

import lstm_core as lc

rng = np.random.default_rng(0)
N, T, D, H = 2, 5, 3, 4
X = rng.standard_normal((N, T, D))
WX, WH, B = lc.init_lstm_params(D, H, rng, dtype=np.float64)
RWX, RWH, RB = lc.init_rnn_params(D, H, rng, dtype=np.float64)


@pytest.mark.parametrize("call, message", [
    (lambda: lc.lstm_forward(X[0], WX, WH, B), r"x must have shape \(N, T, D\); got \(5, 3\)"),
    (lambda: lc.lstm_forward(X, WX[:2], WH, B), r"Wx must have shape \(D, 4H\) = \(3, 16\); got \(2, 16\)"),
    (lambda: lc.lstm_forward(X, WX, WH[:, :12], B), r"Wh must have shape \(H, 4H\) = \(4, 16\); got \(4, 12\)"),
    (lambda: lc.lstm_forward(X, WX, WH, B[:8]), r"b must have shape \(4H,\) = \(16,\); got \(8,\)"),
    (lambda: lc.lstm_forward(X, WX, WH, B[None]), r"b must have shape \(4H,\) = \(16,\); got \(1, 16\)"),
    (lambda: lc.lstm_forward(X, WX, WH, B, h0=np.zeros((N, H + 1))),
     r"h0 must have shape \(N, H\) = \(2, 4\); got \(2, 5\)"),
    (lambda: lc.lstm_forward(X, WX, WH, B, c0=np.zeros(H)), r"c0 must have shape \(N, H\) = \(2, 4\); got \(4,\)"),
    (lambda: lc.lstm_step_forward(X, np.zeros((N, H)), np.zeros((N, H)), WX, WH, B),
     r"x must have shape \(N, D\); got \(2, 5, 3\)"),
    (lambda: lc.lstm_step_forward(X[:, 0], np.zeros((N + 1, H)), np.zeros((N, H)), WX, WH, B),
     r"h_prev must have shape \(N, H\) = \(2, 4\); got \(3, 4\)"),
    (lambda: lc.rnn_forward(X[..., None], RWX, RWH, RB), r"x must have shape \(N, T, D\); got \(2, 5, 3, 1\)"),
    (lambda: lc.rnn_forward(X, RWX, RWH, RB[:3]), r"b must have shape \(H,\) = \(4,\); got \(3,\)"),
    (lambda: lc.rnn_forward(X, WX, WH, B), r"Wh must have shape \(H, H\) = \(4, 4\); got \(4, 16\)"),
    (lambda: lc.rnn_step_forward(X[:, 0], np.zeros((N, H)), RWX.T, RWH, RB),
     r"Wx must have shape \(D, H\) = \(3, 4\); got \(4, 3\)"),
    (lambda: lc.lstm_forward(np.array([["a"]]), WX, WH, B), r"x must be a numeric array; got dtype <U1"),
])
def test_forward_errors_name_expected_and_given_shapes(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_backward_checks_the_upstream_gradient_shape():
    h, c, cache = lc.lstm_forward(X, WX, WH, B)
    with pytest.raises(ValueError, match=r"dh must have shape \(N, T, H\) = \(2, 5, 4\); got \(2, 4\)"):
        lc.lstm_backward(h[:, -1], cache)
    with pytest.raises(ValueError, match=r"dc_last must have shape \(N, H\) = \(2, 4\); got \(2, 5, 4\)"):
        lc.lstm_backward(h, cache, dc_last=c)
    _, _, step_cache = lc.lstm_step_forward(X[:, 0], np.zeros((N, H)), np.zeros((N, H)), WX, WH, B)
    with pytest.raises(ValueError, match=r"dc must have shape \(N, H\) = \(2, 4\); got \(4,\)"):
        lc.lstm_step_backward(np.zeros((N, H)), np.zeros(H), step_cache)
    hr, rcache = lc.rnn_forward(X, RWX, RWH, RB)
    with pytest.raises(ValueError, match=r"dh must have shape \(N, T, H\) = \(2, 5, 4\); got \(2, 5, 3\)"):
        lc.rnn_backward(hr[..., :3], rcache)
    _, rstep = lc.rnn_step_forward(X[:, 0], np.zeros((N, H)), RWX, RWH, RB)
    with pytest.raises(ValueError, match=r"dh must have shape \(N, H\) = \(2, 4\); got \(2, 5, 4\)"):
        lc.rnn_step_backward(hr, rstep)


def test_integer_input_is_computed_in_float64_not_rejected():
    h, _, _ = lc.lstm_forward(np.arange(N * T * D).reshape(N, T, D), WX, WH, B)
    assert h.dtype == np.float64


# ---------------------------------------------------------------- the shared argument checks

from lstm_core import validation  # noqa: E402


@pytest.mark.parametrize("value", [0, -3, 1.0, True, "2", None])
def test_check_positive_int_refuses_what_is_not_a_positive_integer(value):
    with pytest.raises(ValueError, match=f"size must be a positive integer; got {value!r}"):
        validation.check_positive_int("size", value)


def test_check_positive_int_accepts_numpy_integers():
    assert validation.check_positive_int("size", np.int64(3)) == 3
    assert type(validation.check_positive_int("size", np.int32(1))) is int


@pytest.mark.parametrize("value", [0, -1e-3, float("nan"), float("inf"), True, "0.1", None])
def test_check_positive_refuses_what_is_not_a_positive_finite_number(value):
    with pytest.raises(ValueError, match=f"lr must be a positive number; got {value!r}"):
        validation.check_positive("lr", value)
    assert validation.check_positive("lr", np.float32(0.5)) == 0.5


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), True, "1"])
def test_check_clip_norm(value):
    with pytest.raises(ValueError, match=f"clip_norm must be positive or None; got {value!r}"):
        validation.check_clip_norm(value)
    assert validation.check_clip_norm(None) is None
    assert validation.check_clip_norm(2) == 2.0


@pytest.mark.parametrize("value", [0, None, np.random.RandomState(0), np.random.default_rng])
def test_check_generator_asks_for_a_numpy_generator(value):
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator "
                                        r"\(numpy.random.default_rng\(seed\)\); got "):
        validation.check_generator("rng", value)
    g = np.random.default_rng(0)
    assert validation.check_generator("rng", g) is g


def test_the_initialisers_check_sizes_and_the_generator():
    with pytest.raises(ValueError, match="H must be a positive integer; got 0"):
        lc.init_lstm_params(3, 0, rng)
    with pytest.raises(ValueError, match="D must be a positive integer; got 2.5"):
        lc.init_rnn_params(2.5, 4, rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        lc.init_lstm_params(3, 4, 0)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        lc.init_rnn_params(3, 4, np.random.RandomState(0))
    # a numpy integer is a size like any other
    assert lc.init_lstm_params(np.int64(3), np.int64(2), np.random.default_rng(0))[0].shape == (3, 8)
