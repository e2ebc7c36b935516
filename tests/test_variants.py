"""The LSTM variants of lstm-from-scratch: layouts, cells, exact gradients, and who gets which variant."""

import collections
import hashlib
import hmac
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import lstm_core as lc
from lstm_core import variants as V
from lstm_core.testing import ReferenceImplementationCalled, module_functions, reference_disabled
from lstm_core.variants import LSTM_VARIANTS, LSTMVariant, convert_layout, lstm_variant_for, variant_index

LAYOUT_NAMES = ("keras", "pytorch", "cs231n")
ALL = [LSTMVariant(cell, layout) for cell in V.VARIANT_CELLS for layout in LAYOUT_NAMES]
IDS = [f"student{k:03d}" for k in range(1, 101)]


# ---------------------------------------------------------------- layouts and the variant value

@pytest.mark.parametrize("cell, layout, order", [
    ("standard", "keras", "ifgo"), ("standard", "pytorch", "ifgo"), ("standard", "cs231n", "ifog"),
    ("coupled", "keras", "fgo"), ("coupled", "pytorch", "fgo"), ("coupled", "cs231n", "fog"),
    ("peephole", "keras", "ifgo"), ("peephole", "cs231n", "ifog"),
    ("no_forget", "keras", "igo"), ("no_forget", "cs231n", "iog"),
])
def test_gate_order_is_the_layouts_with_the_missing_block_removed(cell, layout, order):
    v = LSTMVariant(cell, layout)
    assert v.gate_order == tuple(order) == V.gate_order(cell, layout)
    assert v.n_blocks == len(order)
    labels = tuple("c" if (g == "g" and layout == "keras") else g for g in order)
    assert v.gate_labels == labels


def test_the_nine_variants_of_the_assignment_in_a_fixed_order():
    assert [v.key for v in LSTM_VARIANTS] == [
        "standard-keras", "standard-pytorch", "standard-cs231n",
        "coupled-keras", "coupled-pytorch", "coupled-cs231n",
        "peephole-keras", "peephole-pytorch", "peephole-cs231n"]
    assert len(set(LSTM_VARIANTS)) == 9
    assert all(LSTMVariant.from_key(v.key) == v for v in ALL)
    assert lc.LSTM_VARIANTS is LSTM_VARIANTS and lc.LSTMVariant is LSTMVariant


def test_parameter_names_and_shapes():
    peep, coupled = LSTMVariant("peephole", "cs231n"), LSTMVariant("coupled", "keras")
    assert peep.param_names == ("Wx", "Wh", "b", "P")
    assert peep.param_shapes == (("Wx", ("D", "4H")), ("Wh", ("H", "4H")), ("b", ("4H",)),
                                 ("P", ("3", "H")))
    assert peep.shapes(3, 5) == {"Wx": (3, 20), "Wh": (5, 20), "b": (20,), "P": (3, 5)}
    assert coupled.param_names == ("Wx", "Wh", "b")
    assert coupled.shapes(2, 4) == {"Wx": (2, 12), "Wh": (4, 12), "b": (12,)}
    assert repr(coupled) == "LSTMVariant(cell='coupled', layout='keras')"
    with pytest.raises(AttributeError):
        coupled.cell = "standard"                          # frozen
    with pytest.raises(ValueError, match="H must be a positive integer; got 0"):
        coupled.shapes(2, 0)


def test_unknown_cells_layouts_and_keys_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match=r"cell must be one of \('standard', 'coupled', 'peephole', "
                                         r"'no_forget'\); got 'gru'"):
        LSTMVariant("gru", "keras")
    with pytest.raises(ValueError, match=r"layout must be one of \('keras', 'pytorch', 'cs231n'\); "
                                         r"got 'Keras'"):
        LSTMVariant("standard", "Keras")
    with pytest.raises(ValueError, match="a variant key is '<cell>-<layout>'"):
        LSTMVariant.from_key("standard")
    with pytest.raises(TypeError, match="variant must be an LSTMVariant or a key"):
        V.variant_forward(3, np.zeros((1, 1, 1)), np.zeros((1, 4)), np.zeros((1, 4)), np.zeros(4))


def test_init_params_as_keras_with_the_forget_bias_where_the_cell_has_a_forget_gate():
    rng = np.random.default_rng(0)
    for v in ALL:
        params = v.init_params(3, 4, rng)
        assert tuple(p.shape for p in params) == tuple(v.shapes(3, 4).values())
        b = params[2]
        for j, g in enumerate(v.gate_order):
            np.testing.assert_array_equal(b[4 * j:4 * j + 4], 1.0 if g == "f" else 0.0)
        np.testing.assert_allclose(params[1] @ params[1].T, np.eye(4), atol=1e-12)
        if v.cell == "peephole":
            np.testing.assert_array_equal(params[3], 0.0)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        LSTM_VARIANTS[0].init_params(3, 4, 0)


# ---------------------------------------------------------------- conversions

def _labelled(D, H, k):
    """Weights whose every column says which block it belongs to (block j holds j + 1)."""
    col = np.repeat(np.arange(1.0, k + 1), H)                  # (kH,)
    return np.tile(col, (D, 1)), np.tile(10 * col, (H, 1)), 100 * col


@pytest.mark.parametrize("cell", V.VARIANT_CELLS)
def test_convert_layout_moves_whole_blocks_to_the_destination_order(cell):
    D, H = 2, 3
    for src in LAYOUT_NAMES:
        k = LSTMVariant(cell, src).n_blocks
        Wx, Wh, b = _labelled(D, H, k)
        for dst in LAYOUT_NAMES:
            src_order, dst_order = V.gate_order(cell, src), V.gate_order(cell, dst)
            out = convert_layout(Wx, Wh, b, src=src, dst=dst, cell=cell)
            for j, gate in enumerate(dst_order):
                blk = slice(j * H, (j + 1) * H)
                expected = src_order.index(gate) + 1             # the label of that gate in src
                np.testing.assert_array_equal(out[0][:, blk], expected)
                np.testing.assert_array_equal(out[1][:, blk], 10 * expected)
                np.testing.assert_array_equal(out[2][blk], 100 * expected)
            assert V.layout_permutation(src, dst, cell) == tuple(src_order.index(g) for g in dst_order)


def test_keras_to_cs231n_by_hand_and_round_trips_are_exact():
    rng = np.random.default_rng(1)
    D, H = 3, 2
    Wx, Wh, b = rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)), rng.standard_normal(4 * H)
    before = [a.copy() for a in (Wx, Wh, b)]
    Wx2, Wh2, b2 = convert_layout(Wx, Wh, b, src="keras", dst="cs231n")
    i, f, c, o = np.split(Wx, 4, axis=1)
    np.testing.assert_array_equal(Wx2, np.concatenate([i, f, o, c], axis=1))
    np.testing.assert_array_equal(b2, np.concatenate([b[:4], b[6:], b[4:6]]))
    for a, a0 in zip((Wx, Wh, b), before):                      # arguments untouched
        np.testing.assert_array_equal(a, a0)
    for cell in V.VARIANT_CELLS:
        k = LSTMVariant(cell, "keras").n_blocks
        W = (rng.standard_normal((D, k * H)), rng.standard_normal((H, k * H)), rng.standard_normal(k * H))
        for src in LAYOUT_NAMES:
            for dst in LAYOUT_NAMES:
                there = convert_layout(*W, src=src, dst=dst, cell=cell)
                back = convert_layout(*there, src=dst, dst=src, cell=cell)
                for a, a0 in zip(back, W):
                    np.testing.assert_array_equal(a, a0)


def test_convert_layout_checks_shapes_and_names():
    W3 = np.zeros((2, 9)), np.zeros((3, 9)), np.zeros(9)
    with pytest.raises(ValueError, match=r"Wh must have shape \(H, 4H\) = \(3, 12\); got \(3, 9\)"):
        convert_layout(*W3)                                          # 3 blocks given as a standard cell
    convert_layout(*W3, cell="coupled")
    with pytest.raises(ValueError, match=r"layout must be one of .*; got 'torch'"):
        convert_layout(*W3, src="torch", cell="coupled")


@pytest.mark.parametrize("cell", V.VARIANT_CELLS)
def test_every_layout_computes_the_same_cell_after_conversion(cell):
    rng = np.random.default_rng(2)
    N, T, D, H = 3, 5, 2, 4
    ref = LSTMVariant(cell, "keras")
    params = [p + 0.3 * rng.standard_normal(p.shape) for p in ref.init_params(D, H, rng)]
    x, h0, c0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    h_ref, c_ref, cache_ref = ref.forward(x, *params, h0=h0, c0=c0)
    dh = rng.standard_normal((N, T, H))
    g_ref = ref.backward(dh, cache_ref)
    for layout in LAYOUT_NAMES:
        v = LSTMVariant(cell, layout)
        W = convert_layout(*params[:3], src="keras", dst=layout, cell=cell)
        h, c, cache = v.forward(x, *W, *params[3:], h0=h0, c0=c0)
        np.testing.assert_allclose(h, h_ref, rtol=0, atol=1e-14)
        np.testing.assert_allclose(c, c_ref, rtol=0, atol=1e-14)
        g = v.backward(dh, cache)
        dW = convert_layout(*g[3:6], src=layout, dst="keras", cell=cell)     # back to Keras's order
        for a, b in zip(g[:3] + dW + g[6:], g_ref):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)


# ---------------------------------------------------------------- the cells' math

def _random(v, rng, N=3, T=4, D=3, H=4, scale=0.5):
    params = tuple(scale * rng.standard_normal(s) for s in v.shapes(D, H).values())
    return (params, rng.standard_normal((N, T, D)), rng.standard_normal((N, H)),
            rng.standard_normal((N, H)))


def test_the_standard_keras_variant_is_lstm_core_lstm():
    rng = np.random.default_rng(3)
    v = LSTMVariant("standard", "keras")
    params, x, h0, c0 = _random(v, rng)
    h, c, cache = v.forward(x, *params, h0, c0)                     # h0, c0 positionally
    h2, c2, cache2 = lc.lstm_forward(x, *params, h0, c0)
    np.testing.assert_allclose(h, h2, atol=1e-14)
    np.testing.assert_allclose(c, c2, atol=1e-14)
    np.testing.assert_allclose(cache.gates, cache2.gates, atol=1e-14)
    dh, dc = rng.standard_normal(h.shape), rng.standard_normal(h0.shape)
    for a, b in zip(v.backward(dh, cache, dc), lc.lstm_backward(dh, cache2, dc)):
        np.testing.assert_allclose(a, b, atol=1e-13)
    hs, cs, step = v.step_forward(x[:, 0], h0, c0, *params)
    ref = lc.lstm_step_forward(x[:, 0], h0, c0, *params)
    np.testing.assert_allclose(hs, ref[0], atol=1e-15)
    for a, b in zip(v.step_backward(dh[:, 0], dc, step), lc.lstm_step_backward(dh[:, 0], dc, ref[2])):
        np.testing.assert_allclose(a, b, atol=1e-14)


def test_each_cell_updates_its_cell_state_as_its_equations_say():
    rng = np.random.default_rng(4)
    for layout in LAYOUT_NAMES:
        gates = {}
        for cell in V.VARIANT_CELLS:
            v = LSTMVariant(cell, layout)
            params, x, h0, c0 = _random(v, rng)
            h, c, cache = v.step_forward(x[:, 0], h0, c0, *params)
            gates[cell] = g = dict(zip(v.gate_order, np.split(cache.gates, v.n_blocks, axis=1)))
            i = g["i"] if "i" in g else 1 - g["f"]
            f = g["f"] if "f" in g else 1.0
            np.testing.assert_allclose(c, f * c0 + i * g["g"], atol=1e-14)
            np.testing.assert_allclose(h, g["o"] * np.tanh(c), atol=1e-14)
            if cell == "peephole":                                  # o saw the new c
                z = x[:, 0] @ params[0] + h0 @ params[1] + params[2]
                z_o = np.split(z, 4, axis=1)[v.gate_order.index("o")]
                np.testing.assert_allclose(g["o"], lc.sigmoid(z_o + params[3][2] * c), atol=1e-14)
                z_i = np.split(z, 4, axis=1)[v.gate_order.index("i")]
                np.testing.assert_allclose(g["i"], lc.sigmoid(z_i + params[3][0] * c0), atol=1e-14)


def test_a_peephole_cell_with_zero_peepholes_is_the_standard_cell():
    rng = np.random.default_rng(5)
    for layout in LAYOUT_NAMES:
        std, peep = LSTMVariant("standard", layout), LSTMVariant("peephole", layout)
        params, x, h0, c0 = _random(std, rng)
        a = std.forward(x, *params, h0=h0, c0=c0)
        b = peep.forward(x, *params, np.zeros((3, 4)), h0=h0, c0=c0)
        np.testing.assert_array_equal(a[0], b[0])
        c = peep.forward(x, *params, np.full((3, 4), 0.5), h0=h0, c0=c0)
        assert np.abs(c[0] - a[0]).max() > 1e-3                        # the peepholes matter


# ---------------------------------------------------------------- gradient checks, every variant

def _step_loss(v, dh, dc):
    def loss(args):
        h, c, _ = v.step_forward(*args)
        return np.sum(h * dh) + np.sum(c * dc)
    return loss


@pytest.mark.parametrize("v", ALL, ids=lambda v: v.key)
def test_step_backward_matches_central_differences(v):
    rng = np.random.default_rng(6)
    params, x, h0, c0 = _random(v, rng)
    args = [x[:, 0], h0, c0, *params]                                   # forward's arguments
    h, c, cache = v.step_forward(*args)
    dh, dc = rng.standard_normal(h.shape), rng.standard_normal(c.shape)
    grads = v.step_backward(dh, dc, cache)
    assert len(grads) == len(args)                                      # dx, dh_prev, dc_prev, dW.., [dP]
    loss = _step_loss(v, dh, dc)
    for k, (arg, g) in enumerate(zip(args, grads)):
        def f(a, k=k):
            return loss(args[:k] + [a] + args[k + 1:])
        assert g.shape == arg.shape
        assert lc.rel_error(g, lc.numerical_gradient(f, arg)) <= 1e-7, k


@pytest.mark.parametrize("v", ALL, ids=lambda v: v.key)
def test_sequence_backward_matches_central_differences(v):
    rng = np.random.default_rng(7)
    params, x, h0, c0 = _random(v, rng)
    dh = rng.standard_normal(x.shape[:2] + (h0.shape[1],))
    dc_last = rng.standard_normal(c0.shape)
    h, c, cache = v.forward(x, *params, h0=h0, c0=c0)
    dx, dh0, dc0, *dparams = v.backward(dh, cache, dc_last)
    named = dict(x=(x, dx), h0=(h0, dh0), c0=(c0, dc0),
                 **{n: (p, g) for n, p, g in zip(v.param_names, params, dparams)})
    assert len(dparams) == len(params)

    def loss(**changed):
        a = {n: changed.get(n, value) for n, (value, _) in named.items()}
        hs, cs, _ = v.forward(a["x"], *(a[n] for n in v.param_names), h0=a["h0"], c0=a["c0"])
        return np.sum(hs * dh) + np.sum(cs[:, -1] * dc_last)

    for name, (value, grad) in named.items():
        num = lc.numerical_gradient(lambda a, name=name: loss(**{name: a}), value)
        assert grad.shape == value.shape
        assert lc.rel_error(grad, num) <= 1e-7, name


@pytest.mark.parametrize("v", ALL, ids=lambda v: v.key)
def test_sequence_is_a_loop_of_steps(v):
    rng = np.random.default_rng(8)
    params, x, h0, c0 = _random(v, rng)
    hs, cs, cache = v.forward(x, *params, h0=h0, c0=c0)
    h, c = h0, c0
    for t in range(x.shape[1]):
        h, c, step = v.step_forward(x[:, t], h, c, *params)
        np.testing.assert_array_equal(hs[:, t], h)
        np.testing.assert_array_equal(cache.gates[:, t], step.gates)
    assert cache.shape == (3, 4, 3, 4)


# ---------------------------------------------------------------- the contract

def test_forward_and_backward_are_pure_and_float32_stays_float32():
    rng = np.random.default_rng(9)
    v = LSTMVariant("peephole", "cs231n")
    params, x, h0, c0 = _random(v, rng)
    params, x = tuple(p.astype(np.float32) for p in params), x.astype(np.float32)
    copies = [a.copy() for a in (*params, x)]
    h, c, cache = v.forward(x, *params)
    g1 = v.backward(np.ones_like(h), cache)
    g2 = v.backward(np.ones_like(h), cache)
    for a, a0 in zip((*params, x), copies):
        np.testing.assert_array_equal(a, a0)
    assert h.dtype == c.dtype == np.float32
    for a, b in zip(g1, g2):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)


def test_variant_errors_name_what_is_wrong():
    rng = np.random.default_rng(10)
    peep, std, cpl = (LSTMVariant(c, "keras") for c in ("peephole", "standard", "coupled"))
    params, x, h0, c0 = _random(peep, rng, D=3, H=4)
    with pytest.raises(ValueError, match=r"the peephole-keras variant takes the parameters "
                                         r"Wx, Wh, b, P; got 3 of them"):
        peep.forward(x, *params[:3])
    with pytest.raises(ValueError, match=r"the peephole-keras variant needs peephole weights P "
                                         r"of shape \(3, H\) = \(3, 4\); got None"):
        V.variant_forward(peep, x, *params[:3])
    with pytest.raises(ValueError, match=r"the standard-keras variant has no peephole weights P; "
                                         r"got an array of shape \(3, 4\) \(give h0 and c0 by keyword\)"):
        V.variant_forward(std, x, *params[:3], h0)
    with pytest.raises(ValueError, match=r"P must have shape \(3, H\) = \(3, 4\); got \(4,\)"):
        peep.forward(x, *params[:3], params[3][0])
    with pytest.raises(ValueError, match=r"Wh must have shape \(H, 3H\) = \(4, 12\); got \(4, 16\)"):
        cpl.forward(x, *params[:3])
    with pytest.raises(ValueError, match=r"h0 must have shape \(N, H\) = \(3, 4\); got \(4,\)"):
        std.forward(x, *params[:3], h0=h0[0])
    with pytest.raises(ValueError, match=r"x must have shape \(N, D\); got \(3, 4, 3\)"):
        std.step_forward(x, h0, c0, *params[:3])
    h, c, cache = std.forward(x, *params[:3])
    with pytest.raises(ValueError, match=r"dh must have shape \(N, T, H\) = \(3, 4, 4\); got \(3, 4\)"):
        std.backward(h[:, -1], cache)
    with pytest.raises(TypeError, match="cache must be the VariantCache of variant_forward"):
        std.backward(h, cache.steps)
    with pytest.raises(TypeError, match="cache must be the VariantStepCache of variant_step_forward"):
        std.step_backward(h[:, 0], c[:, 0], cache)


def test_reference_disabled_switches_off_every_variant_function_and_method():
    names = {f.__name__ for f in module_functions(V)}
    assert {"variant_step_forward", "variant_step_backward", "variant_forward", "variant_backward",
            "_step_forward", "_step_backward", "convert_layout"} <= names
    v = LSTM_VARIANTS[7]
    rng = np.random.default_rng(11)
    params, x, h0, c0 = _random(v, rng)
    h, c, cache = v.forward(x, *params)
    with reference_disabled(V):
        for call in (lambda: v.forward(x, *params), lambda: v.backward(h, cache),
                     lambda: v.step_forward(x[:, 0], h0, c0, *params),
                     lambda: v.step_backward(h[:, 0], c[:, 0], cache.steps[0]),
                     lambda: V._step_forward(v, x[:, 0], h0, c0, *params)):
            with pytest.raises(ReferenceImplementationCalled):
                call()
        # what a variant is can still be read in the block: only the references are off
        made = LSTMVariant("coupled", "cs231n")
        assert made.gate_order == ("f", "o", "g") and made.shapes(2, 3)["Wx"] == (2, 9)
        assert LSTMVariant.from_key(v.key) == v and v.param_names[-1] == "P"
    np.testing.assert_array_equal(v.forward(x, *params)[0], h)          # restored


# ---------------------------------------------------------------- the student's text

def test_markdown_states_the_layout_the_equations_and_the_signatures():
    texts = {v.key: v.markdown for v in LSTM_VARIANTS}
    assert len(set(texts.values())) == 9
    for v in LSTM_VARIANTS:
        text = texts[v.key]
        assert v.key in text and "in the order " + ", ".join(f"**{g}**" for g in v.gate_labels) in text
        assert "$$\n\\begin{aligned}" in text and v.equations in text
        for sig in v.signatures:
            assert f"- `{sig}`" in text
        assert ("P" in v.param_names) == ("p_o \\odot c_t" in text) == ("dP)" in text)
        assert ("i_t = 1 - f_t" in text) == (v.cell == "coupled")
        assert (f"$(D, {v.n_blocks}H)$" in text)
    assert "called `c` in this layout" in texts["standard-keras"]
    assert "called `c`" not in texts["standard-pytorch"]
    assert LSTM_VARIANTS[6].signatures[2] == "lstm_forward(x, Wx, Wh, b, P, h0=None, c0=None) -> (h, c, cache)"
    assert "c_t &= c_{t-1} + i_t \\odot g_t" in LSTMVariant("no_forget", "keras").equations


# ---------------------------------------------------------------- who gets which variant

def test_variant_index_is_hmac_sha256_of_assignment_and_id_keyed_by_the_term_key():
    digest = hmac.new(b"fall-2025", b"lstm-from-scratch\x00student042", hashlib.sha256).digest()
    assert variant_index("fall-2025", "lstm-from-scratch", "student042", 9) == int.from_bytes(digest, "big") % 9
    assert variant_index(b"fall-2025", "lstm-from-scratch", "student042", 1000) == \
        int.from_bytes(digest, "big") % 1000
    assert lstm_variant_for("fall-2025", "student042") == LSTM_VARIANTS[int.from_bytes(digest, "big") % 9]
    assert lc.lstm_variant_for is lstm_variant_for and lc.variant_index is variant_index


def test_the_same_id_gets_the_same_variant_in_every_process():
    code = ("import lstm_core.variants as V; "
            "print(V.lstm_variant_for('fall-2025', 'student007').key, "
            "V.variant_index('k', 'a', 'student007', 1000003))")
    outs = set()
    for seed in ("0", "1", "random"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        outs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                text=True, check=True).stdout)
    here = f"{lstm_variant_for('fall-2025', 'student007').key} {variant_index('k', 'a', 'student007', 1000003)}\n"
    assert outs == {here}


def test_another_term_key_or_assignment_gives_another_assignment_of_ids():
    a = [lstm_variant_for("fall-2025", s) for s in IDS]
    b = [lstm_variant_for("spring-2026", s) for s in IDS]
    c = [LSTM_VARIANTS[variant_index("fall-2025", "lstm-from-scratch-2", s, 9)] for s in IDS]
    # independent draws agree on 1 id in 9: about 11 of 100
    assert sum(x == y for x, y in zip(a, b)) < 25
    assert sum(x == y for x, y in zip(a, c)) < 25


@pytest.mark.parametrize("key", ["fall-2025", "spring-2026", "term-key-0", b"\x00\x01binary", "k"])
def test_a_hundred_ids_cover_every_variant_and_none_gets_twice_its_share(key):
    counts = collections.Counter(lstm_variant_for(key, s) for s in IDS)
    assert set(counts) == set(LSTM_VARIANTS)
    assert max(counts.values()) <= 2 * len(IDS) / len(LSTM_VARIANTS)     # 22


def test_balance_over_many_keys_is_what_a_uniform_hash_gives():
    # The docstring's figures: some variant gets more than 22 of 100 ids for ~0.5% of keys,
    # and one is left empty with probability ~7e-5. Over 2,000 keys, allow 2%.
    bad = 0
    for k in range(2000):
        counts = collections.Counter(variant_index(f"key-{k}", "lstm-from-scratch", s, 9) for s in IDS)
        bad += len(counts) < 9 or max(counts.values()) > 22
    assert bad <= 40, bad


@pytest.mark.parametrize("args, error, message", [
    (("fall-2025", "lstm-from-scratch", "", 9), ValueError, "student_id must not be empty"),
    (("fall-2025", "lstm-from-scratch", "  ", 9), ValueError, "student_id must not be empty"),
    (("fall-2025", "lstm-from-scratch", "student001\n", 9), ValueError,
     "student_id must not contain NUL or start or end with whitespace"),
    (("", "lstm-from-scratch", "student001", 9), ValueError, "term_key must not be empty"),
    ((b"", "lstm-from-scratch", "student001", 9), ValueError, "term_key must not be empty"),
    (("fall-2025", "", "student001", 9), ValueError, "assignment must not be empty"),
    (("fall-2025", "lstm-from-scratch", "student001", 0), ValueError, "n must be a positive integer; got 0"),
    (("fall-2025", "lstm-from-scratch", "student001", -2), ValueError, "n must be a positive integer; got -2"),
    (("fall-2025", "lstm-from-scratch", "student001", 9.0), ValueError, "n must be a positive integer"),
    (("fall-2025", "lstm-from-scratch", 42, 9), TypeError, "student_id must be a str; got int"),
    ((None, "lstm-from-scratch", "student001", 9), TypeError, "term_key must be a str or bytes; got NoneType"),
])
def test_variant_index_refuses_empty_ids_and_keys_and_n_below_one(args, error, message):
    with pytest.raises(error, match=message):
        variant_index(*args)


def test_lstm_variant_for_refuses_empty_ids_and_keys():
    with pytest.raises(ValueError, match="student_id must not be empty"):
        lstm_variant_for("fall-2025", "")
    with pytest.raises(ValueError, match="term_key must not be empty"):
        lstm_variant_for("", "student001")
    assert variant_index("k", "a", "s", 1) == 0


# ---------------------------------------------------------------- the student's id

def test_student_id_prefers_the_graders_id_then_the_hub_user_then_what_was_typed(monkeypatch):
    monkeypatch.delenv(V.STUDENT_ENV, raising=False)
    monkeypatch.delenv(V.HUB_USER_ENV, raising=False)
    assert V.student_id("  s1234\n") == "s1234"                         # typed, stripped
    monkeypatch.setenv(V.HUB_USER_ENV, "alice")
    assert V.student_id("s1234") == "alice"                            # the hub's user wins
    monkeypatch.setenv(V.STUDENT_ENV, "  bob ")
    assert V.student_id("s1234") == "bob"                              # the grader's id wins
    assert V.student_id() == "bob"
    monkeypatch.setenv(V.STUDENT_ENV, "   ")                            # blank: not set
    assert V.student_id("s1234") == "alice"
    assert (V.STUDENT_ENV, V.HUB_USER_ENV) == ("LSTM_COURSE_STUDENT", "JUPYTERHUB_USER")


def test_student_id_without_any_id_tells_the_student_what_to_type(monkeypatch):
    monkeypatch.delenv(V.STUDENT_ENV, raising=False)
    monkeypatch.setenv(V.HUB_USER_ENV, "")
    for typed in ("", "   "):
        with pytest.raises(ValueError, match="type the id your instructor gave you into STUDENT_ID"):
            V.student_id(typed)
    with pytest.raises(TypeError, match="STUDENT_ID must be a string"):
        V.student_id(1234)


# ---------------------------------------------------------------- the other assignments' tables

def test_variant_for_picks_the_row_of_each_assignments_table():
    assert set(V.ASSIGNMENT_VARIANTS) == {"lesson-exercises", "lstm-from-scratch", "lstm-keras"}
    assert V.ASSIGNMENT_VARIANTS["lstm-from-scratch"] is LSTM_VARIANTS
    for assignment, table in V.ASSIGNMENT_VARIANTS.items():
        assert len(set(table)) == len(table) and len({v.key for v in table}) == len(table)
        for s in IDS[:20]:
            assert V.variant_for("fall-2025", assignment, s) is \
                table[variant_index("fall-2025", assignment, s, len(table))]
    for s in IDS[:20]:
        assert V.variant_for("fall-2025", "lstm-from-scratch", s) == lstm_variant_for("fall-2025", s)
    with pytest.raises(ValueError, match=r"assignment must be one of \('lesson-exercises', "
                                         r"'lstm-from-scratch', 'lstm-keras'\); got 'lstm'"):
        V.variant_for("fall-2025", "lstm", "s1")
    with pytest.raises(ValueError, match="student_id must not be empty"):
        V.variant_for("fall-2025", "lstm-keras", "")


def test_each_quick_check_letter_is_the_right_one_in_two_exercise_variants():
    rights = collections.Counter(v.letter("C") for v in V.LESSON_EXERCISES_VARIANTS)
    assert rights == {"A": 2, "B": 2, "C": 2, "D": 2}
    for v in V.LESSON_EXERCISES_VARIANTS:
        assert v.option_order != "ABCD"
        for mine in "ABCD":
            assert v.letter(v.book_letter(mine)) == mine
        assert [text for _, text in v.options] == [V.QUICK_CHECK_OPTIONS["ABCD".index(b)]
                                                   for b in v.option_order]


def test_exercise_variant_markdown_lists_its_numbers_and_its_options_in_its_order():
    v = V.ExercisesVariant(0.85, 25, 200, 0.02, 0.98, 12, 1.5, "BDCA")
    text = v.markdown
    for shown in ("**200** steps", "$f = 0.85$", "**25** steps", "$0.85^{t+1}", "$f = 0.02$",
                  "$f = 0.98$", "**12** steps", "`max_norm` = 1.5", "(variant `f0.85-BDCA`)"):
        assert shown in text, shown
    lines = [line for line in text.splitlines() if line.startswith("- **")]
    assert lines == [f"- **{m}.** {V.QUICK_CHECK_OPTIONS['ABCD'.index(b)]}" for m, b in zip("ABCD", "BDCA")]
    assert (v.letter("C"), v.letter("B"), v.letter("D"), v.book_letter("D")) == ("C", "A", "B", "A")


@pytest.mark.parametrize("kwargs, message", [
    (dict(option_order="ABCC"), "option_order must order the letters A, B, C, D; got 'ABCC'"),
    (dict(fade_f=1.0), "fade_f must lie strictly between 0 and 1; got 1.0"),
    (dict(gate_low=0.6), "gate_low must be near 0 and gate_high near 1"),
    (dict(memory_steps=0), "memory_steps must be a positive integer; got 0"),
    (dict(max_norm=0.0), "max_norm must be positive; got 0.0"),
])
def test_exercise_variants_refuse_numbers_that_make_no_exercise(kwargs, message):
    good = dict(fade_f=0.9, fade_steps=20, keep_steps=100, gate_low=0.01, gate_high=0.99,
                memory_steps=10, max_norm=5.0, option_order="CADB")
    with pytest.raises(ValueError, match=re.escape(message)):
        V.ExercisesVariant(**dict(good, **kwargs))
    with pytest.raises(ValueError, match="book_letter must be one of"):
        V.ExercisesVariant(**good).letter("E")


def test_the_first_series_variant_is_the_assignments_series_before_variants():
    v = V.LSTM_KERAS_VARIANTS[0]
    assert (v.period, v.noise, v.time_steps, v.key) == (25, 0.1, 20, "p25-n0.1-T20")
    rng = np.random.default_rng(7)
    steps = np.arange(1200)
    before = (np.sin(2 * np.pi * steps / 25) + 0.1 * rng.standard_normal(1200)).astype("float32")
    series = v.series(1200, np.random.default_rng(7))
    assert series.dtype == np.float32
    np.testing.assert_array_equal(series, before)
    # the fresh stretch draws its phase first, then the noise
    rng = np.random.default_rng(99991)
    steps = np.arange(400) + int(rng.integers(0, 25))
    before = (np.sin(2 * np.pi * steps / 25) + 0.1 * rng.standard_normal(400)).astype("float32")
    np.testing.assert_array_equal(v.fresh_stretch(np.random.default_rng(99991)), before)


def test_series_variants_are_noisy_waves_of_their_period_and_refuse_bad_numbers():
    for v in V.LSTM_KERAS_VARIANTS:
        clean = V.SeriesVariant(v.period, 0.0, v.time_steps).series(3 * v.period, np.random.default_rng(0))
        np.testing.assert_allclose(clean[:v.period], clean[v.period:2 * v.period], atol=1e-6)
        noisy = v.series(20_000, np.random.default_rng(1))
        wave = np.sin(2 * np.pi * np.arange(20_000) / v.period)
        assert abs(np.std(noisy - wave) - v.noise) < 0.05 * v.noise
        assert 12 <= v.time_steps <= 20 and f"**`TIME_STEPS` = {v.time_steps}**" in v.markdown
    with pytest.raises(ValueError, match="noise must be non-negative; got -0.1"):
        V.SeriesVariant(25, -0.1, 20)
    with pytest.raises(ValueError, match="time_steps must be a positive integer; got 0"):
        V.SeriesVariant(25, 0.1, 0)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        V.LSTM_KERAS_VARIANTS[0].series(10, 7)
