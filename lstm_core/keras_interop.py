"""Move weights between ``lstm_core`` and Keras's ``LSTM`` and ``SimpleRNN`` layers.

``lstm_core`` uses Keras's own layout (``kernel`` ``(D, 4H)``, ``recurrent_kernel``
``(H, 4H)``, ``bias`` ``(4H,)``, gate blocks i, f, c, o), so weights are copied
as they are: no transposes, no reordering. TensorFlow and Keras are imported only
when a function here is called; ``import lstm_core`` does not import them.
"""

from __future__ import annotations

import numpy as np

from .validation import check_shape

__all__ = ["weights_from_keras", "weights_to_keras"]


def _gate_count(layer):
    """4 for an LSTM layer, 1 for a SimpleRNN layer; ValueError otherwise."""
    import keras

    if isinstance(layer, keras.layers.LSTM):
        return 4
    if isinstance(layer, keras.layers.SimpleRNN):
        return 1
    raise ValueError(
        f"expected a keras.layers.LSTM or keras.layers.SimpleRNN layer; got {type(layer).__name__}"
    )


def _cell(layer):
    if not layer.built:
        raise ValueError(
            f"layer {layer.name!r} has no weights yet: build it first "
            "(call it on an input or put it in a model with keras.Input)"
        )
    cell = layer.cell
    if not cell.use_bias:
        raise ValueError(f"layer {layer.name!r} has use_bias=False; lstm_core needs a bias")
    return cell


def weights_from_keras(layer):
    """Copy the weights of a built Keras ``LSTM`` or ``SimpleRNN`` layer.

    Parameters
    ----------
    layer : keras.layers.LSTM or keras.layers.SimpleRNN
        A built layer with a bias.

    Returns
    -------
    Wx : (D, G*H) ndarray
        The ``kernel``; ``G`` is 4 for an LSTM (blocks i, f, c, o) and 1 for a
        SimpleRNN.
    Wh : (H, G*H) ndarray
        The ``recurrent_kernel``.
    b : (G*H,) ndarray
        The ``bias``.

    Raises
    ------
    ValueError
        For another kind of layer, an unbuilt one, or one without a bias.
    """
    _gate_count(layer)
    cell = _cell(layer)
    return (np.array(cell.kernel.numpy()), np.array(cell.recurrent_kernel.numpy()),
            np.array(cell.bias.numpy()))


def weights_to_keras(layer, Wx, Wh, b):
    """Copy ``lstm_core`` weights into a built Keras ``LSTM`` or ``SimpleRNN``.

    Parameters
    ----------
    layer : keras.layers.LSTM or keras.layers.SimpleRNN
        A built layer with a bias; its weights are overwritten.
    Wx : (D, G*H) ndarray
        ``G`` = 4 for an LSTM (blocks i, f, c, o), 1 for a SimpleRNN.
    Wh : (H, G*H) ndarray
    b : (G*H,) ndarray

    Returns
    -------
    layer : keras.layers.Layer
        The same layer.

    Raises
    ------
    ValueError
        If a shape differs from the layer's; every shape is checked before
        anything is copied, so a failed call leaves the layer unchanged.
    """
    G = _gate_count(layer)
    cell = _cell(layer)
    D, GH = cell.kernel.shape
    H = GH // G
    gh = "4H" if G == 4 else "H"
    arrays = [np.asarray(Wx), np.asarray(Wh), np.asarray(b)]
    check_shape("Wx", arrays[0], ("D", gh), (D, GH))
    check_shape("Wh", arrays[1], ("H", gh), (H, GH))
    check_shape("b", arrays[2], (gh,), (GH,))
    for var, value in zip((cell.kernel, cell.recurrent_kernel, cell.bias), arrays):
        var.assign(value.astype(var.dtype))
    return layer
