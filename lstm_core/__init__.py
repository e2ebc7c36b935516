"""``lstm_core``: the tested NumPy engine behind every number of the LSTM course.

Shapes are batch-first, ``(N, T, D)`` as Keras's ``(samples, time_steps,
features)``; weights use Keras's layout, gate blocks i, f, c (candidate), o.
Importing this package does not import TensorFlow; :mod:`lstm_core.keras_interop`
imports it only when called. Nor does it import matplotlib: the plot helpers of
:mod:`lstm_core.plots` import it inside the functions that need it.
"""

from .activations import sigmoid
from .cells import CELL_NAMES, get_cell
from .colors import GATE_COLORS, gate_colormap
from .data import (
    decode_text,
    encode_text,
    load_shakespeare,
    load_share_prices,
    load_sunspots,
)
from .diagrams import draw_gru_cell, draw_lstm_cell, draw_unrolled_rnn_vs_lstm
from .gradcheck import numerical_gradient, rel_error
from .gradients import gradient_norms_through_time, hidden_state_gradients
from .init import init_lstm_params, init_rnn_params
from .keras_interop import weights_from_keras, weights_to_keras
from .keras_interop import params_from_keras
from .lstm import (
    LSTMCache,
    LSTMStepCache,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    split_gates,
)
from .plots import (
    plot_cell_state,
    plot_gate,
    plot_gates,
    plot_gradient_norms,
    plot_text_activation,
    plot_training_curves,
)
from .rnn import (
    RNNCache,
    RNNStepCache,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
)
from .tasks import (
    adding_baseline_mse,
    adding_problem,
    delayed_recall,
    make_windows,
    noisy_sine,
)
from .trainer import clip_by_global_norm, fit, init_model, loss_and_grads, predict
from .variants import (
    LSTM_VARIANTS,
    LSTMVariant,
    convert_layout,
    lstm_variant_for,
    variant_index,
)

__all__ = [
    "sigmoid",
    "numerical_gradient",
    "rel_error",
    "init_lstm_params",
    "init_rnn_params",
    "weights_from_keras",
    "weights_to_keras",
    "LSTMCache",
    "LSTMStepCache",
    "lstm_forward",
    "lstm_backward",
    "lstm_step_forward",
    "lstm_step_backward",
    "split_gates",
    "RNNCache",
    "RNNStepCache",
    "rnn_forward",
    "rnn_backward",
    "rnn_step_forward",
    "rnn_step_backward",
    "adding_problem",
    "adding_baseline_mse",
    "delayed_recall",
    "noisy_sine",
    "make_windows",
    "load_sunspots",
    "load_shakespeare",
    "load_share_prices",
    "encode_text",
    "decode_text",
    "gradient_norms_through_time",
    "hidden_state_gradients",
    "init_model",
    "predict",
    "loss_and_grads",
    "clip_by_global_norm",
    "fit",
    "plot_gates",
    "plot_cell_state",
    "plot_gradient_norms",
    "plot_training_curves",
    "plot_gate",
    "plot_text_activation",
    "GATE_COLORS",
    "gate_colormap",
    "draw_lstm_cell",
    "draw_gru_cell",
    "draw_unrolled_rnn_vs_lstm",
    "CELL_NAMES",
    "get_cell",
    "params_from_keras",
    "LSTMVariant",
    "LSTM_VARIANTS",
    "convert_layout",
    "lstm_variant_for",
    "variant_index",
]

