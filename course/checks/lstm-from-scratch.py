"""The outside check of the ``lstm-from-scratch`` assignment's tests (see :mod:`autograder.verify`).

Loaded by the grader from the course folder, never released to students: it holds the inputs
(their seed) that the student's functions are called on outside the kernel, and the values
expected of them, computed with ``lstm_core``.
"""

import numpy as np

import lstm_core

from autograder.verify import OutsideCheck


def cases(rng):
    """The calls to check, each naming the tests it confirms."""
    N, T, D, H = 3, 6, 4, 5
    x1, h1, c1 = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    W1 = [0.7 * rng.normal(size=(D, 4 * H)), 0.7 * rng.normal(size=(H, 4 * H)), rng.normal(size=4 * H)]
    h_ref, c_ref, cache1 = lstm_core.lstm_step_forward(x1, h1, c1, *W1)
    dh1, dc1 = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    step_back = lstm_core.lstm_step_backward(dh1, dc1, cache1)
    x, h0, c0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    W = [0.7 * rng.normal(size=(D, 4 * H)), 0.7 * rng.normal(size=(H, 4 * H)), rng.normal(size=4 * H)]
    hs, cs, cache = lstm_core.lstm_forward(x, *W, h0=h0, c0=c0)
    dh, dcl = rng.normal(size=(N, T, H)), rng.normal(size=(N, H))
    back = lstm_core.lstm_backward(dh, cache, dc_last=dcl)
    off = ["lstm_core.lstm"]
    return [
        dict(name="lstm_step_forward", tests=["test-lstm-step-forward"], recipe="call",
             function="lstm_step_forward", kind="first2", inputs=[x1, h1, c1, *W1],
             expected=[h_ref, c_ref], disable=off),
        dict(name="lstm_forward", tests=["test-lstm-forward"], recipe="call",
             function="lstm_forward", kind="first2", inputs=[x, *W, h0, c0],
             expected=[hs, cs], disable=off),
        dict(name="lstm_step_backward", tests=["test-lstm-step-backward"],
             recipe="forward_backward", function="lstm_step_forward", forward_args=6,
             backward="lstm_step_backward", backward_args=2, inputs=[x1, h1, c1, *W1, dh1, dc1],
             expected=list(step_back), disable=off),
        dict(name="lstm_backward", tests=["test-lstm-backward"], recipe="forward_backward",
             function="lstm_forward", forward_args=6, backward="lstm_backward", backward_args=1,
             inputs=[x, *W, h0, c0, dh, dcl], expected=list(back), disable=off),
    ]


CHECK = OutsideCheck(cases=cases, seed=20260611)
