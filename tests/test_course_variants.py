"""Every student's own variant of the demo course's three assignments, checked without the grader.

The source notebooks (solutions and hidden tests in) are executed with nbclient, as a grading
kernel would run them: ``LSTM_COURSE_STUDENT`` set to an id of the variant (found by scanning
``s000``, ``s001``, ... with :func:`lstm_core.variants.variant_index`). For every assignment and
every variant the instructor's solution passes every test cell, visible and hidden, and the blank
notebook (solution regions replaced by nbgrader's stub) fails every one. A full-marks notebook
written for one variant and run under an id of another fails exactly the tests that depend on the
variant. The course's outside checks (``course/checks``) compute the same variant as the notebook.

lstm-keras trains a model in every run (16 to 23 s a variant, measured on 2 shared cores, kernel
start and TensorFlow import included): its six solutions run (marked slow), its blank runs for the
two extreme variants only (the shortest window, and the longest with the longest period), since a
blank notebook fails on its missing functions whatever the series.
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder_helpers import (  # noqa: E402
    ASSIGNMENTS, BEGIN_SOLUTION, COURSE, END_SOLUTION, REPO, grade_id, read_nb, solution_sources,
)

sys.path.insert(0, str(REPO))
import lstm_core.variants as V  # noqa: E402
from autograder.verify import load_check, verify_notebook  # noqa: E402

TERM_KEY = "lstm-demo-2026"          # the demo course's key, as its notebooks' variant cells hold it
CHAPTER = REPO / "chapters" / "10_exercises.ipynb"
#: The tests whose expected values depend on the student's variant. In lstm-from-scratch every
#: test does; in lesson-exercises only the quick check's letter (the numbers change the inputs of
#: tests that any right function passes); lstm-keras's series changes what the model must learn.
VARIANT_DEPENDENT = {
    "lstm-from-scratch": {"test-lstm-step-forward", "test-lstm-forward", "test-lstm-step-backward",
                          "test-lstm-backward"},
    "lesson-exercises": {"test-quick-check-choice"},
}
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def ids_of_every_variant(assignment, key=TERM_KEY):
    """One student id per variant of an assignment, in the order of its table."""
    n = len(V.ASSIGNMENT_VARIANTS[assignment])
    found, k = {}, 0
    while len(found) < n:
        sid = f"s{k:03d}"
        found.setdefault(V.variant_index(key, assignment, sid, n), sid)
        k += 1
    return [found[i] for i in range(n)]


IDS = {a: ids_of_every_variant(a) for a in ASSIGNMENTS}


def source_nb(assignment):
    return read_nb(COURSE / "source" / assignment / f"{assignment}.ipynb")


def cell(nb, gid):
    found = [c for c in nb.cells if grade_id(c) == gid or gid in c.metadata.get("tags", [])]
    assert len(found) == 1, f"one cell {gid}; found {len(found)}"
    return found[0]


def graded_ids(nb):
    return [grade_id(c) for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]


def blank(nb):
    """The notebook as released, as far as solutions go: every solution region replaced by the stub."""
    for c in nb.cells:
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"):
            c.source = re.sub(rf"(?ms)^[ \t]*{BEGIN_SOLUTION}$.*?^[ \t]*{END_SOLUTION}$", STUB, c.source)
            assert "raise NotImplementedError()" in c.source
    return nb


def execute(nb, student, cwd, timeout=120):
    """Run ``nb`` in a fresh kernel whose LSTM_COURSE_STUDENT is ``student``.

    Returns
    -------
    results : dict
        grade_id (or tag) of every code cell -> ``"ok"``, ``"<Error>: <message>"`` or
        ``"stderr: <text>"`` (a cell that writes to stderr scores zero in nbgrader).
    seconds : float
        The wall-clock time of the run, kernel start included.
    """
    from nbclient import NotebookClient

    env = {k: v for k, v in os.environ.items() if k not in (V.HUB_USER_ENV, V.STUDENT_ENV)}
    env.update({V.STUDENT_ENV: student, "TF_CPP_MIN_LOG_LEVEL": "3", "OPENBLAS_NUM_THREADS": "1"})
    started = time.perf_counter()
    NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute(env=env)
    seconds = time.perf_counter() - started
    results = {}
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        gid = grade_id(c) or (c.metadata.get("tags") or [None])[0]
        errors = [o for o in c.outputs if o.output_type == "error"]
        stderr = [o.text for o in c.outputs if o.output_type == "stream" and o.name == "stderr"]
        results[gid] = (f"{errors[0].ename}: {errors[0].evalue}" if errors
                        else f"stderr: {stderr[0][:200]}" if stderr else "ok")
    return results, seconds


def shown_markdown(nb):
    """The Markdown the variant cell displayed."""
    outs = [o for o in cell(nb, "variant").outputs if o.output_type == "display_data"]
    return outs[0].data["text/markdown"] if outs else None


def specialised(nb, assignment, variant):
    """The full-marks notebook of a student of ``variant``: the solution with the variant written in
    (the generic solution reads VARIANT; a student's own code has their variant built in)."""
    for c in nb.cells:
        if not (c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")):
            continue
        if assignment == "lstm-from-scratch":
            c.source = c.source.replace("VARIANT.", f"lstm_core.variants.LSTMVariant.from_key({variant.key!r}).")
        elif grade_id(c) == "quick-check-choice":
            c.source = re.sub(r'VARIANT\.letter\("C"\)', repr(variant.letter("C")), c.source)
    return nb


# ------------------------------------------------------------------------------ the notebooks' cells
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_notebook_has_an_id_cell_then_its_locked_variant_cell(assignment):
    nb = source_nb(assignment)
    gids = [grade_id(c) or (c.metadata.get("tags") or [None])[0] for c in nb.cells]
    variant = cell(nb, "variant")
    nbg = variant.metadata["nbgrader"]
    assert (nbg["locked"], nbg["grade"], nbg["solution"]) == (True, False, False)
    first, *rest = variant.source.splitlines()
    assert re.fullmatch(r'TERM_KEY = "[^"\\]*"', first), first
    assert first == f'TERM_KEY = "{TERM_KEY}"'
    body = "\n".join(rest)
    assert f'lstm_core.variants.variant_for(\n    TERM_KEY, "{assignment}", ' \
           'lstm_core.variants.student_id(globals().get("STUDENT_ID", "")))' in body
    assert "display(Markdown(VARIANT.markdown))" in body
    typed = cell(nb, "student-id")
    assert "nbgrader" not in typed.metadata, "the id cell is the student's: unlocked, ungraded"
    assert typed.source.startswith('STUDENT_ID = ""  # the id your instructor gave you')
    k = gids.index("variant")
    assert gids.index("student-id") == k - 1
    graded_or_solution = [i for i, c in enumerate(nb.cells)
                          if c.metadata.get("nbgrader", {}).get("grade")
                          or c.metadata.get("nbgrader", {}).get("solution")]
    assert min(graded_or_solution) > k, "every answer and test comes after the variant cell"


def test_the_quick_check_options_are_the_books_and_the_notebooks():
    book = cell(read_nb(CHAPTER), "quick-check-text").source
    graded = cell(source_nb("lesson-exercises"), "quick-check-text").source
    for letter, text in zip("ABCD", V.QUICK_CHECK_OPTIONS):
        line = f"- **{letter}.** {text}"
        assert line in graded.splitlines() and line in book.splitlines(), line


# ------------------------------------------------------------------------------ who gets which variant
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_same_id_gets_the_same_variant_in_a_fresh_process(assignment):
    code = ("import lstm_core.variants as V; "
            f"print(*[V.variant_for({TERM_KEY!r}, {assignment!r}, f's{{k:03d}}').key for k in range(30)])")
    env = dict(os.environ, PYTHONHASHSEED="random")
    other = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout.split()
    here = [V.variant_for(TERM_KEY, assignment, f"s{k:03d}").key for k in range(30)]
    assert other == here
    assert len(set(here)) > 1


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_another_term_key_gives_another_assignment_of_variants(assignment):
    n = len(V.ASSIGNMENT_VARIANTS[assignment])
    ids = [f"student{k:03d}" for k in range(1, 101)]
    a = [V.variant_for(TERM_KEY, assignment, s) for s in ids]
    b = [V.variant_for("lstm-demo-2027", assignment, s) for s in ids]
    agree = sum(x == y for x, y in zip(a, b))
    assert agree < 2 * 100 / n, (agree, n)          # independent draws agree on about 100 / n ids
    assert a != b


@pytest.mark.parametrize("key", [TERM_KEY, "fall-2025", "spring-2026", "term-key-0", b"\x00\x01binary", "k"])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_hundred_ids_cover_every_variant_and_none_gets_twice_its_share(assignment, key):
    table = V.ASSIGNMENT_VARIANTS[assignment]
    for ids in ([f"student{k:03d}" for k in range(1, 101)], [f"s{k:03d}" for k in range(100)]):
        counts = collections.Counter(V.variant_for(key, assignment, s) for s in ids)
        assert set(counts) == set(table)
        assert max(counts.values()) <= 2 * len(ids) / len(table), counts


# ------------------------------------------------------------------------------ solutions and blanks
NUMPY_RUNS = [(a, k) for a in ("lesson-exercises", "lstm-from-scratch") for k in range(len(IDS[a]))]


def _check_solution_run(assignment, index, tmp_path, nb=None):
    sid = IDS[assignment][index]
    variant = V.ASSIGNMENT_VARIANTS[assignment][index]
    nb = nb or source_nb(assignment)
    results, seconds = execute(nb, sid, tmp_path)
    failed = {g: r for g, r in results.items() if r != "ok" and g not in ("setup",)}
    assert failed == {}, f"{assignment} variant {variant.key} (id {sid}): {failed}"
    assert shown_markdown(nb) == variant.markdown, "the variant cell shows the student's variant"
    return nb, results, seconds


@pytest.mark.parametrize("assignment, index", NUMPY_RUNS)
def test_the_solution_passes_every_test_for_every_variant(assignment, index, tmp_path):
    _check_solution_run(assignment, index, tmp_path)


@pytest.mark.parametrize("assignment, index", NUMPY_RUNS)
def test_the_blank_notebook_fails_every_test_for_every_variant(assignment, index, tmp_path):
    nb = blank(source_nb(assignment))
    results, _ = execute(nb, IDS[assignment][index], tmp_path)
    assert results["variant"] == "ok"
    for gid in graded_ids(nb):
        assert results[gid] != "ok", f"{gid} passes on the blank notebook"
        assert not results[gid].startswith("stderr"), results[gid]


def test_a_typed_id_gives_its_variant_and_no_id_says_what_to_type(tmp_path):
    """Outside the grader and the hub, the variant is the typed id's; without one, the cell says why."""
    from nbclient import NotebookClient

    sid = IDS["lstm-from-scratch"][8]
    env = {k: v for k, v in os.environ.items() if k not in (V.HUB_USER_ENV, V.STUDENT_ENV)}
    for typed, expect in ((sid, V.LSTM_VARIANTS[8].markdown), ("", None)):
        nb = source_nb("lstm-from-scratch")
        nb.cells = [c for c in nb.cells if grade_id(c) in ("setup", "variant")
                    or "student-id" in c.metadata.get("tags", [])]
        cell(nb, "student-id").source = f'STUDENT_ID = "{typed}"'
        NotebookClient(nb, timeout=60, allow_errors=True, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute(env=env)
        if expect:
            assert shown_markdown(nb) == expect
        else:
            error = [o for o in cell(nb, "variant").outputs if o.output_type == "error"][0]
            assert error.ename == "ValueError" and "type the id your instructor gave you" in error.evalue


# ------------------------------------------------------------------------------ another student's notebook
SCRATCH = {v.key: k for k, v in enumerate(V.LSTM_VARIANTS)}


@pytest.mark.parametrize("written_for, run_as", [
    ("standard-keras", "standard-keras"),          # the student's own id: full marks
    ("standard-keras", "standard-pytorch"),        # same block order: the same code
    ("coupled-keras", "coupled-pytorch"),
    ("standard-keras", "standard-cs231n"),         # the layout differs
    ("coupled-cs231n", "coupled-keras"),
    ("standard-cs231n", "coupled-cs231n"),         # the cell differs
    ("peephole-pytorch", "standard-pytorch"),
    ("coupled-keras", "peephole-cs231n"),
])
def test_a_notebook_written_for_one_variant_fails_exactly_the_variant_tests_under_another_id(
        written_for, run_as, tmp_path):
    mine, theirs = (V.LSTM_VARIANTS[SCRATCH[k]] for k in (written_for, run_as))
    nb = specialised(source_nb("lstm-from-scratch"), "lstm-from-scratch", mine)
    results, _ = execute(nb, IDS["lstm-from-scratch"][SCRATCH[run_as]], tmp_path)
    failed = {g for g in graded_ids(nb) if results[g] != "ok"}
    same_code = mine.cell == theirs.cell and mine.gate_order == theirs.gate_order
    assert failed == (set() if same_code else VARIANT_DEPENDENT["lstm-from-scratch"]), results
    assert shown_markdown(nb) == theirs.markdown            # the notebook shows the real id's variant
    if mine.cell == theirs.cell and not same_code:          # a layout slip: the message names the order
        assert f"your gate blocks are, in order, {', '.join(theirs.gate_labels)}" in \
            results["test-lstm-step-forward"]


@pytest.mark.parametrize("written_for", [0, 1, 3])
def test_a_lesson_notebook_of_another_id_loses_only_the_quick_check_letter(written_for, tmp_path):
    table = V.LESSON_EXERCISES_VARIANTS
    mine = table[written_for]
    run_as = next(k for k, v in enumerate(table) if v.letter("C") != mine.letter("C"))
    same = next(k for k, v in enumerate(table) if k != written_for and v.letter("C") == mine.letter("C"))
    for index, expected in ((run_as, VARIANT_DEPENDENT["lesson-exercises"]), (same, set())):
        nb = specialised(source_nb("lesson-exercises"), "lesson-exercises", mine)
        results, _ = execute(nb, IDS["lesson-exercises"][index], tmp_path)
        assert {g for g in graded_ids(nb) if results[g] != "ok"} == expected, results
        if expected:
            assert "that is not the right answer" in results["test-quick-check-choice"]


# ------------------------------------------------------------------------------ the outside checks
CHECKS = {a: load_check(COURSE / "checks", a) for a in ASSIGNMENTS}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_check_computes_the_students_variant_as_the_notebook_does(assignment):
    check = CHECKS[assignment]
    for sid, variant in zip(IDS[assignment], V.ASSIGNMENT_VARIANTS[assignment]):
        cases = {c["name"]: c for c in check.cases(np.random.default_rng(check.seed),
                                                   student_id=sid, term_key=TERM_KEY)}
        if assignment == "lesson-exercises":
            assert cases["quick_check_answer"]["expected_text"] == variant.letter("C")
            fs, steps = cases["memory_after"]["inputs"]
            assert int(steps) == variant.memory_steps
            assert float(cases["clip_by_global_norm"]["inputs"][-1]) == variant.max_norm
        elif assignment == "lstm-from-scratch":
            step = cases["lstm_step_forward"]
            assert len(step["inputs"]) == 3 + len(variant.param_names)
            h, c, _ = variant.step_forward(*step["inputs"])
            np.testing.assert_array_equal(step["expected"][0], h)
            assert cases["lstm_backward"]["forward_args"] == 3 + len(variant.param_names)
            assert len(cases["lstm_backward"]["expected"]) == 3 + len(variant.param_names)
        else:
            own = cases["to_windows_2"]
            assert int(own["inputs"][1]) == variant.time_steps
            assert own["expected"][0].shape == (2 * variant.time_steps, variant.time_steps, 1)


@pytest.mark.parametrize("assignment, index", [("lesson-exercises", 2), ("lesson-exercises", 5),
                                               ("lstm-from-scratch", 0), ("lstm-from-scratch", 5),
                                               ("lstm-from-scratch", 8)])
def test_the_outside_check_confirms_the_solution_for_the_students_variant(assignment, index,
                                                                          tmp_path, monkeypatch):
    sid = IDS[assignment][index]
    monkeypatch.setenv(V.STUDENT_ENV, sid)          # the runner's kernel-less process reads it too
    assert verify_notebook(CHECKS[assignment], source_nb(assignment), tmp_path, sid, TERM_KEY,
                           None) == {}


@pytest.mark.parametrize("written_for, run_as", [("standard-cs231n", "standard-keras"),
                                                 ("peephole-keras", "coupled-keras")])
def test_the_outside_check_refuses_another_variants_solution(written_for, run_as, tmp_path, monkeypatch):
    sid = IDS["lstm-from-scratch"][SCRATCH[run_as]]
    monkeypatch.setenv(V.STUDENT_ENV, sid)
    nb = specialised(source_nb("lstm-from-scratch"), "lstm-from-scratch",
                     V.LSTM_VARIANTS[SCRATCH[written_for]])
    failures = verify_notebook(CHECKS["lstm-from-scratch"], nb, tmp_path, sid, TERM_KEY, None)
    assert set(failures) == VARIANT_DEPENDENT["lstm-from-scratch"], failures


# ------------------------------------------------------------------------------ lstm-keras (trains)
KERAS = V.LSTM_KERAS_VARIANTS
EXTREMES = sorted({min(range(len(KERAS)), key=lambda k: KERAS[k].time_steps),
                   max(range(len(KERAS)), key=lambda k: (KERAS[k].time_steps, KERAS[k].period))})


def _with_export(nb, folder):
    """The notebook with the grader's export of the trained weights right after the training cell."""
    code = CHECKS["lstm-keras"].export.code.replace("__EXPORT_FOLDER__", repr(str(folder)))
    k = next(i for i, c in enumerate(nb.cells) if grade_id(c) == "train")
    export = nbformat.v4.new_code_cell(code)
    export.metadata = {"tags": ["export"]}
    nb.cells.insert(k + 1, export)
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(KERAS)))
def test_the_keras_solution_beats_its_own_baseline_in_budget_for_every_variant(index, tmp_path):
    sid = IDS["lstm-keras"][index]
    nb = _with_export(source_nb("lstm-keras"), tmp_path / "weights")
    nb, results, seconds = _check_solution_run("lstm-keras", index, tmp_path, nb)
    printed = "".join(o.get("text", "") for o in cell(nb, "train-time").outputs)
    train_seconds = float(re.search(r"training took ([\d.]+) s", printed).group(1))
    assert train_seconds <= 20
    judge = CHECKS["lstm-keras"].export.judge
    rng = np.random.default_rng(CHECKS["lstm-keras"].seed + 1)
    assert judge(tmp_path / "weights", train_seconds, rng, student_id=sid, term_key=TERM_KEY) is None
    print(f"lstm-keras {KERAS[index].key}: notebook {seconds:.1f} s, training {train_seconds:.1f} s")


@pytest.mark.slow
@pytest.mark.parametrize("index", EXTREMES)
def test_the_blank_keras_notebook_fails_every_test(index, tmp_path):
    nb = blank(source_nb("lstm-keras"))
    results, _ = execute(nb, IDS["lstm-keras"][index], tmp_path)
    assert results["variant"] == "ok" and results["data"] == "ok"
    for gid in graded_ids(nb):
        assert results[gid] != "ok" and not results[gid].startswith("stderr"), (gid, results[gid])


def test_the_keras_judge_uses_the_students_series_and_window(tmp_path):
    """Weights that forecast one series well are judged on the student's own stretch and window:
    an untrained model fails, whatever the variant, and the reason names the variant."""
    import keras

    judge = CHECKS["lstm-keras"].export.judge
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(None, 1)), keras.layers.LSTM(8), keras.layers.Dense(1)])
    folder = tmp_path / "untrained"
    folder.mkdir()
    for k, w in enumerate(model.get_weights()):
        np.save(folder / f"{k}.npy", w.astype("float32"))
    for sid, variant in zip(IDS["lstm-keras"], KERAS):
        why = judge(folder, 5.0, np.random.default_rng(1), student_id=sid, term_key=TERM_KEY)
        assert why and f"({variant.key})" in why and "more than half the persistence baseline" in why
    assert "took 25.0 s" in judge(folder, 25.0, np.random.default_rng(1), student_id=IDS["lstm-keras"][0],
                                  term_key=TERM_KEY)
