"""The grader's configuration, source notebooks and book chapter, checked without grading.

The end-to-end tests (grading whole classes through the command line) are in
test_autograder_pipeline.py; these are the fast checks of what the traps of nbgrader need.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder_helpers import (  # noqa: E402
    ASSIGNMENTS, BEGIN_HIDDEN, BEGIN_SOLUTION, COURSE, END_HIDDEN, END_SOLUTION, REPO, grade_id,
    read_nb, run_cli,
)

CHAPTER = REPO / "chapters" / "10_exercises.ipynb"
EXERCISE_TAGS = ["exercise-1-text", "exercise-2-text", "quick-check-text"]
NUMPY_ONLY = ["lesson-exercises", "lstm-from-scratch"]


def source_nb(assignment):
    return read_nb(COURSE / "source" / assignment / f"{assignment}.ipynb")


def graded_test_cells(assignment):
    return [c for c in source_nb(assignment).cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]


def config():
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(COURSE)).load_config()


# ------------------------------------------------------------------------------ configuration
def test_config_course_and_gradebook():
    c = config()
    assert c.CourseDirectory.course_id == "lstm-course"
    assert Path(c.CourseDirectory.root) == COURSE
    assert c.CourseDirectory.db_url == f"sqlite:///{COURSE / 'gradebook.db'}"


def test_config_limits_and_nbgrader_traps():
    c = config()
    assert 10 <= c.ExecutePreprocessor.timeout <= 120, "a per-cell limit that lets honest training finish"
    assert c.GradingLimits.notebook_timeout >= c.ExecutePreprocessor.timeout
    assert c.IgnorePattern.enabled is True, "IgnorePattern is off unless enabled"
    assert c.OverwriteCells.add_missing_cells is True
    assert c.ClearHiddenTests.begin_test_delimeter == "BEGIN HIDDEN TESTS"
    assert c.ClearHiddenTests.end_test_delimeter == "END HIDDEN TESTS"
    assert c.ClearSolutions.begin_solution_delimeter == "BEGIN SOLUTION"
    assert c.ClearSolutions.end_solution_delimeter == "END SOLUTION"


@pytest.mark.parametrize("line", [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795623383.012517   13599 cudart_stub.cc:31] Could not find cuda drivers on your "
    "machine, GPU will not be used.",
    "/x/keras/src/layers/rnn/rnn.py:204: UserWarning: Do not pass an `input_shape`/`input_dim`",
    "E0000 00:00:17956 cuda_executor.cc:1228] INTERNAL: CUDA Runtime error",
    "WARNING:absl:Compiled the loaded model, but the compiled metrics have yet to be built.",
])
def test_ignore_pattern_removes_tensorflow_and_warnings(line):
    assert re.search(config().IgnorePattern.pattern, line)


@pytest.mark.parametrize("line", ["Traceback (most recent call last):", "my debugging output 42"])
def test_ignore_pattern_keeps_other_stderr(line):
    assert not re.search(config().IgnorePattern.pattern, line)


def test_config_puts_tf_log_level_into_the_kernels_environment():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = ("from traitlets.config.loader import PyFileConfigLoader; import os; "
            f"PyFileConfigLoader('nbgrader_config.py', path={str(COURSE)!r}).load_config(); "
            "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "3"


# ------------------------------------------------------------------------------ source notebooks
def test_three_assignments():
    assert sorted(p.name for p in (COURSE / "source").iterdir() if p.is_dir()) == ASSIGNMENTS
    for a in ASSIGNMENTS:
        assert (COURSE / "source" / a / f"{a}.ipynb").is_file()


def _ends_in_assertion(stmt):
    if isinstance(stmt, ast.Assert):
        return True
    if isinstance(stmt, (ast.For, ast.While, ast.With, ast.If, ast.Try)):
        return _ends_in_assertion(stmt.body[-1])
    return False


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_test_cells_end_in_an_assertion_and_import_nothing(assignment):
    cells = graded_test_cells(assignment)
    assert cells
    for cell in cells:
        tree = ast.parse(cell.source)
        last = tree.body[-1]
        assert not isinstance(last, ast.Expr), (
            f"{grade_id(cell)} ends in a bare expression, which nbgrader would take as its score")
        assert _ends_in_assertion(last), f"{grade_id(cell)} must end with an assertion"
        imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert not imports, f"{grade_id(cell)} imports something: keep imports out of test cells"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_test_cell_is_locked_and_has_hidden_tests(assignment):
    for cell in graded_test_cells(assignment):
        nbg = cell.metadata["nbgrader"]
        assert nbg["locked"] and not nbg["solution"] and nbg["points"] > 0, grade_id(cell)
        lines = [line.strip() for line in cell.source.splitlines()]
        assert lines.count(BEGIN_HIDDEN) == 1 and lines.count(END_HIDDEN) == 1, (
            f"{grade_id(cell)}: one hidden-test region, with the exact markers")
        hidden = cell.source.split(BEGIN_HIDDEN)[1].split(END_HIDDEN)[0]
        assert "assert" in hidden, f"{grade_id(cell)}: its hidden region asserts nothing"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_markers_are_exact_and_paired(assignment):
    marker = re.compile(r"(?i)(BEGIN|END)\s*(HIDDEN\s*TESTS?|SOLUTIONS?)")
    for cell in source_nb(assignment).cells:
        for line in cell.source.splitlines():
            if marker.search(line):
                assert line.strip() in {BEGIN_HIDDEN, END_HIDDEN, BEGIN_SOLUTION, END_SOLUTION}, (
                    f"{assignment}/{grade_id(cell)}: inexact marker {line.strip()!r}")
        lines = [line.strip() for line in cell.source.splitlines()]
        assert lines.count(BEGIN_SOLUTION) == lines.count(END_SOLUTION)


@pytest.mark.parametrize("assignment", NUMPY_ONLY)
def test_numpy_assignments_never_import_tensorflow(assignment):
    for cell in source_nb(assignment).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in {"tensorflow", "keras"}, (
                    f"{assignment}/{grade_id(cell)} imports {name}")
            if isinstance(node, ast.Attribute) and node.attr == "keras_interop":
                pytest.fail(f"{assignment}/{grade_id(cell)} uses lstm_core.keras_interop")


def test_keras_notebook_uses_keras_input_not_input_shape():
    text = "\n".join(c.source for c in source_nb("lstm-keras").cells if c.cell_type == "code")
    assert "keras.Input(shape=" in text
    assert not re.search(r"\binput_shape\s*=", text), "graded code must use keras.Input(shape=...)"


# ------------------------------------------------------------------------------ the book
def test_book_is_never_built_from_the_course():
    cfg = yaml.safe_load((REPO / "_config.yml").read_text())
    patterns = cfg.get("exclude_patterns", [])
    assert any(p.strip("/*") == "course" for p in patterns), (
        f"_config.yml must exclude course/ (solutions); exclude_patterns = {patterns}")
    assert cfg.get("only_build_toc_files") is True
    toc = (REPO / "_toc.yml").read_text()
    assert "course" not in toc and "autograder" not in toc and "source/" not in toc


def exercise_text(cell):
    """The text of an exercise cell: the chapter's ```{exercise} fence and options removed."""
    lines = cell.source.strip().splitlines()
    if lines and lines[0].startswith("```{exercise}"):
        lines = lines[1:]
        while lines and lines[0].startswith(":"):
            lines = lines[1:]
        assert lines[-1].strip() == "```", "the exercise directive must end the cell"
        lines = lines[:-1]
    return "\n".join(lines).strip()


def tagged(nb, tag):
    found = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    assert len(found) == 1, f"exactly one cell tagged {tag}; found {len(found)}"
    return found[0]


@pytest.mark.parametrize("tag", EXERCISE_TAGS)
def test_exercise_text_is_the_same_in_the_book_and_the_graded_notebook(tag):
    chapter_cell = tagged(read_nb(CHAPTER), tag)
    assert chapter_cell.source.startswith("```{exercise}")
    graded = tagged(source_nb("lesson-exercises"), tag)
    assert graded.metadata["nbgrader"]["locked"], "the graded notebook's exercise text is locked"
    assert exercise_text(chapter_cell) == exercise_text(graded)
    assert len(exercise_text(graded)) > 200


def test_exercises_quote_the_lesson():
    lesson = {
        "exercise-1-text": "What is the main role of the cell state in an LSTM?",
        "exercise-2-text": "Why does the forget gate use values between 0 and 1?",
        "quick-check-text": "Can LSTMs completely eliminate training difficulties?",
    }
    nb = read_nb(CHAPTER)
    for tag, question in lesson.items():
        assert question in tagged(nb, tag).source


def test_chapter_links_to_every_graded_notebook():
    text = "\n".join(c.source for c in read_nb(CHAPTER).cells if c.cell_type == "markdown")
    for a in ASSIGNMENTS:
        assert f'href="../graded/{a}/{a}.ipynb"' in text


def test_chapter_hides_each_answer_behind_a_dropdown():
    text = "\n".join(c.source for c in read_nb(CHAPTER).cells if c.cell_type == "markdown")
    for label in ("ex10-cell-state", "ex10-forget-gate", "ex10-quick-check"):
        assert f"```{{solution-start}} {label}\n:class: dropdown" in text


# ------------------------------------------------------------------------------ helpers of the grader
def test_reference_disabled_blocks_aliases_and_restores():
    import numpy as np

    import lstm_core
    from lstm_core.testing import ReferenceImplementationCalled, reference_disabled
    from lstm_core import lstm_forward as alias

    x = np.zeros((1, 2, 3))
    Wx, Wh, b = lstm_core.init_lstm_params(3, 2, np.random.default_rng(0))
    with reference_disabled(lstm_core.lstm):
        with pytest.raises(ReferenceImplementationCalled):
            alias(x, Wx, Wh, b)
        with pytest.raises(ReferenceImplementationCalled):
            lstm_core.lstm.lstm_step_forward(x[:, 0], np.zeros((1, 2)), np.zeros((1, 2)), Wx, Wh, b)
        assert lstm_core.sigmoid(0.0) == 0.5, "helpers outside lstm_core.lstm keep working"
    h, c, _ = alias(x, Wx, Wh, b)
    assert h.shape == (1, 2, 2), "the functions work again after the block"


def test_leak_check_catches_a_mistyped_marker():
    from autograder.leaks import find_leaks

    src = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "assert f(1) == 2\n### BEGIN HIDDEN TEST\nassert f(12345) == 24690\n### END HIDDEN TESTS")])
    src.cells[0].metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t"}
    leaks = find_leaks(src, src)       # nbgrader would not remove the region: it is released as is
    assert any("f(12345)" in leak for leak in leaks)
    assert any("marker" in leak for leak in leaks)


@pytest.mark.parametrize("command", ["release", "grade", "feedback", "export", "validate"])
def test_every_command_has_help(command):
    out = run_cli(command, "--help", timeout=120)
    assert "usage: python -m autograder " + command in out.stdout
    assert "example" in out.stdout
