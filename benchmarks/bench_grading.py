"""Grading a whole class: serial against ``--jobs N``, per assignment, in one run.

For each assignment it makes a class of submissions from the instructor's source
(half the solution, a quarter the blank release, a quarter the solution with one
function left blank — partly wrong), copies the course twice, and times
``python -m autograder grade`` on the class serially and with ``--jobs N``, one
after the other. It then checks that every student's grades are identical in the
two gradebooks and that both pass SQLite's integrity check, and prints a table:
seconds per student, and the parallel run's time as a fraction of the serial one.

Usage::

    .venv/bin/python benchmarks/bench_grading.py [--students 40] [--jobs 2]
        [--assignment lesson-exercises ...] [--json benchmarks/bench_grading.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from autograder_helpers import (  # noqa: E402  (the tests' own builders of submissions)
    ASSIGNMENTS,
    copy_course,
    fill,
    gradebook_rows,
    run_cli,
    solution_answers,
)


def make_class(course, assignment, n_students, dest):
    """Write ``n_students`` submissions in nbgrader's layout; return {student: kind}."""
    release = Path(course) / "release" / assignment / f"{assignment}.ipynb"
    answers = solution_answers(course, assignment)
    blank_ids = sorted(answers)
    kinds = {}
    for k in range(n_students):
        student = f"s{k:03d}"
        kind = ("solution", "blank", "partial", "solution")[k % 4]
        if kind == "solution":
            chosen = answers
        elif kind == "blank":
            chosen = {}
        else:   # one solution cell left as released: partly wrong
            left_out = blank_ids[k % len(blank_ids)]
            chosen = {g: s for g, s in answers.items() if g != left_out}
        fill(release, chosen, Path(dest) / student / assignment / f"{assignment}.ipynb")
        kinds[student] = kind
    return kinds


def integrity(course):
    with sqlite3.connect(Path(course) / "gradebook.db") as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def bench_assignment(assignment, n_students, jobs, workdir):
    serial_course = copy_course(Path(workdir) / "serial")
    parallel_course = copy_course(Path(workdir) / "parallel")
    for course in (serial_course, parallel_course):
        run_cli("release", assignment, "--course", course, "--html-dir", Path(workdir) / "html")
    subs = Path(workdir) / "submitted"
    kinds = make_class(serial_course, assignment, n_students, subs)

    times = {}
    for name, course, extra in (("serial", serial_course, []),
                                (f"jobs{jobs}", parallel_course, ["--jobs", str(jobs)])):
        t0 = time.perf_counter()
        run_cli("grade", assignment, subs, "--course", course, *extra, timeout=7200)
        times[name] = time.perf_counter() - t0
    a, b = gradebook_rows(serial_course, assignment), gradebook_rows(parallel_course, assignment)
    identical = a.keys() == b.keys() and all(a[s]["grades"] == b[s]["grades"] for s in a)
    graded = len(a) == n_students
    return {
        "assignment": assignment, "students": n_students, "kinds": kinds,
        "serial_s": times["serial"], "parallel_s": times[f"jobs{jobs}"], "jobs": jobs,
        "serial_per_student_s": times["serial"] / n_students,
        "parallel_over_serial": times[f"jobs{jobs}"] / times["serial"],
        "identical_grades": identical, "every_student_graded": graded,
        "integrity": [integrity(serial_course), integrity(parallel_course)],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--assignment", action="append", choices=ASSIGNMENTS)
    parser.add_argument("--json", default=str(Path(__file__).with_name("bench_grading.json")))
    args = parser.parse_args()

    rows = []
    for assignment in args.assignment or ASSIGNMENTS:
        with tempfile.TemporaryDirectory(prefix=f"bench-grading-{assignment}-") as work:
            row = bench_assignment(assignment, args.students, args.jobs, work)
        rows.append(row)
        print(f"{assignment}: serial {row['serial_s']:.0f} s, --jobs {args.jobs} "
              f"{row['parallel_s']:.0f} s", flush=True)

    header = (f"{'assignment':>18} | {'students':>8} | {'s/student':>9} | {'serial s':>8} | "
              f"{'--jobs ' + str(args.jobs) + ' s':>10} | {'ratio':>5} | same grades | integrity")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['assignment']:>18} | {r['students']:8d} | {r['serial_per_student_s']:9.1f} | "
              f"{r['serial_s']:8.0f} | {r['parallel_s']:10.0f} | {r['parallel_over_serial']:5.2f} | "
              f"{str(r['identical_grades'] and r['every_student_graded']):>11} | "
              f"{'/'.join(r['integrity'])}")
    print("ratio = time with --jobs / serial time, both measured in this run")
    with open(args.json, "w") as fh:
        json.dump({"machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
                   "rows": rows}, fh, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
