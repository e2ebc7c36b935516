"""lstm_core against Keras 3 / TensorFlow: forward outputs, gradients, weight round trips."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import lstm_core as lc  # noqa: E402

SHAPES = [  # (N, T, D, H)
    (1, 1, 1, 1),
    (1, 4, 3, 2),
    (4, 1, 2, 3),
    (3, 7, 1, 5),
    (2, 200, 3, 4),
    (5, 12, 6, 1),
]


def norm_rel(a, b):
    """Relative error of two arrays measured in the Frobenius norm."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-30)


def build(layer_cls, T, D, H, **kw):
    layer = layer_cls(H, return_sequences=True, **kw)
    layer(keras.Input((T, D)))
    return layer


def random_weights(rng, layer):
    Wx, Wh, b = (rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in
                 (layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.bias))
    lc.weights_to_keras(layer, Wx, Wh, b)
    return Wx, Wh, b


@pytest.mark.parametrize("N,T,D,H", SHAPES)
@pytest.mark.parametrize("initial_state", [False, True])
def test_lstm_forward_equals_keras(N, T, D, H, initial_state):
    rng = np.random.default_rng(N * 1000 + T + D + H)
    layer = build(keras.layers.LSTM, T, D, H, return_state=True)
    Wx, Wh, b = random_weights(rng, layer)
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    h0 = c0 = None
    if initial_state:
        h0, c0 = (rng.standard_normal((N, H)).astype(np.float32) for _ in range(2))
        seq, h_last, c_last = layer(x, initial_state=[h0, c0])
    else:
        seq, h_last, c_last = layer(x)
    h, c, _ = lc.lstm_forward(x, Wx, Wh, b, h0, c0)
    assert h.shape == (N, T, H) and h.dtype == np.float32
    assert np.abs(h - np.asarray(seq)).max() <= 1e-5
    assert np.abs(h[:, -1] - np.asarray(h_last)).max() <= 1e-5
    assert np.abs(c[:, -1] - np.asarray(c_last)).max() <= 1e-5


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_rnn_forward_equals_keras(N, T, D, H):
    rng = np.random.default_rng(N + T * 10 + D * 100 + H)
    layer = build(keras.layers.SimpleRNN, T, D, H)
    Wx, Wh, b = random_weights(rng, layer)
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    h0 = rng.standard_normal((N, H)).astype(np.float32)
    h, _ = lc.rnn_forward(x, Wx, Wh, b, h0)
    assert np.abs(h - np.asarray(layer(x, initial_state=[h0]))).max() <= 1e-5


@pytest.mark.parametrize("N,T,D,H", [(1, 1, 1, 1), (3, 9, 4, 5), (2, 60, 2, 3)])
def test_lstm_backward_equals_tensorflow_gradients(N, T, D, H):
    rng = np.random.default_rng(11 + T)
    layer = build(keras.layers.LSTM, T, D, H, return_state=True)
    Wx, Wh, b = random_weights(rng, layer)
    x, h0, c0 = (tf.Variable(rng.standard_normal(s).astype(np.float32))
                 for s in ((N, T, D), (N, H), (N, H)))
    dh = rng.standard_normal((N, T, H)).astype(np.float32)
    dc_last = rng.standard_normal((N, H)).astype(np.float32)
    cell = layer.cell
    with tf.GradientTape() as tape:
        seq, _, c_last = layer(x, initial_state=[h0, c0])
        loss = tf.reduce_sum(seq * dh) + tf.reduce_sum(c_last * dc_last)
    expected = tape.gradient(loss, [x, h0, c0, cell.kernel, cell.recurrent_kernel, cell.bias])
    _, _, cache = lc.lstm_forward(x.numpy(), Wx, Wh, b, h0.numpy(), c0.numpy())
    got = lc.lstm_backward(dh, cache, dc_last)
    for name, e, g in zip(["dx", "dh0", "dc0", "dWx", "dWh", "db"], expected, got):
        assert g.shape == tuple(e.shape), name
        assert norm_rel(e, g) <= 1e-4, name


@pytest.mark.parametrize("N,T,D,H", [(1, 1, 1, 1), (3, 9, 4, 5), (2, 60, 2, 3)])
def test_rnn_backward_equals_tensorflow_gradients(N, T, D, H):
    rng = np.random.default_rng(21 + T)
    layer = build(keras.layers.SimpleRNN, T, D, H)
    Wx, Wh, b = random_weights(rng, layer)
    x, h0 = (tf.Variable(rng.standard_normal(s).astype(np.float32)) for s in ((N, T, D), (N, H)))
    dh = rng.standard_normal((N, T, H)).astype(np.float32)
    cell = layer.cell
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, initial_state=[h0]) * dh)
    expected = tape.gradient(loss, [x, h0, cell.kernel, cell.recurrent_kernel, cell.bias])
    _, cache = lc.rnn_forward(x.numpy(), Wx, Wh, b, h0.numpy())
    for name, e, g in zip(["dx", "dh0", "dWx", "dWh", "db"], expected, lc.rnn_backward(dh, cache)):
        assert norm_rel(e, g) <= 1e-4, name


@pytest.mark.parametrize("layer_cls", [keras.layers.LSTM, keras.layers.SimpleRNN])
def test_weights_round_trip_keras_to_core_to_keras(layer_cls):
    src = build(layer_cls, 5, 3, 4)
    dst = build(layer_cls, 5, 3, 4)
    Wx, Wh, b = lc.weights_from_keras(src)
    lc.weights_to_keras(dst, Wx, Wh, b)
    for a, b_ in zip(src.get_weights(), dst.get_weights()):
        np.testing.assert_array_equal(a, b_)
    assert isinstance(Wx, np.ndarray) and Wx.shape == tuple(src.cell.kernel.shape)


def test_weights_to_keras_checks_every_shape_before_copying():
    layer = build(keras.layers.LSTM, 5, 3, 4)
    before = [w.copy() for w in layer.get_weights()]
    Wx, Wh, b = lc.weights_from_keras(layer)
    with pytest.raises(ValueError, match=r"b must have shape \(4H,\) = \(16,\); got \(12,\)"):
        lc.weights_to_keras(layer, Wx + 1, Wh + 1, np.zeros(12))
    with pytest.raises(ValueError, match=r"Wx must have shape \(D, 4H\) = \(3, 16\); got \(16, 3\)"):
        lc.weights_to_keras(layer, Wx.T, Wh, b)
    for a, b_ in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b_)


def test_interop_rejects_other_layers_and_unbuilt_ones():
    with pytest.raises(ValueError, match="expected a keras.layers.LSTM or keras.layers.SimpleRNN layer; got GRU"):
        lc.weights_from_keras(build(keras.layers.GRU, 3, 2, 2))
    with pytest.raises(ValueError, match="has no weights yet"):
        lc.weights_from_keras(keras.layers.LSTM(3))


# ---------------------------------------------------------------- a whole model into the trainer

def _functional(layer_cls, T, D, H, K):
    inputs = keras.Input((T, D))
    return keras.Model(inputs, keras.layers.Dense(K)(layer_cls(H)(inputs)))


@pytest.mark.parametrize("layer_cls,cell", [(keras.layers.LSTM, "lstm"), (keras.layers.SimpleRNN, "rnn")])
@pytest.mark.parametrize("functional", [False, True])
def test_params_from_keras_predicts_what_the_model_predicts(layer_cls, cell, functional):
    N, T, D, H, K = 6, 9, 3, 5, 2
    keras.utils.set_random_seed(3)
    if functional:
        model = _functional(layer_cls, T, D, H, K)
    else:
        model = keras.Sequential([keras.Input((T, D)), layer_cls(H), keras.layers.Dense(K)])
    rng = np.random.default_rng(4)
    # non-zero biases, so that a bias copied to the wrong place would show
    model.set_weights([0.5 * rng.standard_normal(w.shape).astype(np.float32) for w in model.get_weights()])
    params = lc.params_from_keras(model)
    assert params["cell"] == cell and set(params) == {"cell", "Wx", "Wh", "b", "Wy", "by"}
    from lstm_core import trainer
    expected = trainer.init_model(cell, D, H, K, rng)
    for k in trainer.PARAM_NAMES:
        assert params[k].shape == expected[k].shape and params[k].dtype == np.float32, k
    X = rng.standard_normal((N, T, D)).astype(np.float32)
    y_keras = model.predict(X, verbose=0)
    y_core = trainer.predict(params, X)
    assert y_core.shape == (N, K) and np.abs(y_core - y_keras).max() <= 1e-5
    p64 = lc.params_from_keras(model, dtype=np.float64)
    assert p64["Wx"].dtype == np.float64
    assert np.abs(trainer.predict(p64, X.astype(np.float64)) - y_keras).max() <= 1e-5


def test_params_from_keras_without_a_dense_bias_reads_zeros():
    model = keras.Sequential([keras.Input((4, 2)), keras.layers.LSTM(3),
                              keras.layers.Dense(1, use_bias=False)])
    params = lc.params_from_keras(model)
    np.testing.assert_array_equal(params["by"], np.zeros(1, np.float32))
    X = np.random.default_rng(0).standard_normal((2, 4, 2)).astype(np.float32)
    from lstm_core import trainer
    assert np.abs(trainer.predict(params, X) - model.predict(X, verbose=0)).max() <= 1e-5


@pytest.mark.parametrize("make, message", [
    (lambda: keras.Sequential([keras.Input((4, 2)), keras.layers.GRU(3), keras.layers.Dense(1)]),
     r"one LSTM or SimpleRNN layer followed by one Dense layer; got the layers \['GRU', 'Dense'\]"),
    (lambda: keras.Sequential([keras.Input((4, 2)), keras.layers.LSTM(3)]),
     r"got the layers \['LSTM'\]"),
    (lambda: keras.Sequential([keras.Input((4, 2)), keras.layers.LSTM(3, return_sequences=True),
                               keras.layers.LSTM(3), keras.layers.Dense(1)]),
     r"got the layers \['LSTM', 'LSTM', 'Dense'\]"),
    (lambda: keras.Sequential([keras.Input((4, 2)), keras.layers.LSTM(3, return_sequences=True),
                               keras.layers.Dense(1)]),
     r"lstm\w* has return_sequences=True"),
    (lambda: keras.Sequential([keras.Input((4, 2)), keras.layers.LSTM(3, go_backwards=True),
                               keras.layers.Dense(1)]),
     r"has go_backwards=True"),
    (lambda: keras.Sequential([keras.Input((4, 2)), keras.layers.LSTM(3, activation="relu"),
                               keras.layers.Dense(1)]),
     r"has activation relu, not tanh"),
    (lambda: keras.Sequential([keras.Input((4, 2)), keras.layers.SimpleRNN(3),
                               keras.layers.Dense(1, activation="sigmoid")]),
     r"dense\w* has activation sigmoid, not linear"),
    (lambda: keras.Sequential([keras.layers.LSTM(3), keras.layers.Dense(1)]),
     r"no weights yet"),
    (lambda: keras.Sequential([keras.Input((4, 2)), keras.layers.LSTM(3, use_bias=False),
                               keras.layers.Dense(1)]),
     r"use_bias=False"),
    (lambda: keras.layers.LSTM(3), r"expected a keras.Model; got LSTM"),
])
def test_params_from_keras_refuses_other_models(make, message):
    with pytest.raises(ValueError, match=message):
        lc.params_from_keras(make())


# ---------------------------------------------------------------- every gate layout against Keras

@pytest.mark.parametrize("layout", ["keras", "pytorch", "cs231n"])
def test_the_standard_cell_in_each_layout_equals_keras_after_conversion(layout):
    N, T, D, H = 3, 7, 2, 4
    rng = np.random.default_rng(sum(map(ord, layout)))
    variant = lc.LSTMVariant("standard", layout)
    Wx, Wh, b = (0.5 * rng.standard_normal(s).astype(np.float32) for s in variant.shapes(D, H).values())
    x, h0, c0 = (rng.standard_normal(s).astype(np.float32) for s in ((N, T, D), (N, H), (N, H)))
    h, c, _ = variant.forward(x, Wx, Wh, b, h0=h0, c0=c0)
    layer = build(keras.layers.LSTM, T, D, H, return_state=True)
    lc.weights_to_keras(layer, *lc.convert_layout(Wx, Wh, b, src=layout, dst="keras"))
    seq, h_last, c_last = layer(x, initial_state=[h0, c0])
    assert h.dtype == np.float32
    assert np.abs(h - np.asarray(seq)).max() <= 1e-5
    assert np.abs(c[:, -1] - np.asarray(c_last)).max() <= 1e-5
    if layout == "cs231n":
        # unconverted, the blocks would be read as other gates: a visibly different output
        lc.weights_to_keras(layer, Wx, Wh, b)
        assert np.abs(h - np.asarray(layer(x, initial_state=[h0, c0])[0])).max() > 1e-2
