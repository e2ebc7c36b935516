"""How far back a trained character model looks: input-gradient *connectivity*.

For a model that reads characters and predicts the next one, the connectivity
of one prediction is the size of its gradient with respect to each earlier
input character: a large value means that changing that character would change
the prediction a lot. Averaged over many passages and plotted against the
distance back, it shows how much of its context a trained network really uses
(the "connectivity" plots of Karpathy, Johnson and Fei-Fei 2015 and Madsen 2019).

The models are Keras models (any recurrent layer: ``LSTM``, ``GRU``,
``SimpleRNN``), so TensorFlow is imported inside :func:`input_gradient_norms`
only; ``import lstm_core`` stays free of it.
"""

from __future__ import annotations

import numpy as np

from .validation import check_shape

__all__ = ["input_gradient_norms"]

#: The log-probability is multiplied by this before the backward pass and the gradients divided
#: by it afterwards, in float64: a simple RNN's gradient from 100 characters back can be 1e-40
#: of the last one's, below what float32 represents (loss scaling, as in mixed precision).
LOSS_SCALE = 2.0**64


def _layer_chain(model):
    """The model's layers after its input, checked to start with an ``Embedding``."""
    import keras

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if not layers or not isinstance(layers[0], keras.layers.Embedding):
        first = type(layers[0]).__name__ if layers else "nothing"
        raise ValueError(
            "model must be a chain of layers whose first layer is a keras.layers.Embedding "
            f"(character codes in, next-character scores out); its first layer is {first}"
        )
    return layers


def input_gradient_norms(model, codes, targets):
    """The gradient of one prediction with respect to each input character, by position.

    Parameters
    ----------
    model : keras.Model
        A chain of layers ``Embedding -> ... -> Dense(V)`` mapping integer codes
        ``(N, T)`` to scores (logits) ``(N, T, V)`` (a recurrent layer with
        ``return_sequences=True``) or ``(N, V)``. The layers are applied one
        after the other, so the model must have no branches.
    codes : (N, T) ndarray of int
        The input passages, character codes.
    targets : (N,) ndarray of int
        The character that follows each passage: the prediction differentiated
        is the log-probability the model gives it after reading the passage.

    Returns
    -------
    norms : (N, T) ndarray of float64
        ``norms[n, t]`` is :math:`\\|\\partial \\log p(y_n \\mid c_{n,0..T-1})
        / \\partial e_{n,t}\\|_2`, the Euclidean norm of the gradient with
        respect to the embedding vector of character ``t`` of passage ``n``.
        ``norms[:, T - 1]`` belongs to the last character read, ``norms[:, T - 1 - k]``
        to the character ``k`` steps before it.

    Raises
    ------
    ValueError
        If ``codes`` is not 2-D, ``targets`` not ``(N,)``, a code or target is
        out of the vocabulary, or the model does not start with an ``Embedding``.

    Notes
    -----
    With :math:`e_t = E[c_t]` the embedded characters and :math:`s` the scores
    the model computes from them at the last position,

    .. math::

        \\log p(y \\mid c) = s_y - \\log \\sum_k e^{s_k},
        \\qquad
        \\mathrm{norm}_t = \\Big\\| \\frac{\\partial \\log p(y \\mid c)}{\\partial e_t} \\Big\\|_2 .

    The passages are independent, so one backward pass of the sum over the
    batch gives every passage's gradient. Recurrent layers run from a zero
    state, as in training on independent chunks. The backward pass runs in
    the model's float32 on the log-probability times ``LOSS_SCALE``
    (:math:`2^{64}`), and the gradients are divided by it in float64, so that
    gradients down to about :math:`10^{-64}` of an ordinary one do not
    underflow to zero.
    """
    import tensorflow as tf

    layers = _layer_chain(model)
    codes = np.asarray(codes)
    targets = np.asarray(targets)
    if codes.ndim != 2 or codes.dtype.kind not in "iu":
        raise ValueError(f"codes must be an (N, T) array of integer codes; got shape {codes.shape}, "
                         f"dtype {codes.dtype}")
    check_shape("targets", targets, ("N",), (codes.shape[0],))
    vocab = layers[0].input_dim
    for name, a in (("codes", codes), ("targets", targets)):
        if a.size and (a.min() < 0 or a.max() >= vocab):
            raise ValueError(f"{name} must lie in [0, {vocab}) (the embedding's vocabulary); "
                             f"got values from {a.min()} to {a.max()}")
    embedded = tf.convert_to_tensor(layers[0](codes.astype("int32")))       # (N, T, E)
    with tf.GradientTape() as tape:
        tape.watch(embedded)
        out = embedded
        for layer in layers[1:]:
            out = layer(out)
        scores = out[:, -1] if len(out.shape) == 3 else out                   # (N, V)
        log_p = tf.nn.log_softmax(scores, axis=-1)                            # (N, V)
        chosen = tf.gather(log_p, targets.astype("int32"), axis=1, batch_dims=1)  # (N,)
        total = tf.reduce_sum(chosen) * LOSS_SCALE
    grads = tape.gradient(total, embedded).numpy().astype(np.float64) / LOSS_SCALE  # (N, T, E)
    return np.sqrt(np.einsum("nte,nte->nt", grads, grads))                    # (N, T)
