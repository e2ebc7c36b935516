"""lstm_core's LSTM and RNN without TensorFlow: gradient checks, step/sequence agreement, golden values."""

import numpy as np
import pytest

import lstm_core as lc


def _lstm_params(rng, D, H, dtype=np.float64):
    Wx, Wh, _ = lc.init_lstm_params(D, H, rng, dtype=dtype)
    b = rng.standard_normal(4 * H).astype(dtype) * 0.5
    return Wx, Wh, b


def _rnn_params(rng, D, H, dtype=np.float64):
    Wx, Wh, _ = lc.init_rnn_params(D, H, rng, dtype=dtype)
    return Wx, Wh, rng.standard_normal(H).astype(dtype) * 0.5


# ---------------------------------------------------------------- gradient checks

def test_lstm_step_backward_matches_numerical_gradient():
    rng = np.random.default_rng(1)
    N, D, H = 3, 4, 5
    x, h, c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wx, Wh, b = _lstm_params(rng, D, H)
    dh_out, dc_out = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    _, _, cache = lc.lstm_step_forward(x, h, c, Wx, Wh, b)
    grads = lc.lstm_step_backward(dh_out, dc_out, cache)

    def loss_of(k):
        def f(v):
            args = [x, h, c, Wx, Wh, b]
            args[k] = v
            hn, cn, _ = lc.lstm_step_forward(*args)
            return np.sum(hn * dh_out) + np.sum(cn * dc_out)
        return f

    # grads are (dx, dh_prev, dc_prev, dWx, dWh, db), the order of the arguments
    for k, (arg, g) in enumerate(zip([x, h, c, Wx, Wh, b], grads)):
        num = lc.numerical_gradient(loss_of(k), arg)
        assert lc.rel_error(num, g) < 1e-6, f"argument {k}"


def test_lstm_backward_matches_numerical_gradient():
    rng = np.random.default_rng(2)
    N, T, D, H = 2, 6, 3, 4
    x = rng.standard_normal((N, T, D))
    h0, c0 = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wx, Wh, b = _lstm_params(rng, D, H)
    dh = rng.standard_normal((N, T, H))
    dc_last = rng.standard_normal((N, H))
    _, _, cache = lc.lstm_forward(x, Wx, Wh, b, h0, c0)
    grads = lc.lstm_backward(dh, cache, dc_last)
    args = [x, Wx, Wh, b, h0, c0]
    order = [0, 4, 5, 1, 2, 3]  # grads (dx, dh0, dc0, dWx, dWh, db) -> argument index

    def loss_of(k):
        def f(v):
            a = list(args)
            a[k] = v
            hs, cs, _ = lc.lstm_forward(*a)
            return np.sum(hs * dh) + np.sum(cs[:, -1] * dc_last)
        return f

    for k, g in zip(order, grads):
        num = lc.numerical_gradient(loss_of(k), args[k])
        assert lc.rel_error(num, g) < 1e-6, f"argument {k}"


def test_rnn_step_and_sequence_backward_match_numerical_gradient():
    rng = np.random.default_rng(3)
    N, T, D, H = 2, 5, 3, 4
    Wx, Wh, b = _rnn_params(rng, D, H)
    x1, hp = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    dout = rng.standard_normal((N, H))
    _, cache = lc.rnn_step_forward(x1, hp, Wx, Wh, b)
    grads = lc.rnn_step_backward(dout, cache)
    step_args = [x1, hp, Wx, Wh, b]
    for k, g in enumerate(grads):
        def f(v, k=k):
            a = list(step_args)
            a[k] = v
            return np.sum(lc.rnn_step_forward(*a)[0] * dout)
        assert lc.rel_error(lc.numerical_gradient(f, step_args[k]), g) < 1e-6

    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    dh = rng.standard_normal((N, T, H))
    _, cache = lc.rnn_forward(x, Wx, Wh, b, h0)
    grads = lc.rnn_backward(dh, cache)
    seq_args = [x, Wx, Wh, b, h0]
    for k, g in zip([0, 4, 1, 2, 3], grads):
        def f(v, k=k):
            a = list(seq_args)
            a[k] = v
            return np.sum(lc.rnn_forward(*a)[0] * dh)
        assert lc.rel_error(lc.numerical_gradient(f, seq_args[k]), g) < 1e-6


def test_numerical_gradient_leaves_its_argument_unchanged_and_checks_df():
    x = np.arange(6.0).reshape(2, 3)
    before = x.copy()
    g = lc.numerical_gradient(lambda v: v ** 2, x)
    np.testing.assert_allclose(g, 2 * before, rtol=1e-8)
    np.testing.assert_array_equal(x, before)
    # a transposed (non-contiguous) argument is perturbed too
    np.testing.assert_allclose(lc.numerical_gradient(lambda v: v ** 2, x.T), 2 * before.T, rtol=1e-8)
    with pytest.raises(ValueError, match=r"df must have the shape of f\(x\), \(2, 3\); got \(3,\)"):
        lc.numerical_gradient(lambda v: v, x, df=np.ones(3))


# ---------------------------------------------------------------- one code path

def test_sequence_forward_and_backward_equal_a_loop_of_steps():
    rng = np.random.default_rng(4)
    N, T, D, H = 3, 7, 2, 5
    x = rng.standard_normal((N, T, D))
    Wx, Wh, b = _lstm_params(rng, D, H)
    h0, c0 = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    hs, cs, cache = lc.lstm_forward(x, Wx, Wh, b, h0, c0)
    h, c, caches = h0, c0, []
    for t in range(T):
        h, c, step_cache = lc.lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        caches.append(step_cache)
        np.testing.assert_allclose(hs[:, t], h, atol=1e-12)
        np.testing.assert_allclose(cs[:, t], c, atol=1e-12)
        np.testing.assert_allclose(cache.gates[:, t], step_cache.gates, atol=1e-12)

    dh = rng.standard_normal((N, T, H))
    dx_seq, dh0_seq, dc0_seq, dWx_seq, dWh_seq, db_seq = lc.lstm_backward(dh, cache)
    dh_next, dc_next = np.zeros((N, H)), np.zeros((N, H))
    totals = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
    for t in reversed(range(T)):
        dx, dh_next, dc_next, dWx, dWh, db = lc.lstm_step_backward(dh[:, t] + dh_next, dc_next, caches[t])
        np.testing.assert_allclose(dx_seq[:, t], dx, atol=1e-12)
        for tot, g in zip(totals, (dWx, dWh, db)):
            tot += g
    np.testing.assert_allclose(dh0_seq, dh_next, atol=1e-12)
    np.testing.assert_allclose(dc0_seq, dc_next, atol=1e-12)
    for tot, g in zip(totals, (dWx_seq, dWh_seq, db_seq)):
        np.testing.assert_allclose(g, tot, atol=1e-11)


def test_gate_activations_are_reachable_and_in_range():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 9, 3)) * 3
    Wx, Wh, b = _lstm_params(rng, 3, 4)
    _, c, cache = lc.lstm_forward(x, Wx, Wh, b)
    assert cache.gates.shape == (2, 9, 16)
    for name in "ifo":
        gate = getattr(cache, name)
        assert gate.shape == (2, 9, 4)
        assert np.all((gate > 0) & (gate < 1)), name
    assert np.all(np.abs(cache.g) < 1)
    i, f, g, o = lc.split_gates(cache.gates)
    np.testing.assert_array_equal(i, cache.i)
    np.testing.assert_array_equal(g, cache.g)
    # c_t = f c_{t-1} + i g holds for the stored gates
    np.testing.assert_allclose(c[:, 1], f[:, 1] * c[:, 0] + i[:, 1] * g[:, 1], atol=1e-12)


def test_forward_is_pure_and_keeps_float32():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    Wx, Wh, b = lc.init_lstm_params(3, 5, rng)
    copies = [a.copy() for a in (x, Wx, Wh, b)]
    h, c, cache = lc.lstm_forward(x, Wx, Wh, b)
    grads = lc.lstm_backward(np.ones_like(h), cache)
    grads_again = lc.lstm_backward(np.ones_like(h), cache)
    for a, a0 in zip((x, Wx, Wh, b), copies):
        np.testing.assert_array_equal(a, a0)
    for g, g2 in zip(grads, grads_again):
        np.testing.assert_array_equal(g, g2)
        assert g.dtype == np.float32
    assert h.dtype == c.dtype == np.float32
    hr, rcache = lc.rnn_forward(x, *lc.init_rnn_params(3, 5, rng))
    assert hr.dtype == np.float32
    assert all(g.dtype == np.float32 for g in lc.rnn_backward(np.ones_like(hr), rcache))


# ---------------------------------------------------------------- golden values (computed once in Keras 3.15)

def _golden_inputs():
    N, T, D, H = 2, 3, 4, 2
    x = np.arange(N * T * D, dtype=np.float32).reshape(N, T, D) / (N * T * D) - 0.5
    Wx = np.full((D, 4 * H), 0.1, np.float32) - np.arange(4 * H, dtype=np.float32) * 0.03
    Wh = np.full((H, 4 * H), -0.2, np.float32) + np.arange(4 * H, dtype=np.float32) * 0.05
    b = np.arange(4 * H, dtype=np.float32) * 0.1 - 0.3
    return x, Wx, Wh, b, H


def test_lstm_golden_values_from_keras():
    x, Wx, Wh, b, _ = _golden_inputs()
    h, c, _ = lc.lstm_forward(x, Wx, Wh, b)
    keras_seq = [[[0.0312681, 0.0753471], [0.042673, 0.1042481], [0.0453075, 0.1101347]],
                 [[0.0232739, 0.0497543], [0.0311955, 0.0659177], [0.0319888, 0.0651848]]]
    keras_c = [[0.0774528, 0.1810691], [0.0586941, 0.116971]]
    np.testing.assert_allclose(h, keras_seq, atol=2e-7)
    np.testing.assert_allclose(c[:, -1], keras_c, atol=2e-7)


def test_rnn_golden_values_from_keras():
    x, Wx, Wh, b, H = _golden_inputs()
    h, _ = lc.rnn_forward(x, Wx[:, :H], Wh[:, :H], b[:H])
    keras_seq = [[[-0.4422304, -0.3117657], [-0.2519877, -0.1613125], [-0.2533662, -0.1656316]],
                 [[-0.2682712, -0.1805005], [-0.1180263, -0.0684106], [-0.1040019, -0.0611249]]]
    np.testing.assert_allclose(h, keras_seq, atol=2e-7)


# ---------------------------------------------------------------- small pieces

def test_sigmoid_is_stable_and_exact():
    big = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(all="raise"):
        s = lc.sigmoid(big)
    np.testing.assert_allclose(s, [0.0, 1.9287498479639178e-22, 0.5, 1.0, 1.0], atol=1e-20)
    x = np.linspace(-20, 20, 101)
    np.testing.assert_allclose(lc.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-12, atol=1e-15)
    assert lc.sigmoid(np.float32(-1000)).dtype == np.float32


def test_init_params_shapes_forget_bias_and_orthogonality():
    rng = np.random.default_rng(7)
    Wx, Wh, b = lc.init_lstm_params(3, 4, rng)
    assert (Wx.shape, Wh.shape, b.shape) == ((3, 16), (4, 16), (16,))
    np.testing.assert_array_equal(b, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])
    np.testing.assert_allclose(Wh @ Wh.T, np.eye(4), atol=1e-5)
    assert not lc.init_lstm_params(3, 4, rng, unit_forget_bias=False)[2].any()
    limit = np.sqrt(6 / (3 + 16))
    assert np.abs(Wx).max() <= limit
    Wx, Wh, b = lc.init_rnn_params(3, 4, np.random.default_rng(0))
    assert (Wx.shape, Wh.shape, b.shape) == ((3, 4), (4, 4), (4,))
    np.testing.assert_allclose(Wh @ Wh.T, np.eye(4), atol=1e-5)
    again = lc.init_rnn_params(3, 4, np.random.default_rng(0))
    np.testing.assert_array_equal(Wx, again[0])


def test_rel_error():
    assert lc.rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert lc.rel_error([1.0], [3.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"\(2,\) and \(3,\)"):
        lc.rel_error(np.ones(2), np.ones(3))
