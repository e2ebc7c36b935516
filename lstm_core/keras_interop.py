"""Move weights between ``lstm_core`` and Keras's ``LSTM`` and ``SimpleRNN`` layers.

``lstm_core`` uses Keras's own layout (``kernel`` ``(D, 4H)``, ``recurrent_kernel``
``(H, 4H)``, ``bias`` ``(4H,)``, gate blocks i, f, c, o), so weights are copied
as they are: no transposes, no reordering. TensorFlow and Keras are imported only
when a function here is called; ``import lstm_core`` does not import them.

:func:`params_from_keras` reads a whole model, a recurrent layer then a dense
read-out, into the parameters of :mod:`lstm_core.trainer`.
"""

from __future__ import annotations

import numpy as np

from .validation import check_shape

__all__ = ["weights_from_keras", "weights_to_keras", "params_from_keras"]


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


def _model_problems(keras, model, rec, dense):
    """Why a model of a recurrent layer then a Dense layer is not the trainer's model."""
    problems = []
    if rec.return_sequences:
        problems.append(f"{rec.name} has return_sequences=True (the read-out takes the last step only)")
    for flag in ("go_backwards", "stateful"):
        if getattr(rec, flag, False):
            problems.append(f"{rec.name} has {flag}=True")
    if rec.cell.activation is not keras.activations.tanh:
        problems.append(f"{rec.name} has activation {getattr(rec.cell.activation, '__name__', '?')}, not tanh")
    recurrent = getattr(rec.cell, "recurrent_activation", keras.activations.sigmoid)
    if recurrent is not keras.activations.sigmoid:
        problems.append(f"{rec.name} has recurrent_activation "
                        f"{getattr(recurrent, '__name__', '?')}, not sigmoid")
    if dense.activation is not keras.activations.linear:
        problems.append(f"{dense.name} has activation {getattr(dense.activation, '__name__', '?')}, "
                        "not linear (None)")
    if len(dense.kernel.shape) != 2:
        problems.append(f"{dense.name} has a kernel of shape {tuple(dense.kernel.shape)}")
    if not isinstance(model, keras.Sequential) and (
            len(model.inputs) != 1 or dense.input is not rec.output
            or rec.input is not model.inputs[0] or model.outputs[0] is not dense.output):
        problems.append(f"the model does not feed its input to {rec.name} and "
                        f"{rec.name}'s output to {dense.name}")
    return problems


def params_from_keras(model, dtype=None):
    """The trainer's parameters of a Keras model made of one LSTM (or SimpleRNN) then one Dense.

    Parameters
    ----------
    model : keras.Model
        A built model such as ``keras.Sequential([keras.Input((T, D)),
        keras.layers.LSTM(H), keras.layers.Dense(K)])`` (a ``SimpleRNN`` in
        place of the ``LSTM``, or the same as a functional model). The
        recurrent layer must return only its last output, run forwards, use
        Keras's default activations and a bias; the Dense layer must be linear.
    dtype : dtype, optional
        The dtype of the returned arrays; Keras's own (float32) if omitted.

    Returns
    -------
    params : dict
        What :func:`lstm_core.trainer.init_model` returns: ``'cell'`` ('lstm'
        or 'rnn'), ``'Wx'`` (D, 4H) or (D, H), ``'Wh'`` (H, 4H) or (H, H),
        ``'b'`` (4H,) or (H,), ``'Wy'`` (H, K), ``'by'`` (K,) (zeros if the
        Dense layer has no bias). ``lstm_core.trainer.predict(params, X)``
        then equals ``model.predict(X)``.

    Raises
    ------
    ValueError
        For any other model (other layers, more layers, ``return_sequences``,
        other activations, a recurrent layer without a bias, an unbuilt model);
        the message names what differs.

    Notes
    -----
    Keras's weights are copied as they are (:func:`weights_from_keras`): no
    transposes, no reordering. The model computes
    :math:`\\hat y = h_T W_y + b_y` with :math:`h_T` the recurrent layer's
    last hidden state, as :func:`lstm_core.trainer.predict` does.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise ValueError(f"expected a keras.Model; got {type(model).__name__}")
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    names = [type(layer).__name__ for layer in layers]
    if (len(layers) != 2 or not isinstance(layers[0], (keras.layers.LSTM, keras.layers.SimpleRNN))
            or not isinstance(layers[1], keras.layers.Dense)):
        raise ValueError("expected a model of one LSTM or SimpleRNN layer followed by one Dense "
                         f"layer; got the layers {names}")
    rec, dense = layers
    if not model.built or not dense.built:
        raise ValueError("the model has no weights yet: build it first (keras.Input, or call it on data)")
    problems = _model_problems(keras, model, rec, dense)
    if problems:
        raise ValueError("this model is not a recurrent layer with a linear read-out of its last "
                         "step: " + "; ".join(problems))
    Wx, Wh, b = weights_from_keras(rec)
    Wy = np.array(dense.kernel.numpy())
    by = np.array(dense.bias.numpy()) if dense.use_bias else np.zeros(Wy.shape[1], Wy.dtype)
    params = {"cell": "lstm" if _gate_count(rec) == 4 else "rnn",
              "Wx": Wx, "Wh": Wh, "b": b, "Wy": Wy, "by": by}
    if dtype is not None:
        params.update({k: v.astype(dtype) for k, v in params.items() if k != "cell"})
    return params
