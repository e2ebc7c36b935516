"""The outside check of the ``lstm-keras`` assignment's tests (see :mod:`autograder.verify`).

Loaded by the grader from the course folder, never released to students: it holds the inputs
(their seed) that the student's functions are called on outside the kernel, and the values
expected of them, computed with ``lstm_core``.

Each student forecasts their own series with their own window (an
:class:`lstm_core.variants.SeriesVariant`: period, noise, ``TIME_STEPS``): the check computes it
from the student's id and the term key exactly as the notebook's locked ``variant`` cell does,
with :func:`lstm_core.variants.variant_for` (the table is defined once, in ``lstm_core.variants``),
and judges the trained model on a fresh stretch of that series, in windows of that length.
"""

import numpy as np

import lstm_core
import lstm_core.tasks
import lstm_core.trainer
import lstm_core.variants

from autograder.verify import KernelExport, OutsideCheck, read_exported

ASSIGNMENT = "lstm-keras"
#: The training budget (``TRAIN_BUDGET_SECONDS`` in the notebook's locked data cell, the same for
#: every variant), and the slack the grader's clock allows around the cell.
TRAIN_BUDGET_SECONDS, TRAIN_CLOCK_SLACK = 20, 1.0

#: Saves the trained ``model``'s weights as ``.npy`` files, run in the kernel after ``train``.
EXPORT_TRAINED_MODEL = """
def _autograder_export(folder):
    import os
    import numpy
    os.makedirs(folder)
    for k, w in enumerate(model.get_weights()):
        numpy.save(os.path.join(folder, f"{k}.npy"), numpy.asarray(w, dtype="float32"),
                   allow_pickle=False)
_autograder_export(__EXPORT_FOLDER__)
del _autograder_export
"""


def cases(rng, student_id, term_key):
    """The calls to check for one student, each naming the tests it confirms.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of the inputs (seeded with ``CHECK.seed``).
    student_id : str
        The id the submission came from.
    term_key : str
        The course's key for the term (``c.TermKey.term_key``).
    """
    import lstm_core.trainer

    variant = lstm_core.variants.variant_for(term_key, ASSIGNMENT, student_id)
    s2, s1 = rng.normal(size=(37, 3)), rng.normal(size=29)
    own = variant.fresh_stretch(rng, size=3 * variant.time_steps)       # the student's series
    out = []
    for k, (series, T) in enumerate([(s2, 6), (s1, 28), (own, variant.time_steps)]):
        X, y = lstm_core.tasks.make_windows(series, T)
        out.append(dict(name=f"to_windows_{k}", tests=["test-to-windows"], recipe="call",
                        function="to_windows", kind="tuple", inputs=[series, np.array(T)],
                        ints=[1], expected=[X, y], disable=["lstm_core.tasks"]))
    for k, (N, T, D, H, rs, st) in enumerate([(4, 9, 2, 3, True, True), (2, 3, 5, 7, False, True),
                                              (5, 2, 1, 4, True, False), (3, 4, 2, 6, False, False)]):
        shapes = [(N, T, H) if rs else (N, H)] + ([(N, H), (N, H)] if st else [])
        out.append(dict(name=f"lstm_output_shapes_{k}", tests=["test-output-shapes"],
                        recipe="call", function="lstm_output_shapes", kind="list",
                        inputs=[np.array(v) for v in (N, T, D, H, int(rs), int(st))],
                        ints=[0, 1, 2, 3, 4, 5], expected=[np.array(s) for s in shapes]))
    for k, (T, F, units, N, steps) in enumerate([(None, 10, None, 2, 13), (7, 3, 5, 4, 7)]):
        H = units or 64
        weights = [0.3 * rng.normal(size=shape) for shape in
                   [(F, 4 * H), (H, 4 * H), (4 * H,), (H, 1), (1,)]]
        x = rng.normal(size=(N, steps, F))
        params = dict(zip(lstm_core.trainer.PARAM_NAMES, weights), cell="lstm")
        out.append(dict(name=f"build_model_{k}", tests=["test-build-model"], recipe="keras_model",
                        function="build_model", kind="keras_model",
                        inputs=[np.array(-1 if T is None else T), np.array(F),
                                np.array(-1 if units is None else units), x, *weights],
                        ints=[0, 1, 2], rtol=1e-4, atol=1e-5,
                        expected=[lstm_core.trainer.predict(params, x), {"adam"},
                                  {"mse", "mean_squared_error", "meansquarederror"}]))
    return out


def judge_trained_model(export_dir, seconds, rng, student_id, term_key):
    """Why lstm-keras's trained model fails, or None if it passes.

    It passes if it trained within the budget and, with its exported weights computed by
    ``lstm_core``, beats half the persistence baseline on a fresh stretch of the student's own
    series, cut in windows of the student's own ``TIME_STEPS``.

    Parameters
    ----------
    export_dir : path-like or None
        The folder the kernel saved ``model.get_weights()`` into (None: nothing saved).
    seconds : float or None
        The training cell's seconds by the grader's clock (None: it did not run).
    rng : numpy.random.Generator
        The source of the fresh stretch.
    student_id : str
        The id the submission came from.
    term_key : str
        The course's key for the term.

    Returns
    -------
    why : str or None
    """
    import lstm_core.trainer

    variant = lstm_core.variants.variant_for(term_key, ASSIGNMENT, student_id)

    if seconds is None:
        return "the training cell did not run"
    if seconds > TRAIN_BUDGET_SECONDS + TRAIN_CLOCK_SLACK:
        return (f"the training cell took {seconds:.1f} s by the grader's clock, more than the "
                f"{TRAIN_BUDGET_SECONDS} s allowed")
    if export_dir is None:
        return "no trained `model` whose weights could be read after the training cell"
    try:
        weights = read_exported(export_dir)
    except (OSError, ValueError) as exc:
        return f"the trained model's weights could not be read ({str(exc)[:120]})"
    if len(weights) != 5 or any(w.dtype.kind != "f" for w in weights):
        return (f"model.get_weights() gave {len(weights)} array(s); the assignment's model "
                "(an LSTM, then Dense(1)) has 5 float arrays")
    params = dict(zip(lstm_core.trainer.PARAM_NAMES, (w.astype(float) for w in weights)),
                  cell="lstm")
    X, y = lstm_core.tasks.make_windows(variant.fresh_stretch(rng), variant.time_steps)
    try:
        pred = lstm_core.trainer.predict(params, X)
    except ValueError as exc:
        return f"the weights are not those of an LSTM then Dense(1) on one feature: {exc}"
    mse = float(np.mean((pred - y) ** 2))
    persistence = float(np.mean((X[:, -1, :] - y) ** 2))
    if not np.isfinite(mse) or mse > 0.5 * persistence:
        return (f"an LSTM and Dense(1) with the model's weights, computed by lstm_core, have MSE "
                f"{mse:.4f} on a fresh stretch of the student's series ({variant.key}), more than "
                f"half the persistence baseline's {persistence:.4f}")
    return None


CHECK = OutsideCheck(
    cases=cases, seed=20260611,
    # the training is not needed to call the functions
    skip_cells=frozenset({"train", "train-setup", "train-time"}), skip_if_contains=("model.fit",),
    export=KernelExport(after="train", code=EXPORT_TRAINED_MODEL, tests=("test-beats-baseline",),
                        judge=judge_trained_model))
