"""The outside check of the ``lstm-from-scratch`` assignment's tests (see :mod:`autograder.verify`).

Loaded by the grader from the course folder, never released to students: it holds the inputs
(their seed) that the student's functions are called on outside the kernel, and the values
expected of them, computed with ``lstm_core``.

Each student writes the functions for their own variant (a cell and a gate layout,
:class:`lstm_core.variants.LSTMVariant`): the check computes that variant from the student's id
and the term key exactly as the notebook's locked ``variant`` cell does, with
:func:`lstm_core.variants.variant_for` (the table is defined once, in ``lstm_core.variants``),
and the expected values with that variant's reference. A peephole variant's functions take
the peephole weights ``P`` after ``b`` and return ``dP`` last.
"""

import numpy as np

import lstm_core.variants

from autograder.verify import OutsideCheck

ASSIGNMENT = "lstm-from-scratch"


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
    N, T, D, H = 3, 6, 4, 5
    shapes = list(variant.shapes(D, H).values())
    x1, h1, c1 = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    W1 = [0.7 * rng.normal(size=s) for s in shapes]
    h_ref, c_ref, cache1 = variant.step_forward(x1, h1, c1, *W1)
    dh1, dc1 = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    step_back = variant.step_backward(dh1, dc1, cache1)
    x, h0, c0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    W = [0.7 * rng.normal(size=s) for s in shapes]
    hs, cs, cache = variant.forward(x, *W, h0=h0, c0=c0)
    dh, dcl = rng.normal(size=(N, T, H)), rng.normal(size=(N, H))
    back = variant.backward(dh, cache, dc_last=dcl)
    off = ["lstm_core.lstm", "lstm_core.variants"]
    k = len(shapes)                                  # 3 parameters, or 4 with P
    return [
        dict(name="lstm_step_forward", tests=["test-lstm-step-forward"], recipe="call",
             function="lstm_step_forward", kind="first2", inputs=[x1, h1, c1, *W1],
             expected=[h_ref, c_ref], disable=off),
        dict(name="lstm_forward", tests=["test-lstm-forward"], recipe="call",
             function="lstm_forward", kind="first2", inputs=[x, *W, h0, c0],
             expected=[hs, cs], disable=off),
        dict(name="lstm_step_backward", tests=["test-lstm-step-backward"],
             recipe="forward_backward", function="lstm_step_forward", forward_args=3 + k,
             backward="lstm_step_backward", backward_args=2, inputs=[x1, h1, c1, *W1, dh1, dc1],
             expected=list(step_back), disable=off),
        dict(name="lstm_backward", tests=["test-lstm-backward"], recipe="forward_backward",
             function="lstm_forward", forward_args=3 + k, backward="lstm_backward", backward_args=1,
             inputs=[x, *W, h0, c0, dh, dcl], expected=list(back), disable=off),
    ]


CHECK = OutsideCheck(cases=cases, seed=20260611)
