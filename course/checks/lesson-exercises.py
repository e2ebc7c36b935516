"""The outside check of the ``lesson-exercises`` assignment's tests (see :mod:`autograder.verify`).

Loaded by the grader from the course folder, never released to students: it holds the inputs
(their seed) that the student's functions are called on outside the kernel, and the values
expected of them, computed with ``lstm_core``.

Each student has their own numbers and order of the quick-check options (an
:class:`lstm_core.variants.ExercisesVariant`): the check computes them from the student's id and
the term key exactly as the notebook's locked ``variant`` cell does, with
:func:`lstm_core.variants.variant_for` (the table is defined once, in ``lstm_core.variants``).
The right answer of the quick check is the book's C, at the student's own letter.
"""

import numpy as np

import lstm_core
import lstm_core.variants

from autograder.verify import OutsideCheck


ASSIGNMENT = "lesson-exercises"
#: The right option of the quick check, by the book's letter.
QUICK_CHECK_RIGHT = "C"


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
    variant = lstm_core.variants.variant_for(term_key, ASSIGNMENT, student_id)
    N, H, D = 4, 6, 3
    c_prev, f, i, g = (rng.normal(size=(N, H)), rng.uniform(size=(N, H)),
                       rng.uniform(size=(N, H)), np.tanh(rng.normal(size=(N, H))))
    c0 = rng.normal(size=(2, H))
    fc, ic, gc = rng.uniform(0.5, 1, size=H), rng.uniform(size=H), np.tanh(rng.normal(size=H))
    states, c = [], c0
    for _ in range(13):
        c = fc * c + ic * gc
        states.append(c)
    x, h = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    Wx, Wh, b = lstm_core.init_lstm_params(D, H, rng, dtype=np.float64)
    gate = lstm_core.lstm_step_forward(x, h, np.zeros((N, H)), Wx, Wh, b)[2].gates[:, H:2 * H]
    fs = rng.uniform(size=7)
    grads = [30 * rng.normal(size=(3, 4)), 30 * rng.normal(size=5), 30 * rng.normal(size=(2, 2))]
    norm = float(np.sqrt(sum(np.sum(q ** 2) for q in grads)))
    return [
        dict(name="cell_state_update", tests=["test-cell-state-update"], recipe="call",
             function="cell_state_update", inputs=[c_prev, f, i, g], expected=[f * c_prev + i * g]),
        dict(name="carry", tests=["test-carry"], recipe="call", function="carry",
             inputs=[c0, fc, ic, gc, np.array(13)], ints=[4], expected=[np.array(states)]),
        dict(name="forget_gate", tests=["test-forget-gate-range", "test-forget-gate-monotonic"],
             recipe="call", function="forget_gate", inputs=[x, h, Wx, Wh, b], expected=[gate]),
        dict(name="memory_after", tests=["test-memory-after"], recipe="call",
             function="memory_after", inputs=[fs, np.array(variant.memory_steps)], ints=[1],
             expected=[fs ** variant.memory_steps]),
        dict(name="quick_check_answer", tests=["test-quick-check-choice"], recipe="value",
             function="quick_check_answer", kind="str", inputs=[],
             expected_text=variant.letter(QUICK_CHECK_RIGHT)),
        dict(name="global_norm", tests=["test-clip-by-global-norm"], recipe="call_list",
             function="global_norm", list_len=3, inputs=grads, expected=[np.array(norm)]),
        dict(name="clip_by_global_norm", tests=["test-clip-by-global-norm"], recipe="call_list",
             function="clip_by_global_norm", list_len=3, kind="list",
             inputs=grads + [np.array(variant.max_norm)],
             expected=[q * (variant.max_norm / norm) for q in grads]),
    ]


CHECK = OutsideCheck(cases=cases, seed=20260611)
