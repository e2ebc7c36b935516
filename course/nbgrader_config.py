"""nbgrader configuration of an LSTM course (nbgrader 0.9.x).

This folder is a course: the nbgrader course root. Both the grader's command line
(``python -m autograder ... --course DIR``) and nbgrader's (``nbgrader ...`` run from this
folder) read this file. Paths below are relative to this file, so the course works from any
place and from a throw-away copy (the tests grade in one).

Layout (nbgrader's defaults): ``source/<assignment>/`` (instructor versions, with solutions and
hidden tests), ``release/`` (student versions), ``submitted/<student>/<assignment>/``,
``autograded/``, ``feedback/`` and the gradebook ``gradebook.db`` (SQLite). Beside them,
``checks/<assignment>.py``: the outside checks of the tests (``autograder/verify.py``). Only
this file, ``source/`` and ``checks/`` are kept in git.
"""

import os

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

# TensorFlow writes its C++ start-up log to stderr, and nbgrader gives zero to a test cell with
# any stderr output. The grading kernel inherits this process's environment, so setting the
# variable here puts it there before TensorFlow is imported. (The grader's prepare_process sets it too.)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = os.path.dirname(os.path.abspath(__file__))

# --- the course -------------------------------------------------------------------------------
c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "lstm-course"
# Each student's variant of an assignment is fixed by this key, the assignment and the student
# id (lstm_core.variants); the release writes it into the notebooks (autograder/term_key.py).
# A new key for a new term reshuffles the variants; `python -m autograder init` makes one.
c.TermKey.term_key = "lstm-demo-2026"
# nbgrader's default gradebook, written out: an SQLite file in the course root. Only one
# process writes it at a time (the grader's ``grading.py``).
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")

# --- markers, exactly (a mistyped marker ships a hidden test or a solution to students;
#     `python -m autograder release` checks every released notebook line by line) ---------
c.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
c.ClearSolutions.end_solution_delimeter = "END SOLUTION"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"
c.ClearHiddenTests.enforce_metadata = True

# --- executing a submission ---------------------------------------------------------------------
# Per-cell limit (seconds): a cell still running after it is interrupted and fails; the rest of
# the notebook still runs. The honest lstm-keras training cell takes a few seconds.
c.ExecutePreprocessor.timeout = 60
c.ExecutePreprocessor.interrupt_on_timeout = True
c.ExecutePreprocessor.raise_on_iopub_timeout = True
# The kernel's own start-up log ("Kernel is running over TCP without encryption") is noise in
# `validate`'s output; cell outputs are not affected.
c.ExecutePreprocessor.extra_arguments = ["--IPKernelApp.log_level=ERROR"]
# Per-notebook limit (seconds, wall clock): `python -m autograder grade` runs each student in its
# own process and kills it, kernel included, when this runs out (a loop that swallows the
# interrupt, a kernel that stops answering). The student's row then says why. Overridable with
# `grade --notebook-timeout`.
c.GradingLimits.notebook_timeout = 300
# Added once per student to the limit above, for starting its grading process and kernel.
c.GradingLimits.startup_allowance = 20

# --- the sandbox around each student's kernel (autograder/sandbox.py, autograder/SECURITY.md) --
# bubblewrap: no network, a read-only view of the system and the packages, no view of source/,
# the gradebook or other submissions; an unprivileged user; these setrlimit limits. Each is
# overridable per run: `grade --memory-mb 3000 --cpu-seconds 120 ...`; `grade --no-sandbox`
# grades without it (only where bubblewrap cannot be installed, on trusted submissions).
c.GradingLimits.sandbox = True
c.GradingLimits.memory_mb = 2048          # RLIMIT_AS of the kernel, MiB (numpy notebooks: < 1 GiB)
c.GradingLimits.cpu_seconds = 600         # RLIMIT_CPU, all cells together
c.GradingLimits.max_processes = 256       # RLIMIT_NPROC of the kernel's user (threads count)
c.GradingLimits.max_file_mb = 64          # RLIMIT_FSIZE, MiB
c.GradingLimits.max_output_chars = 1_000_000   # per cell; cut while it arrives
# TensorFlow maps ~2.6 GB of address space for the honest lstm-keras solution (measured: VmPeak
# 2.64 GB, resident 0.65 GB; in the sandbox it fails to import at 2048 MiB and scores full marks
# at 3072), so its kernel gets 4096.
c.GradingLimits.per_assignment = {"lstm-keras": {"memory_mb": 4096}}

# nbgrader scores a test cell zero when it writes anything to stderr, even when every assertion
# passes. Remove the stderr outputs that are warnings or TensorFlow/absl/CUDA start-up logging
# before the cells are scored (this preprocessor is disabled unless enabled here).
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(?i)(warning|warn\(|absl|tensorflow|oneDNN|cuda|cudnn|cufft|cublas|"
    r"computation placer|TF-TRT|[IWE]0000 )"
)

# Students may delete a test cell; put it back from the gradebook rather than lose it.
c.OverwriteCells.add_missing_cells = True
# Grading keeps a submission's outputs short in the feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 40

# Feedback keeps hidden tests hidden: their code and tracebacks are removed, only their failure
# message stays, and a table of every graded cell's points comes first (autograder/feedback.py).
# `python -m autograder feedback` always uses these; this line makes the formgrader's
# "Generate Feedback" and `nbgrader generate_feedback` do the same.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "autograder.feedback.HideHiddenTests",
    "autograder.feedback.ScoreSummary",
]

# Feedback and file permissions: the instructor keeps write access to generated files.
c.GenerateFeedback.permissions = 644
c.Autograde.permissions = 644
