"""The cell diagrams: drawn in the gates' colours, the same as the heatmaps', from one constant."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from lstm_core import colors, init_lstm_params, lstm_forward  # noqa: E402
from lstm_core.diagrams import (  # noqa: E402
    FADED,
    draw_gru_cell,
    draw_lstm_cell,
    draw_unrolled_rnn_vs_lstm,
)
from lstm_core.plots import plot_gate, plot_gates  # noqa: E402

GATES = "ifgo"


@pytest.fixture(autouse=True)
def close_figures(monkeypatch):
    def no_show(*args, **kwargs):
        raise AssertionError("a diagram helper called plt.show()")

    monkeypatch.setattr(plt, "show", no_show)
    yield
    plt.close("all")


def by_gid(ax, gid):
    found = [p for p in ax.patches if p.get_gid() == gid]
    assert len(found) == 1, f"expected one artist with gid {gid!r}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def gate_cache():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 3))
    Wx, Wh, b = init_lstm_params(3, 4, rng, dtype=np.float64)
    return lstm_forward(x, Wx, Wh, b)[2]


def test_the_four_gate_colours_are_distinct_and_defined_once():
    assert set(colors.GATE_COLORS) == set(GATES)
    assert len({to_rgba(c) for c in colors.GATE_COLORS.values()}) == 4
    # the GRU's candidate is the LSTM's candidate
    assert colors.GRU_GATE_COLORS["g"] == colors.GATE_COLORS["g"]


def test_diagram_gate_boxes_have_the_colour_at_the_top_of_each_heatmap(gate_cache):
    diagram = draw_lstm_cell()
    heatmaps = plot_gates(gate_cache, colorbar=False)
    for key, heat_ax in zip(GATES, heatmaps):
        expected = to_rgba(colors.GATE_COLORS[key])
        box = by_gid(diagram, f"gate-{key}")
        assert box.get_facecolor() == pytest.approx(expected), key
        image = heat_ax.images[0]
        # the brightest gate value (1.0) is drawn in the diagram's colour of that gate
        assert image.cmap(image.norm(1.0)) == pytest.approx(expected, abs=1 / 255), key
        assert to_rgba(heat_ax.title.get_color()) == pytest.approx(expected), key
    # zero is white for the gates in [0, 1], and for the candidate in the middle of [-1, 1]
    for key, heat_ax in zip(GATES, heatmaps):
        image = heat_ax.images[0]
        assert image.cmap(image.norm(0.0)) == pytest.approx((1, 1, 1, 1), abs=1 / 255), key


def test_diagram_valves_take_the_colour_of_the_gate_that_controls_them():
    ax = draw_lstm_cell()
    for gid, key in (("valve-f", "f"), ("valve-i", "i"), ("add-belt", "i"), ("valve-o", "o")):
        assert by_gid(ax, gid).get_edgecolor() == pytest.approx(to_rgba(colors.GATE_COLORS[key])), gid


def test_plot_gate_draws_one_gate_in_its_colour(gate_cache):
    ax = plot_gate(gate_cache, "o", sample=1)
    image = ax.images[0]
    np.testing.assert_allclose(np.asarray(image.get_array()), gate_cache.gates[1, :, 12:16].T)
    assert image.cmap(image.norm(1.0)) == pytest.approx(to_rgba(colors.GATE_COLORS["o"]), abs=1 / 255)
    with pytest.raises(ValueError, match="gate must be one of 'i', 'f', 'g', 'o'; got 'z'"):
        plot_gate(gate_cache, "z")


def test_highlight_keeps_only_the_named_gates_in_colour():
    ax = draw_lstm_cell(highlight="o")
    assert by_gid(ax, "gate-o").get_facecolor() == pytest.approx(to_rgba(colors.GATE_COLORS["o"]))
    assert by_gid(ax, "valve-o").get_edgecolor() == pytest.approx(to_rgba(colors.GATE_COLORS["o"]))
    for key in "ifg":
        assert by_gid(ax, f"gate-{key}").get_facecolor() == pytest.approx(to_rgba(FADED)), key
    assert by_gid(ax, "valve-f").get_edgecolor() == pytest.approx(to_rgba(FADED))

    both = draw_lstm_cell(highlight=["i", "g"])
    assert by_gid(both, "gate-g").get_facecolor() == pytest.approx(to_rgba(colors.GATE_COLORS["g"]))
    assert by_gid(both, "gate-f").get_facecolor() == pytest.approx(to_rgba(FADED))
    with pytest.raises(ValueError, match=r"highlight must be None or letters from \['f', 'g', 'i', 'o'\]; got \['z'\]"):
        draw_lstm_cell(highlight="z")


def test_diagrams_draw_on_given_axes_and_label_the_states():
    fig, ax = plt.subplots()
    assert draw_lstm_cell(ax=ax) is ax
    texts = {t.get_text() for t in ax.texts}
    assert {"$c_{t-1}$", "$c_t$", "$h_{t-1}$", "$h_t$", "$x_t$"} <= texts
    assert not ax.axison


def test_unrolled_rnn_vs_lstm_draws_one_step_per_time_step():
    axes = draw_unrolled_rnn_vs_lstm(steps=3)
    assert len(axes) == 2
    rnn, lstm = axes
    assert sorted(p.get_gid() for p in rnn.patches if (p.get_gid() or "").startswith("rnn-step")) == [
        "rnn-step-0", "rnn-step-1", "rnn-step-2"]
    for k in range(3):
        for key in GATES:
            box = by_gid(lstm, f"lstm-gate-{key}-{k}")
            assert box.get_facecolor() == pytest.approx(to_rgba(colors.GATE_COLORS[key]))
        assert by_gid(lstm, f"lstm-valve-f-{k}").get_edgecolor() == pytest.approx(
            to_rgba(colors.GATE_COLORS["f"]))
    fig, given = plt.subplots(1, 2)
    assert list(draw_unrolled_rnn_vs_lstm(2, axes=given)) == list(given)
    with pytest.raises(ValueError, match="steps must be an integer from 1 to 6; got 0"):
        draw_unrolled_rnn_vs_lstm(0)
    with pytest.raises(ValueError, match="axes must hold 2 axes"):
        draw_unrolled_rnn_vs_lstm(2, axes=[given[0]])


def test_gru_cell_uses_the_gru_colours_and_shares_the_candidate_colour():
    ax = draw_gru_cell()
    for key in "zrg":
        box = by_gid(ax, f"gate-{key}")
        assert box.get_facecolor() == pytest.approx(to_rgba(colors.GRU_GATE_COLORS[key])), key
    assert by_gid(ax, "gate-g").get_facecolor() == pytest.approx(to_rgba(colors.GATE_COLORS["g"]))
    faded = draw_gru_cell(highlight="z")
    assert by_gid(faded, "gate-r").get_facecolor() == pytest.approx(to_rgba(FADED))


def test_gate_colormap_rejects_unknown_gates():
    assert colors.gate_colormap("c").name == "gate_g"
    with pytest.raises(ValueError, match="gate must be one of"):
        colors.gate_colormap("x")
