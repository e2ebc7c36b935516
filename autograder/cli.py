"""``python -m autograder``: init, release, grade, feedback, export, validate, report.

Each command is a thin layer over nbgrader's converters and gradebook, run on a course folder
(``--course DIR``; the repository's demo course ``course/`` by default).
``python -m autograder COMMAND --help`` explains each.
"""

from __future__ import annotations

import argparse
import sys
import textwrap

from . import DEMO_COURSE

__all__ = ["main", "build_parser"]

EPILOG = textwrap.dedent("""
    A term, end to end (from the repository root, after `make book`):
      python -m autograder init ~/courses/lstm-2027     # a private course (keep it private)
      python -m autograder release --course ~/courses/lstm-2027
                                                        # student notebooks: DIR/release/
                                                        #   and _build/html/graded/ (book links)
      python -m autograder grade lstm-keras ~/lms-export --jobs 2 --course ~/courses/lstm-2027
      python -m autograder feedback lstm-keras --course ~/courses/lstm-2027
      python -m autograder export --to grades.csv --course ~/courses/lstm-2027
      python -m autograder report lstm-keras --course ~/courses/lstm-2027
    Without --course, every command works on the repository's demo course, course/.
    Students check their work with:  python -m lstm_core.check lstm-keras.ipynb
""")


def _course_option(parser):
    parser.add_argument("--course", metavar="DIR", default=None,
                        help=f"the course folder (default: the demo course {DEMO_COURSE})")


def _limit_flags(group):
    """``grade``'s limit flags, one per limit (:meth:`autograder.jobs.Limits.names`), made from
    the ``GradingLimits`` traits: their names, types and help."""
    from traitlets import Float

    from .jobs import GradingLimits, Limits

    traits = GradingLimits.class_traits()
    for name in Limits.names():
        trait = traits[name]
        group.add_argument(
            "--" + name.replace("_", "-"), type=float if isinstance(trait, Float) else int,
            default=None, metavar=trait.metadata.get("metavar", "N"),
            help=trait.help.replace("%", "%%") + f" (default: GradingLimits.{name}, "
                                                  f"{trait.default_value:,} unless configured)")


def build_parser():
    """The argument parser of ``python -m autograder``."""
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description="The LSTM course's grader: nbgrader's machinery behind a few commands.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_init, _add_release, _add_grade, _add_feedback, _add_export, _add_validate, _add_report):
        add(sub, argparse.RawDescriptionHelpFormatter)
    return parser


def _add_init(sub, fmt):
    """The ``init`` sub-command's arguments."""
    p = sub.add_parser(
        "init", formatter_class=fmt, help="make a private course for a term from the demo course",
        description=textwrap.dedent("""
            Create DIR, a course folder of your own: nbgrader_config.py (with its own course
            id), source/<assignment>/ (solutions and hidden tests) and checks/<assignment>.py
            (the outside checks and their seeds), copied from the demo course, and a .gitignore
            for what the other commands generate. Keep DIR in a private repository, edit its
            notebooks and seeds for the term, and pass --course DIR to every other command."""),
        epilog="example:\n  python -m autograder init ~/courses/lstm-2027 --course-id lstm-2027\n"
               "  python -m autograder release --course ~/courses/lstm-2027")
    p.add_argument("dir", metavar="DIR", help="a new (or empty) folder outside the repository")
    p.add_argument("--course-id", default=None, metavar="ID",
                   help="nbgrader's course id (default: the folder's name)")
    p.add_argument("--from", dest="template", default=None, metavar="COURSE",
                   help="the course to copy (default: the demo course)")
    p.add_argument("--term-key", default=None, metavar="KEY",
                   help="the term key, which fixes each student's variant (default: a new random "
                        "one; give an existing course's key to keep its students' variants)")


def _add_release(sub, fmt):
    """The ``release`` sub-command's arguments."""
    p = sub.add_parser(
        "release", formatter_class=fmt, help="generate the student notebooks",
        description=textwrap.dedent("""
            Generate the student version of each assignment with nbgrader (solutions and hidden
            tests removed, cells locked, checksums recorded, the gradebook updated) into
            <course>/release/<assignment>/, check that no solution or hidden-test line is left,
            and copy the notebooks to <html-dir>/graded/<assignment>/, where the book's exercises
            chapter links to them. Run it after `make book`."""),
        epilog="example:\n  python -m autograder release\n"
               "  python -m autograder release lstm-keras --html-dir /tmp/book/_build/html")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                   help="assignments to release (default: every one in source/)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--html-dir", metavar="DIR", default=None,
                   help="the built book's HTML folder (default: _build/html of the repository)")
    g.add_argument("--no-html", action="store_true", help="do not copy into the book")
    _course_option(p)


def _add_grade(sub, fmt):
    """The ``grade`` sub-command's arguments."""
    p = sub.add_parser(
        "grade", formatter_class=fmt, help="autograde every submission of an assignment",
        description=textwrap.dedent("""
            Autograde every student's submission with nbgrader, each student in its own process
            on a private copy of the course, and merge the grades into the course gradebook from
            this one process. SUBMISSIONS is either nbgrader's layout, <student>/<ASSIGNMENT>/
            *.ipynb, or a folder of one .ipynb or .zip per student as a learning-management
            system exports them (the student id starts the file name). A submission that cannot
            be graded (not JSON, a missing or renamed notebook, a kernel that dies or hangs)
            still gets a row: zero for what could not be graded, and the reason, in the
            gradebook's comments, the feedback and the CSV. Written answers are left for grading
            by hand (nbgrader's formgrader)."""),
        epilog="examples:\n  python -m autograder grade lstm-from-scratch course/submitted\n"
               "  python -m autograder grade lstm-keras ~/Downloads/canvas-export --jobs 2\n"
               "  python -m autograder grade lesson-exercises exports --student-pattern "
               "'^(?P<student>\\w+)-'")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("submissions", metavar="SUBMISSIONS")
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="grade N students at once, each in its own process (default 1)")
    p.add_argument("--cell-timeout", type=float, default=None, metavar="S",
                   help="seconds per cell (default: nbgrader's Execute.timeout as "
                        "nbgrader_config.py sets it)")
    p.add_argument("--student-pattern", default=None, metavar="REGEX",
                   help="regular expression with a group (?P<student>...) that finds the student "
                        "id in an exported file name (default: up to the first _ or space)")
    p.add_argument("--student", action="append", default=None, metavar="ID",
                   help="grade only this student (repeatable)")
    p.add_argument("--keep-scratch", action="store_true",
                   help="keep each student's scratch course and worker log (for debugging)")
    p.add_argument("--resume", action="store_true",
                   help="skip students whose very submission is already graded with the same "
                        "tests and limits (to finish a run that was interrupted)")
    s = p.add_argument_group(
        "sandbox and limits", "Each student's kernel runs in a bubblewrap sandbox (no network, "
        "read-only system, no view of source/ or the gradebook) as an unprivileged user, under "
        "these limits. Defaults: GradingLimits in nbgrader_config.py (per assignment there too).")
    s.add_argument("--no-sandbox", action="store_true",
                   help="grade without the sandbox (needed where bubblewrap is missing; student "
                        "code then runs with your rights: only for trusted submissions)")
    _limit_flags(s)
    _course_option(p)


def _add_feedback(sub, fmt):
    """The ``feedback`` sub-command's arguments."""
    p = sub.add_parser(
        "feedback", formatter_class=fmt, help="write HTML feedback for each graded student",
        description="Write nbgrader's HTML feedback, with the scores, test output and comments "
                    "(reasons included), to <course>/feedback/<student>/<ASSIGNMENT>/.",
        epilog="example:\n  python -m autograder feedback lstm-keras")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("--student", action="append", default=None, metavar="ID",
                   help="only this student (repeatable)")
    _course_option(p)


def _add_export(sub, fmt):
    """The ``export`` sub-command's arguments."""
    p = sub.add_parser(
        "export", formatter_class=fmt, help="export the grades as CSV",
        description="Export the gradebook as CSV: nbgrader's columns, the code and written "
                    "parts of each score, whether hand grading is pending, and the reasons for "
                    "lost points. Students without a submission get a zero row.",
        epilog="example:\n  python -m autograder export --to grades.csv")
    p.add_argument("--to", default=None, metavar="FILE",
                   help="the CSV file (default: grades.csv in the course root)")
    p.add_argument("--assignment", action="append", default=None, metavar="ASSIGNMENT",
                   help="only this assignment (repeatable)")
    _course_option(p)


def _add_validate(sub, fmt):
    """The ``validate`` sub-command's arguments."""
    p = sub.add_parser(
        "validate", formatter_class=fmt, help="run a notebook's tests; exit 1 if one fails",
        description="Run a notebook from top to bottom as the grader will and report every "
                    "failing test. Exits 0 when all visible tests pass and 1 otherwise (plain "
                    "`nbgrader validate` exits 0 either way). Hidden tests are not in the "
                    "students' notebooks, so passing here is necessary, not sufficient.",
        epilog="example:\n  python -m autograder validate lstm-from-scratch.ipynb")
    p.add_argument("notebook", metavar="NOTEBOOK")
    p.add_argument("--cell-timeout", type=float, default=None, metavar="S",
                   help="seconds per cell (default: as in grading)")
    p.add_argument("--student", default=None, metavar="ID",
                   help="check it on this student's variant, as grading their submission does "
                        "(default: the id typed in the notebook, or the hub's user)")
    _course_option(p)


def _add_report(sub, fmt):
    """The ``report`` sub-command's arguments."""
    p = sub.add_parser(
        "report", formatter_class=fmt, help="write the class report of an assignment (HTML, CSV)",
        description=textwrap.dedent("""
            Write one HTML page (with its figures and a CSV of every number) about the class's
            grades on ASSIGNMENT: the score distribution; for every test its pass rate, its
            discrimination and its most frequent failure messages; the mean score per variant;
            grading seconds per student; the students not graded, with the reasons. Prints
            where the page is."""),
        epilog="example:\n  python -m autograder report lstm-from-scratch --course ~/courses/lstm-2027")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("--to", default=None, metavar="DIR",
                   help="the report's folder (default: <course>/report/<ASSIGNMENT>/)")
    _course_option(p)


def _run_init(args, course=None):
    from .course import Course
    from .init_course import init_course

    root = init_course(args.dir, course_id=args.course_id, template=args.template,
                       term_key=args.term_key)
    print(f"created the course {Course(root).course_id!r} in {root}\n"
          f"next: keep it in a private repository, then\n"
          f"  python -m autograder release --course {root}")
    return 0


def _run_release(args, course):
    from .course import CourseError
    from .release import default_html_dir, release_assignment
    from .table import format_table, fmt_points

    names = args.assignments or course.assignments()
    if not names:
        raise CourseError(f"no assignments in {course.source_dir}")
    html = None if args.no_html else (args.html_dir or default_html_dir())
    rows = []
    for n, name in enumerate(names, 1):
        row = release_assignment(course, name, html_dir=html)
        rows.append({**row, "auto points": fmt_points(row["auto points"]),
                     "manual points": fmt_points(row["manual points"]),
                     "seconds": f"{row['seconds']:.1f}"})
        print(f"[{n}/{len(names)}] {name}: released to {row['release']}"
              + (f", copied to {row['html']}" if html else ""), flush=True)
    print()
    print(format_table(rows, ["assignment", "notebooks", "auto points", "manual points",
                              "seconds", "html"]))
    return 0


def _run_grade(args, course):
    from .grading import grade
    from .jobs import Limits

    grade(course, args.assignment, args.submissions, jobs=args.jobs,
          cell_timeout=args.cell_timeout,
          limits={name: getattr(args, name) for name in Limits.names()},
          sandbox=False if args.no_sandbox else None, student_pattern=args.student_pattern,
          students=args.student, keep_scratch=args.keep_scratch, resume=args.resume,
          out=lambda s: print(s, flush=True))
    return 0


def _run_feedback(args, course):
    from .feedback import generate_feedback

    rows = generate_feedback(course, args.assignment, students=args.student,
                             out=lambda s: print(s, flush=True))
    return 0 if all(r["status"] == "ok" for r in rows) else 1


def _run_export(args, course):
    from .export import export_grades

    export_grades(course, args.to, args.assignment, out=lambda s: print(s, flush=True))
    return 0


def _run_validate(args, course):
    from .validate import validate_notebook

    return validate_notebook(course, args.notebook, cell_timeout=args.cell_timeout,
                             student=args.student)


def _run_report(args, course):
    from .report import class_report

    page = class_report(course, args.assignment, args.to)
    print(f"the class report of {args.assignment}: {page}")
    return 0


def main(argv=None):
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    from .course import Course, CourseError, prepare_process

    prepare_process()
    run = globals()[f"_run_{args.command}"]
    try:
        return run(args) if args.command == "init" else run(args, Course(args.course))
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
