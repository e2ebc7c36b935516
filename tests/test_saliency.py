"""lstm_core.saliency: the gradient of one prediction with respect to each input character.

Held against lstm_core's own backward passes (float64) on the same weights: an LSTM and a
simple RNN read by the Keras model and by the NumPy engine must give the same gradient norms,
also when they are far below what float32 represents.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest

import lstm_core
from lstm_core.saliency import input_gradient_norms

V, E, H = 7, 3, 5


def _model(layer, return_sequences=True, seed=0):
    """Embedding(V, E) -> layer -> Dense(V), built, with seeded random weights."""
    keras.utils.set_random_seed(seed)
    codes_in = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(V, E)(codes_in)
    x = layer(return_sequences)(x)
    model = keras.Model(codes_in, keras.layers.Dense(V)(x))
    return model


def _lstm(return_sequences):
    return keras.layers.LSTM(H, return_sequences=return_sequences)


def _rnn(return_sequences):
    return keras.layers.SimpleRNN(H, return_sequences=return_sequences)


def _reference(model, codes, targets):
    """The same norms computed with lstm_core's forward and backward passes, in float64."""
    embedding, recurrent, dense = (layer for layer in model.layers
                                   if not isinstance(layer, keras.layers.InputLayer))
    x = embedding.embeddings.numpy().astype(np.float64)[codes]           # (N, T, E)
    Wx, Wh, b = (w.astype(np.float64) for w in lstm_core.weights_from_keras(recurrent))
    Wy, by = (w.numpy().astype(np.float64) for w in dense.weights)
    if isinstance(recurrent, keras.layers.LSTM):
        h, _, cache = lstm_core.lstm_forward(x, Wx, Wh, b)
    else:
        h, cache = lstm_core.rnn_forward(x, Wx, Wh, b)
    scores = h[:, -1] @ Wy + by                                           # (N, V)
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    d_scores = np.eye(V)[targets] - p                  # d log p(target) / d scores
    dh = np.zeros_like(h)
    dh[:, -1] = d_scores @ Wy.T
    backward = lstm_core.lstm_backward if isinstance(recurrent, keras.layers.LSTM) \
        else lstm_core.rnn_backward
    dx = backward(dh, cache)[0]                                           # (N, T, E)
    return np.sqrt((dx ** 2).sum(axis=-1))


@pytest.mark.parametrize("layer", [_lstm, _rnn], ids=["LSTM", "SimpleRNN"])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_norms_equal_lstm_cores_backward(layer, return_sequences):
    model = _model(layer, return_sequences)
    rng = np.random.default_rng(1)
    codes = rng.integers(0, V, (4, 9))
    targets = rng.integers(0, V, 4)
    norms = input_gradient_norms(model, codes, targets)
    assert norms.shape == (4, 9) and norms.dtype == np.float64
    np.testing.assert_allclose(norms, _reference(model, codes, targets), rtol=2e-4, atol=0)
    assert (norms > 0).all()


def test_without_recurrent_weights_only_the_last_character_counts():
    model = _model(_rnn)
    recurrent = model.layers[2]
    recurrent.cell.recurrent_kernel.assign(np.zeros((H, H), np.float32))
    codes = np.random.default_rng(2).integers(0, V, (3, 6))
    norms = input_gradient_norms(model, codes, np.array([0, 1, 2]))
    assert (norms[:, :-1] == 0).all()
    assert (norms[:, -1] > 0).all()


def test_gradients_below_float32_range_do_not_underflow():
    """A contracting RNN's gradient 60 characters back is ~1e-50 of the last one's."""
    model = _model(_rnn)
    recurrent = model.layers[2]
    recurrent.cell.recurrent_kernel.assign(0.15 * np.eye(H, dtype=np.float32))
    codes = np.random.default_rng(3).integers(0, V, (2, 60))
    targets = np.array([1, 4])
    norms = input_gradient_norms(model, codes, targets)
    reference = _reference(model, codes, targets)
    assert reference[:, 0].max() < 1e-45            # would be 0 in float32
    assert (norms[:, 0] > 0).all()
    np.testing.assert_allclose(norms, reference, rtol=1e-3, atol=0)


def test_bad_arguments_are_named():
    model = _model(_lstm)
    codes = np.zeros((2, 5), dtype=int)
    with pytest.raises(ValueError, match=r"codes must be an \(N, T\) array"):
        input_gradient_norms(model, codes[0], np.zeros(2, int))
    with pytest.raises(ValueError, match=r"codes must be an \(N, T\) array"):
        input_gradient_norms(model, codes.astype(float), np.zeros(2, int))
    with pytest.raises(ValueError, match="targets"):
        input_gradient_norms(model, codes, np.zeros(3, int))
    with pytest.raises(ValueError, match=r"codes must lie in \[0, 7\)"):
        input_gradient_norms(model, codes + 7, np.zeros(2, int))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 7\)"):
        input_gradient_norms(model, codes, np.array([0, -1]))
    dense_first = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(V)])
    with pytest.raises(ValueError, match="first layer is Dense"):
        input_gradient_norms(dense_first, codes, np.zeros(2, int))
