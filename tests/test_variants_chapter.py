"""The chapter on LSTM variants: its comparison helper (lstm_core.comparison) and its sources.

The chapter's numbers come from ``compare_cells``; these tests hold it to the trainer it loops
over, check the summaries it gives, and check that ``gate_bias`` reaches the gate it names (by
what the model then computes, not by index arithmetic alone). The chapter itself is executed by
the book's build; here only its source is read: every glued name it shows is glued by a cell,
every citation is in references.bib, and the code that makes the numbers is hidden only where it
is glue.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

import lstm_core
from lstm_core import trainer
from lstm_core.comparison import VARIANT_OF_CELL, CellRuns, compare_cells, gate_bias
from lstm_core.variants import LSTMVariant

REPO = Path(__file__).resolve().parents[1]
CHAPTER = REPO / "chapters" / "12_lstm_variants.ipynb"
CELLS = tuple(VARIANT_OF_CELL)


def _data(seed=0, n=12, T=6):
    rng = np.random.default_rng(seed)
    X, y = lstm_core.adding_problem(n, T, rng, dtype=np.float64)
    X_val, y_val = lstm_core.adding_problem(8, T, rng, dtype=np.float64)
    return X, y, X_val, y_val


FIT = dict(epochs=3, batch_size=5, lr=0.02, clip_norm=1.0)


@pytest.mark.parametrize("cell", CELLS)
def test_compare_cells_is_init_model_then_fit_for_every_seed(cell):
    X, y, X_val, y_val = _data()
    runs = compare_cells([cell], X, y, X_val, y_val, seeds=(3, 5), H=4, **FIT)
    assert list(runs) == [cell]
    r = runs[cell]
    assert r.cell == cell and r.seeds == (3, 5) and r.val_loss.shape == (2, FIT["epochs"])
    for k, seed in enumerate((3, 5)):
        params = trainer.init_model(cell, 2, 4, 1, np.random.default_rng(seed))
        _, history = trainer.fit(params, X, y, np.random.default_rng(seed),
                                 X_val=X_val, y_val=y_val, **FIT)
        np.testing.assert_array_equal(r.val_loss[k], history["val_loss"])
    names = lstm_core.get_cell(cell).param_names
    assert r.n_params == sum(params[n].size for n in names)
    assert not np.array_equal(r.val_loss[0], r.val_loss[1])   # the seeds do differ


def test_parameter_counts_follow_the_gate_blocks():
    X, y, X_val, y_val = _data()
    runs = compare_cells(CELLS, X, y, X_val, y_val, seeds=(0,), H=4, epochs=1)
    D, H = 2, 4
    block = H * (D + H) + H
    assert {c: r.n_params for c, r in runs.items()} == {
        "lstm": 4 * block, "lstm_coupled": 3 * block,
        "lstm_peephole": 4 * block + 3 * H, "lstm_no_forget": 3 * block}


def test_prepare_changes_every_model_before_it_trains():
    X, y, X_val, y_val = _data()
    seen = []

    def close_input(params):
        seen.append(params["cell"])
        gate_bias(params, "i")[:] = -2.0

    prepared = compare_cells(["lstm_no_forget"], X, y, X_val, y_val, (0, 1), 4,
                             prepare=close_input, **FIT)["lstm_no_forget"]
    plain = compare_cells(["lstm_no_forget"], X, y, X_val, y_val, (0, 1), 4,
                          **FIT)["lstm_no_forget"]
    assert seen == ["lstm_no_forget"] * 2
    params = trainer.init_model("lstm_no_forget", 2, 4, 1, np.random.default_rng(1))
    params["b"][:4] = -2.0                                   # block i comes first: i, g, o
    _, history = trainer.fit(params, X, y, np.random.default_rng(1),
                             X_val=X_val, y_val=y_val, **FIT)
    np.testing.assert_array_equal(prepared.val_loss[1], history["val_loss"])
    assert not np.array_equal(prepared.val_loss, plain.val_loss)


def test_summary_and_first_epoch_below():
    r = CellRuns("lstm", (0, 1, 2), 10,
                 np.array([[3.0, 2.0, 1.0], [5.0, 0.5, 4.0], [2.0, 2.0, 2.0]]))
    np.testing.assert_array_equal(r.final, [1.0, 4.0, 2.0])
    assert r.summary() == (2.0, 1.0, 4.0)
    # epochs from 1; the second run dips below and comes back, the third never gets there
    np.testing.assert_array_equal(r.first_epoch_below(1.5), [3, 2, 0])
    np.testing.assert_array_equal(r.first_epoch_below(10.0), [1, 1, 1])


def test_cell_runs_needs_one_curve_per_seed():
    with pytest.raises(ValueError, match=r"val_loss.*\(S, E\).*\(3, 4\)|val_loss.*\(2, 4\)"):
        CellRuns("lstm", (0, 1), 10, np.zeros((3, 4)))


@pytest.mark.parametrize("bad, message", [
    (dict(cells=[]), "at least one cell"),
    (dict(seeds=()), "at least one cell and one seed"),
    (dict(cells=["gru"]), "cell must be one of"),
])
def test_compare_cells_refuses_bad_arguments(bad, message):
    X, y, X_val, y_val = _data()
    args = dict(cells=["lstm"], seeds=(0,))
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        compare_cells(args["cells"], X, y, X_val, y_val, args["seeds"], 3, epochs=1)


@pytest.mark.parametrize("cell", CELLS)
def test_gate_bias_is_the_block_the_layout_gives(cell):
    H = 5
    params = trainer.init_model(cell, 2, H, 1, np.random.default_rng(0))
    order = LSTMVariant(VARIANT_OF_CELL[cell], "keras").gate_order
    assert params["b"].size == len(order) * H
    for j, gate in enumerate(order):
        view = gate_bias(params, gate)
        assert view.shape == (H,) and np.shares_memory(view, params["b"])
        view[:] = 100 + j
    np.testing.assert_array_equal(params["b"], np.repeat(100 + np.arange(len(order)), H))
    if cell == "lstm":                                        # the engine's own split agrees
        b = params["b"]
        for gate, block in zip("ifgo", lstm_core.split_gates(b)):
            assert np.shares_memory(block, gate_bias(params, gate))
            np.testing.assert_array_equal(block, gate_bias(params, gate))


# Closing the gate that writes (or the output gate) makes h_T = 0, so the model predicts its
# read-out bias for every input: a check of *which* gate gate_bias reached.
SHUT = [("lstm", "i", -60.0), ("lstm", "o", -60.0), ("lstm_coupled", "f", 60.0),
        ("lstm_coupled", "o", -60.0), ("lstm_peephole", "i", -60.0),
        ("lstm_no_forget", "i", -60.0), ("lstm_no_forget", "o", -60.0)]


@pytest.mark.parametrize("cell, gate, value", SHUT)
def test_gate_bias_reaches_the_gate_it_names(cell, gate, value):
    X, _, _, _ = _data()
    params = trainer.init_model(cell, 2, 4, 1, np.random.default_rng(1))
    params["by"][:] = 0.25
    before = trainer.predict(params, X)
    assert np.abs(before - 0.25).max() > 1e-3                # the input matters at the start
    gate_bias(params, gate)[:] = value
    np.testing.assert_allclose(trainer.predict(params, X), 0.25, rtol=0, atol=1e-12)


def test_closing_the_wrong_block_does_not_silence_the_cell():
    X, _, _, _ = _data()
    params = trainer.init_model("lstm_coupled", 2, 4, 1, np.random.default_rng(1))
    gate_bias(params, "f")[:] = -60.0                        # f = 0: i = 1, the cell writes
    assert np.abs(trainer.predict(params, X) - params["by"]).max() > 1e-3


@pytest.mark.parametrize("cell, gate", [("lstm_coupled", "i"), ("lstm_no_forget", "f"),
                                        ("lstm", "z")])
def test_gate_bias_refuses_a_gate_the_cell_lacks(cell, gate):
    params = trainer.init_model(cell, 2, 3, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match=f"the cell '{cell}' has the gates .*got '{gate}'"):
        gate_bias(params, gate)


def test_gate_bias_refuses_a_cell_outside_the_lstm_family():
    params = trainer.init_model("rnn", 2, 3, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"params\['cell'\] must be one of .*got 'rnn'"):
        gate_bias(params, "i")


def test_variant_of_cell_names_every_lstm_cell_of_the_registry():
    assert set(VARIANT_OF_CELL) == {c for c in lstm_core.CELL_NAMES if c.startswith("lstm")}
    for cell, variant in VARIANT_OF_CELL.items():
        assert lstm_core.get_cell(cell).param_names == LSTMVariant(variant, "keras").param_names


# ---------------------------------------------------------------- the chapter's source

def _chapter():
    return nbformat.read(CHAPTER, as_version=4)


def test_every_glued_name_the_chapter_shows_is_glued_by_a_cell():
    nb = _chapter()
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    shown = set(re.findall(r"\{glue:text\}`([A-Za-z0-9_]+)", markdown))
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    glued = set(re.findall(r'glue\(f?"([A-Za-z0-9_{}]+)"', code))
    literal = {g for g in glued if "{" not in g}
    patterns = [re.compile("^" + re.sub(r"\{[^}]+\}", "[a-z_]+", g) + "$") for g in glued - literal]
    missing = {s for s in shown if s not in literal and not any(p.match(s) for p in patterns)}
    assert shown and not missing, f"shown but never glued: {sorted(missing)}"


def test_every_citation_is_in_the_bibliography():
    nb = _chapter()
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    keys = set(re.findall(r"\{cite(?::t|:p)?\}`([^`]+)`", text))
    keys = {k.strip() for group in keys for k in group.split(",")}
    bib = set(re.findall(r"^@\w+\{([^,]+),", (REPO / "references.bib").read_text(), re.M))
    assert {"greff2017lstm", "gers2000recurrent"} <= keys
    assert keys <= bib, f"cited but not in references.bib: {sorted(keys - bib)}"


def test_glue_cells_are_removed_and_the_experiment_is_shown():
    nb = _chapter()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tags = set(cell.metadata.get("tags", []))
        if "glue(" in cell.source and "compare_cells(" not in cell.source:
            assert "remove-cell" in tags, f"cell {index} glues numbers but is shown"
        if "compare_cells(" in cell.source:
            assert not tags & {"remove-cell", "remove-input"}, f"cell {index} hides the experiment"


def test_the_chapter_is_in_the_table_of_contents_after_the_gru():
    toc = (REPO / "_toc.yml").read_text()
    files = re.findall(r"file:\s*(\S+)", toc)
    assert files.index("chapters/12_lstm_variants") == files.index("chapters/11_gru") + 1
