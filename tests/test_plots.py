"""The plot helpers draw what they say, on given or new axes, without showing."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lstm_core import init_lstm_params, lstm_forward  # noqa: E402
from lstm_core.plots import (  # noqa: E402
    plot_cell_state,
    plot_gates,
    plot_gradient_norms,
    plot_training_curves,
)


@pytest.fixture(autouse=True)
def close_figures(monkeypatch):
    def no_show(*args, **kwargs):
        raise AssertionError("a plot helper called plt.show()")

    monkeypatch.setattr(plt, "show", no_show)
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def lstm_run():
    rng = np.random.default_rng(0)
    N, T, D, H = 3, 7, 2, 5
    x = rng.standard_normal((N, T, D))
    Wx, Wh, b = init_lstm_params(D, H, rng, dtype=np.float64)
    h, c, cache = lstm_forward(x, Wx, Wh, b)
    return h, c, cache


def test_plot_gates_draws_four_heatmaps_with_the_gate_values(lstm_run):
    _, _, cache = lstm_run
    axes = plot_gates(cache, sample=1)
    assert len(axes) == 4
    for k, ax in enumerate(axes):
        assert len(ax.images) == 1
        img = np.asarray(ax.images[0].get_array())
        assert img.shape == (5, 7)                      # (H, T)
        np.testing.assert_allclose(img, cache.gates[1, :, 5 * k:5 * (k + 1)].T)
        assert ax.get_xlabel() == "time step $t$"
    assert [ax.get_title() for ax in axes] == [
        "input gate $i$", "forget gate $f$", "candidate $g$", "output gate $o$"]
    assert axes[0].get_ylabel() == "unit"
    assert axes[2].images[0].get_clim() == (-1.0, 1.0)
    assert axes[0].images[0].get_clim() == (0.0, 1.0)
    # colour bars: 4 heatmaps + 4 bars in the figure
    assert len(axes[0].figure.axes) == 8


def test_plot_gates_on_given_axes_and_from_an_array(lstm_run):
    _, _, cache = lstm_run
    fig, given = plt.subplots(2, 2)
    axes = plot_gates(np.asarray(cache.gates), axes=given, colorbar=False)
    assert list(axes) == list(given.ravel())
    assert len(fig.axes) == 4 and all(len(ax.images) == 1 for ax in given.ravel())


def test_plot_gates_rejects_bad_input(lstm_run):
    _, _, cache = lstm_run
    with pytest.raises(ValueError, match=r"gates must have shape \(N, T, 4H\); got \(3, 7, 6\)"):
        plot_gates(np.zeros((3, 7, 6)))
    with pytest.raises(ValueError, match=r"sample must be in 0 \.\. N - 1 = 0 \.\. 2; got 3"):
        plot_gates(cache, sample=3)
    _, two = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="axes must hold 4 axes"):
        plot_gates(cache, axes=two)


def test_plot_cell_state_one_line_per_unit(lstm_run):
    _, c, _ = lstm_run
    ax = plot_cell_state(c, sample=2)
    assert len(ax.lines) == 5
    np.testing.assert_allclose(ax.lines[3].get_ydata(), c[2, :, 3])
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(7))
    assert ax.get_ylabel() == "cell state $c_t$" and ax.get_xlabel() == "time step $t$"
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["unit 0", "unit 1"]

    _, given = plt.subplots()
    assert plot_cell_state(c, units=[1, 4], ax=given) is given
    assert len(given.lines) == 2 and given.lines[1].get_label() == "unit 4"
    with pytest.raises(ValueError, match=r"units must be in 0 \.\. H - 1 = 0 \.\. 4; got \[5\]"):
        plot_cell_state(c, units=[5])
    with pytest.raises(ValueError, match=r"c must have shape \(N, T, H\); got \(7, 5\)"):
        plot_cell_state(c[0])


def test_plot_gradient_norms_log_scale_and_steps_back():
    T = 6
    norms = {"RNN": 10.0 ** -np.arange(T)[::-1], "LSTM": np.linspace(0.5, 1, T)}
    ax = plot_gradient_norms(norms)
    assert ax.get_yscale() == "log"
    assert len(ax.lines) == 2
    rnn = ax.lines[0]
    assert rnn.get_label() == "RNN"
    # the last step (entry T-1) is drawn at 0 steps back
    np.testing.assert_array_equal(rnn.get_xdata(), np.arange(T)[::-1])
    assert rnn.get_ydata()[-1] == 1.0 and rnn.get_xdata()[-1] == 0
    assert ax.get_xlabel() == "steps back from the last step"
    assert ax.get_ylabel() == "gradient norm"
    _, given = plt.subplots()
    assert plot_gradient_norms({"a": [1, 2]}, ax=given) is given
    with pytest.raises(ValueError, match="non-empty dict"):
        plot_gradient_norms([1, 2, 3])
    with pytest.raises(ValueError, match=r"norms\['x'\] must have shape \(T,\); got \(2, 2\)"):
        plot_gradient_norms({"x": np.ones((2, 2))})


def test_plot_training_curves_lists_histories_and_baseline():
    histories = {
        "numpy": {"loss": [0.5, 0.3, 0.2], "val_loss": [0.6, 0.4, 0.3], "grad_norm": [1, 1, 1]},
        "keras": [0.4, 0.25, 0.15, 0.1],
    }
    ax = plot_training_curves(histories, baseline=1 / 3)
    assert len(ax.lines) == 3                     # two runs + the baseline
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [0.4, 0.25, 0.15, 0.1])
    assert ax.lines[2].get_linestyle() == "--"
    np.testing.assert_allclose(ax.lines[2].get_ydata(), [1 / 3, 1 / 3])
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["numpy", "keras", "baseline (0.333)"]

    _, given = plt.subplots()
    out = plot_training_curves({"numpy": histories["numpy"]}, key="val_loss", ax=given)
    assert out is given and len(given.lines) == 1 and given.get_ylabel() == "val_loss"
    np.testing.assert_array_equal(given.lines[0].get_ydata(), [0.6, 0.4, 0.3])
    with pytest.raises(ValueError, match=r"histories\['k'\] has no 'acc'"):
        plot_training_curves({"k": {"loss": [1]}}, key="acc")


def test_import_lstm_core_imports_neither_matplotlib_nor_tensorflow():
    import subprocess
    import sys

    code = ("import sys, lstm_core; lstm_core.plot_gates; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib'; "
            "assert 'tensorflow' not in sys.modules, 'tensorflow'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_plot_text_activation_colours_each_character_by_its_value():
    import matplotlib as mpl

    from lstm_core.plots import plot_text_activation

    text = "AB:\nab c"
    values = np.array([1.0, -1.0, 0.0, 0.5, -0.25, 0.25, 0.75, -0.5])
    ax = plot_text_activation(text, values, colorbar=False)
    assert len(ax.patches) == len(text) == len(ax.texts)
    cmap = mpl.colormaps["RdBu_r"]
    for patch, value in zip(ax.patches, values):
        np.testing.assert_allclose(patch.get_facecolor(), cmap((value + 1) / 2))
    # the newline is drawn as a symbol at the end of the first row, then a new row
    assert [t.get_text() for t in ax.texts][:4] == ["A", "B", ":", "\u21b5"]
    first_row_y = ax.patches[0].get_y()
    assert ax.patches[3].get_y() == first_row_y and ax.patches[4].get_y() < first_row_y
    assert ax.patches[4].get_x() == 0
    assert not ax.axison


def test_plot_text_activation_wraps_long_rows_and_checks_its_input():
    from lstm_core.plots import plot_text_activation

    _, given = plt.subplots()
    ax = plot_text_activation("abcdefg", np.zeros(7), ax=given, width=3)
    assert ax is given
    xs = [p.get_x() for p in ax.patches]
    assert xs == [0, 1, 2, 0, 1, 2, 0]
    assert len({p.get_y() for p in ax.patches}) == 3
    assert len(given.figure.axes) == 2                  # the text and its colour bar
    with pytest.raises(ValueError, match=r"values must have shape \(T,\) = \(3,\), one per character; got \(2,\)"):
        plot_text_activation("abc", [0.1, 0.2])
    with pytest.raises(ValueError, match="width must be an integer >= 1; got 0"):
        plot_text_activation("abc", [0.1, 0.2, 0.3], width=0)
    with pytest.raises(ValueError, match="text must be a non-empty str"):
        plot_text_activation("", [])
