"""Grading a whole class: serial against ``--jobs N``, per assignment, in one run.

For each assignment it makes a class of submissions from the instructor's source
(half the solution, a quarter the blank release, a quarter the solution with one
function left blank — partly wrong) and copies the course twice. The class is
cut into ``--batches`` batches (8 students each for 40 and 5); each batch is
graded with ``python -m autograder grade`` serially into one copy and with
``--jobs N`` into the other, back to back, the order alternating from batch to
batch, so that both contenders see the same machine. The time that counts is the
command's own "graded in" (first student started to last one merged); the
start-up of a run (imports, the gradebook's backup) is measured apart, as a
class graded in one run pays it once. It reports the median over the batches of
the ratio ``--jobs N / serial``, the whole class's ratio with one start-up, the
seconds per student of the serial runs, and checks that the grades are right
(solutions full marks, blanks zero), identical in the two gradebooks, and that
both pass SQLite's integrity check.

Usage::

    .venv/bin/python benchmarks/bench_grading.py [--students 40] [--batches 5] [--jobs 2]
        [--assignment lesson-exercises ...] [--json benchmarks/bench_grading.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
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


def bench_assignment(assignment, n_students, batches, jobs, workdir):
    serial_course = copy_course(Path(workdir) / "serial")
    parallel_course = copy_course(Path(workdir) / "parallel")
    for course in (serial_course, parallel_course):
        run_cli("release", assignment, "--course", course, "--html-dir", Path(workdir) / "html")
    subs = Path(workdir) / "submitted"
    kinds = make_class(serial_course, assignment, n_students, subs)
    students = sorted(kinds)

    runs = []                                        # per batch: {"serial": s, "jobsN": s}
    for k in range(batches):
        batch = Path(workdir) / f"batch{k}"
        for student in students[k::batches]:
            shutil.copytree(subs / student, batch / student)
        order = [("serial", serial_course, []),
                 (f"jobs{jobs}", parallel_course, ["--jobs", str(jobs)])]
        times = {}
        for name, course, extra in (order if k % 2 == 0 else order[::-1]):
            t0 = time.perf_counter()
            proc = run_cli("grade", assignment, batch, "--course", course, *extra, timeout=7200)
            wall = time.perf_counter() - t0
            # the command's own count: from the first student started to the last merged
            graded = float(re.search(r"student\(s\) graded in ([\d.]+) s", proc.stdout).group(1))
            times[name] = {"wall": wall, "grading": graded, "startup": wall - graded}
        runs.append(times)
        print(f"  {assignment} batch {k + 1}/{batches}: grading serial "
              f"{times['serial']['grading']:.0f} s, --jobs {jobs} {times[f'jobs{jobs}']['grading']:.0f} s"
              f" (start-up of a run {times['serial']['startup']:.1f} s)", flush=True)
    a, b = gradebook_rows(serial_course, assignment), gradebook_rows(parallel_course, assignment)
    identical = a.keys() == b.keys() and all(a[s]["grades"] == b[s]["grades"] for s in a)
    graded = len(a) == n_students
    # a class graded fast but wrong proves nothing: the solutions score full marks, the blanks
    # zero, the partial ones (one answer left blank, perhaps a written one) more than zero
    right = all({"solution": r["code"] == r["max_code"], "blank": r["code"] == 0,
                 "partial": 0 < r["code"] <= r["max_code"]}[kinds[s]] for s, r in a.items())
    par = f"jobs{jobs}"
    serial = sum(r["serial"]["grading"] for r in runs)
    parallel = sum(r[par]["grading"] for r in runs)
    startup = statistics.median(r[m]["startup"] for r in runs for m in ("serial", par))
    return {
        "assignment": assignment, "students": n_students, "batches": batches, "kinds": kinds,
        "runs": runs, "serial_grading_s": serial, "parallel_grading_s": parallel, "jobs": jobs,
        "startup_s": startup,
        "serial_per_student_s": serial / n_students,
        "parallel_per_student_s": parallel / n_students,
        "parallel_over_serial": statistics.median(r[par]["grading"] / r["serial"]["grading"]
                                                  for r in runs),
        "class_parallel_over_serial": (startup + parallel) / (startup + serial),
        "identical_grades": identical, "every_student_graded": graded, "grades_right": right,
        "integrity": [integrity(serial_course), integrity(parallel_course)],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--assignment", action="append", choices=ASSIGNMENTS)
    parser.add_argument("--json", default=str(Path(__file__).with_name("bench_grading.json")))
    args = parser.parse_args()

    rows = []
    for assignment in args.assignment or ASSIGNMENTS:
        with tempfile.TemporaryDirectory(prefix=f"bench-grading-{assignment}-") as work:
            row = bench_assignment(assignment, args.students, args.batches, args.jobs, work)
        rows.append(row)
        print(f"{assignment}: grading serial {row['serial_grading_s']:.0f} s, --jobs {args.jobs} "
              f"{row['parallel_grading_s']:.0f} s", flush=True)

    header = (f"{'assignment':>18} | {'students':>8} | {'s/student':>9} | {'serial s':>8} | "
              f"{'--jobs ' + str(args.jobs) + ' s':>10} | {'ratio':>5} | {'class':>5} | "
              f"same grades | right | integrity")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['assignment']:>18} | {r['students']:8d} | {r['serial_per_student_s']:9.1f} | "
              f"{r['serial_grading_s']:8.0f} | {r['parallel_grading_s']:10.0f} | "
              f"{r['parallel_over_serial']:5.2f} | {r['class_parallel_over_serial']:5.2f} | "
              f"{str(r['identical_grades'] and r['every_student_graded']):>11} | "
              f"{str(r['grades_right']):>5} | {'/'.join(r['integrity'])}")
    print(f"grading time: from the first student started to the last one merged (the command's own "
          f"count), summed over the batches; s/student: serial.\nratio: median over "
          f"{args.batches} batches of the --jobs {args.jobs} grading time / the serial one of the "
          f"same batch, measured back to back.\nclass: the whole class graded in one run, "
          f"(start-up + --jobs {args.jobs} grading) / (start-up + serial grading), with the median "
          f"start-up of a run (imports, gradebook backup, template) measured here")
    with open(args.json, "w") as fh:
        json.dump({"machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
                   "rows": rows}, fh, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
