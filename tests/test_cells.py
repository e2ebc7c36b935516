"""The registry of recurrent cells: one lookup instead of branches, and every cell's gradients exact."""

import inspect

import numpy as np
import pytest

import lstm_core
from lstm_core import gradients, numerical_gradient, rel_error, trainer
from lstm_core.cells import CELL_NAMES, CELLS, RecurrentCell, get_cell
from lstm_core.gradients import gradient_norms_through_time, hidden_state_gradients

N, T, D, H, K = 2, 4, 3, 3, 2


def test_registry_lists_lstm_and_rnn_and_looks_up_in_any_case():
    assert CELL_NAMES == ("lstm", "rnn", "lstm_coupled", "lstm_peephole", "lstm_no_forget")
    assert trainer.param_names("lstm_peephole") == ("Wx", "Wh", "b", "P", "Wy", "by")
    assert trainer.param_names("RNN") == trainer.PARAM_NAMES
    assert CELL_NAMES == tuple(CELLS)
    assert get_cell("LSTM") is CELLS["lstm"] and get_cell("Rnn") is CELLS["rnn"]
    assert get_cell(CELLS["rnn"]) is CELLS["rnn"]
    assert CELLS["lstm"].n_states == 2 and CELLS["rnn"].n_states == 1
    assert lstm_core.get_cell is get_cell and lstm_core.CELL_NAMES == CELL_NAMES
    with pytest.raises(TypeError):
        CELLS["gru"] = CELLS["lstm"]                       # read-only


@pytest.mark.parametrize("bad", ["gru", "", None, 3])
def test_an_unknown_cell_is_refused_with_the_list_of_known_cells(bad):
    with pytest.raises(ValueError) as err:
        get_cell(bad)
    assert str(err.value) == f"cell must be one of {CELL_NAMES!r}; got {bad!r}"
    with pytest.raises(ValueError, match="cell must be one of"):
        trainer.init_model(bad, D, H, K, np.random.default_rng(0))
    with pytest.raises(ValueError, match="cell must be one of"):
        gradient_norms_through_time(bad, np.zeros((1, 4)), np.zeros((1, 4)), np.zeros(4),
                                    np.zeros((1, 2, 1)))


def test_trainer_and_gradients_do_not_branch_on_the_cell():
    for module in (trainer, gradients):
        source = inspect.getsource(module)
        for branch in ('== "lstm"', "== 'lstm'", '== "rnn"', "== 'rnn'", "lstm_forward(",
                       "rnn_forward("):
            assert branch not in source, (module.__name__, branch)


def test_the_cells_check_their_parameter_count_and_shapes():
    rng = np.random.default_rng(0)
    for name in ("lstm", "rnn"):
        cell = get_cell(name)
        params = cell.init(D, H, rng, np.float64)
        assert cell.check(params, D) == H
        with pytest.raises(ValueError, match=f"cell '{name}' takes 3 parameters; got 2"):
            cell.check(params[:2])
    with pytest.raises(ValueError, match=r"Wx must have shape \(D, 4H\) = \(2, 12\); got \(3, 12\)"):
        get_cell("lstm").check(get_cell("lstm").init(D, H, rng, np.float64), 2)


def _problem(name, seed=0):
    rng = np.random.default_rng(seed)
    params = trainer.init_model(name, D, H, K, rng)
    for k in trainer.param_names(name):                     # move every parameter off its init
        params[k] = params[k] + 0.3 * rng.standard_normal(params[k].shape)
    return params, rng.standard_normal((N, T, D)), rng.standard_normal((N, K))


@pytest.mark.parametrize("name", CELL_NAMES)
def test_every_cell_trains_with_exact_gradients(name):
    params, X, y = _problem(name)
    names = trainer.param_names(name)
    assert names[-2:] == ("Wy", "by") and set(names) == set(params) - {"cell"}
    loss, grads = trainer.loss_and_grads(params, X, y)
    assert set(grads) == set(names)
    for k in names:
        def f(w, k=k):
            return trainer.loss_and_grads(dict(params, **{k: w}), X, y)[0]
        assert grads[k].shape == params[k].shape
        assert rel_error(grads[k], numerical_gradient(f, params[k])) <= 1e-6, k
    trained, history = trainer.fit(params, X, y, np.random.default_rng(1), epochs=3, batch_size=1)
    assert set(trained) == set(params) and history["loss"][-1] < history["loss"][0]


@pytest.mark.parametrize("name", CELL_NAMES)
def test_every_cell_gives_exact_hidden_state_gradients(name):
    params, X, _ = _problem(name, seed=1)
    cell = get_cell(name)
    rec = tuple(params[k] for k in cell.param_names)
    h, cache = cell.forward(X, rec)
    assert h.shape == (N, T, H) and cache.dtype == np.float64
    dh_last = np.random.default_rng(2).standard_normal((N, H))
    dhs = hidden_state_gradients(name, cache, dh_last)
    np.testing.assert_array_equal(dhs[:, -1], dh_last)
    # dhs[:, t] is dL/dh_t along the h path: perturb h_t inside step t + 1 only
    def loss_from(t, ht):
        return np.sum(_run_from(cell, rec, X, cache, t, ht)[:, -1] * dh_last)
    for t in range(T - 1):
        num = numerical_gradient(lambda v, t=t: loss_from(t, v), h[:, t])
        assert rel_error(dhs[:, t], num) <= 1e-6, t
    dx = cell.backward(np.concatenate([np.zeros((N, T - 1, H)), dh_last[:, None]], 1), cache)[0]
    num = numerical_gradient(lambda v: np.sum(cell.forward(v, rec)[0][:, -1] * dh_last), X)
    assert rel_error(dx, num) <= 1e-6


def _run_from(cell, rec, X, cache, t, ht):
    """Hidden states of steps t+1..T-1 when h_t is replaced by ``ht`` (c_t kept as computed)."""
    if cell.n_states == 1:
        from lstm_core import rnn_forward
        return rnn_forward(X[:, t + 1:], *rec, h0=ht)[0]
    c_t = _cell_states(cell, cache)[:, t]
    return _forward_from(cell, rec, X[:, t + 1:], ht, c_t)


def _cell_states(cell, cache):
    if cell.name == "lstm":
        return cache.cs[1:].swapaxes(0, 1)
    return np.stack([s.c for s in cache.steps], axis=1)


def _forward_from(cell, rec, x, h0, c0):
    if cell.name == "lstm":
        return lstm_core.lstm_forward(x, *rec, h0=h0, c0=c0)[0]
    from lstm_core.variants import LSTMVariant, variant_forward
    variant = LSTMVariant(cell.name.removeprefix("lstm_"), "keras")
    return variant_forward(variant, x, *rec, h0=h0, c0=c0)[0]


def test_a_cell_is_a_frozen_value():
    cell = get_cell("lstm")
    assert isinstance(cell, RecurrentCell)
    with pytest.raises(AttributeError):
        cell.name = "gru"
