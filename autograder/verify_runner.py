"""Run a student's functions on given inputs and save what they return (runs in the sandbox).

This script is the untrusted half of the outside check (:mod:`autograder.verify`). It runs as
the sandboxed student's user, in a fresh process that no test ever ran in:

1. reads ``plan.json`` from its working folder: the notebook's code cells to run (the locked
   set-up cells and the student's own cells; no test cell), and the cases: which student
   function to call, on which input files, with which reference module switched off;
2. runs the cells (a cell that fails is skipped, as it failed in the kernel);
3. for each case, loads its inputs (``np.load(allow_pickle=False)``), calls the student's
   function and saves every returned array as ``out/<case>/<k>.npy`` -- plain float or string
   arrays, never pickles -- or the error in ``out/<case>/error.txt``.

It decides nothing: the grading worker loads these files, outside the sandbox and in a process
that never ran student code, and compares them with ``lstm_core``'s values. A student who
tampers with this process can only change these files, which is no more than returning other
values from their functions.
"""

import json
import os
import sys
import traceback

import numpy as np


def _arrays(value, kind):
    if kind == "str":
        return [np.array(str(value))]
    if kind == "list":
        return [np.asarray(v, dtype=float) for v in value]
    if kind == "first2":                       # (h, c, cache): the arrays h and c
        if not isinstance(value, tuple) or len(value) != 3:
            raise TypeError("expected a tuple (h, c, cache)")
        return [np.asarray(v, dtype=float) for v in value[:2]]
    if kind == "tuple":
        if not isinstance(value, tuple):
            raise TypeError(f"expected a tuple, got {type(value).__name__}")
        return [np.asarray(v, dtype=float) for v in value]
    return [np.asarray(value, dtype=float)]


def _call(ns, case, args):
    """Call the student's function(s) of one case; return the arrays to save."""
    recipe = case["recipe"]
    fn = ns.get(case["function"])
    if recipe == "value":                       # a variable, not a function
        if case["function"] not in ns:
            raise NameError(f"{case['function']} is not defined")
        return _arrays(ns[case["function"]], case.get("kind", "str"))
    if not callable(fn):
        raise NameError(f"{case['function']} is not defined")
    ints = set(case.get("ints", []))
    args = [int(a) if k in ints else (float(a) if a.ndim == 0 else a) for k, a in enumerate(args)]
    if recipe == "call":
        return _arrays(fn(*args), case.get("kind", "array"))
    if recipe == "call_list":                   # first argument: a list of arrays
        n = case["list_len"]
        value = fn(list(args[:n]), *args[n:])
        return _arrays(value, case.get("kind", "array"))
    if recipe == "forward_backward":            # forward(*args[:k]) then backward(*extra, cache)
        k = case["forward_args"]
        fwd = fn(*args[:k])
        back = ns.get(case["backward"])
        if not callable(back):
            raise NameError(f"{case['backward']} is not defined")
        rest = list(args[k:])
        out = back(*rest[:case["backward_args"]], fwd[2], *rest[case["backward_args"]:])
        return _arrays(out, "tuple")
    if recipe == "keras_model":                 # build(time_steps, features[, units]), weights, run
        steps, features, units = args[:3]
        model = fn(None if steps < 0 else steps, features, *([units] if units >= 0 else []))
        model.set_weights([np.asarray(w, dtype="float32") for w in args[4:]])
        out = np.asarray(model(np.asarray(args[3], dtype="float32")), dtype=float)
        loss = getattr(model, "loss", None)
        return [out, np.array(type(getattr(model, "optimizer", None)).__name__),
                np.array(loss if isinstance(loss, str) else type(loss).__name__)]
    raise ValueError(f"unknown recipe {recipe}")


def main():
    plan = json.load(open("plan.json"))
    sys.stdout = sys.stderr = open(os.devnull, "w")
    ns = {"__name__": "__main__"}
    import signal

    class CellTimeout(BaseException):
        pass

    def alarm(signum, frame):
        raise CellTimeout()

    signal.signal(signal.SIGALRM, alarm)
    for source in plan["cells"]:
        try:
            signal.alarm(plan.get("cell_seconds", 30))
            exec(compile(source, "<cell>", "exec"), ns)
        except BaseException:              # noqa: BLE001 -- a failing cell failed in the kernel too
            pass
        finally:
            signal.alarm(0)
    import importlib

    from lstm_core.testing import reference_disabled

    for case in plan["cases"]:
        out = os.path.join("out", case["name"])
        os.makedirs(out, exist_ok=True)
        try:
            args = [np.load(os.path.join("in", case["name"], f"{k}.npy"), allow_pickle=False)
                    for k in range(case["n_inputs"])]
            modules = [importlib.import_module(m) for m in case.get("disable", [])]
            with reference_disabled(*modules):
                arrays = _call(ns, case, args)
            for k, a in enumerate(arrays):
                np.save(os.path.join(out, f"{k}.npy"), a, allow_pickle=False)
        except BaseException as exc:          # noqa: BLE001 -- recorded, judged outside
            with open(os.path.join(out, "error.txt"), "w") as fh:
                fh.write(f"{type(exc).__name__}: {str(exc)[:300]}")
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                traceback.print_exc()


if __name__ == "__main__":
    main()
