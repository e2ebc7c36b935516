"""What one student costs on the class hub: memory and CPU of a server idle and running each
graded notebook, and grading through the hub (needs root: it makes Unix users).

    sudo .venv/bin/python benchmarks/bench_hub.py [--idle-seconds 30] [--assignments A ...]

A class of one student and one instructor is made on a hub on 127.0.0.1 exactly as
``tests/test_hub.py`` makes it (``deploy/jupyterhub``). The student's server is started through
the hub; every process of the student's Unix user (the server, and a kernel while one runs) is
sampled every 0.25 s with psutil: resident memory (RSS), proportional set size (PSS, shared
pages split among the processes that map them) and CPU seconds. Idle: the server after it
started, no kernel, for ``--idle-seconds``, first with no browser, then with JupyterLab open in
headless Chromium, after its page has loaded (the browser's own CPU is not counted). Running: the student's solution of each assignment,
every code cell run in one kernel through the server's websocket as JupyterLab runs it.
Then the instructor collects and grades the submission with ``hubctl.py``'s steps
(``python -m autograder grade``, sandboxed), one student per run: the grader's own "graded in"
time, start-up included. Prints a table and writes ``bench_hub.json`` beside itself; the
class's whole footprint is removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import re
import shutil
import sys
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from hub_helpers import answers_for, filled, make_class  # noqa: E402

import lifecycle  # noqa: E402
import term  # noqa: E402
import unixusers  # noqa: E402

ASSIGNMENTS = ("lesson-exercises", "lstm-from-scratch", "lstm-keras")
MIB = 1024 * 1024


class Sampler(threading.Thread):
    """Samples every process of one Unix user: peak RSS and PSS sums, CPU seconds used."""

    def __init__(self, uid: int, period: float = 0.25):
        super().__init__(daemon=True)
        self.uid, self.period = uid, period
        self.peak_rss = self.peak_pss = 0
        self.first_cpu: dict[int, float] = {}
        self.last_cpu: dict[int, float] = {}
        self.halt = threading.Event()

    def sample(self) -> None:
        rss = pss = 0
        for proc in psutil.process_iter(["uids"]):
            if not proc.info["uids"] or proc.info["uids"].real != self.uid:
                continue
            try:
                mem = proc.memory_full_info()
                times = proc.cpu_times()
            except psutil.Error:
                continue
            rss, pss = rss + mem.rss, pss + mem.pss
            cpu = times.user + times.system + times.children_user + times.children_system
            self.first_cpu.setdefault(proc.pid, cpu)
            self.last_cpu[proc.pid] = cpu
        self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)

    def run(self) -> None:
        while not self.halt.is_set():
            self.sample()
            time.sleep(self.period)

    def stop(self) -> dict:
        self.halt.set()
        self.join()
        self.sample()
        cpu = sum(self.last_cpu[p] - self.first_cpu[p] for p in self.last_cpu)
        return {"peak_rss_mib": self.peak_rss / MIB, "peak_pss_mib": self.peak_pss / MIB,
                "cpu_s": cpu}


def measure(uid: int, action) -> dict:
    """Run ``action()`` while sampling ``uid``'s processes; add its wall seconds."""
    sampler = Sampler(uid)
    sampler.start()
    start = time.perf_counter()
    try:
        action()
    finally:
        result = sampler.stop()
    result["wall_s"] = time.perf_counter() - start
    return result


@contextlib.contextmanager
def lab_open(hub, short: str):
    """JupyterLab open as ``short`` in headless Chromium (logged in, the page loaded)."""
    import tempfile

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='bench-hub-chromium-')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        name = hub.name(short)
        driver.get(f"{hub.settings.url}/hub/login")
        driver.find_element(By.ID, "username_input").send_keys(name)
        driver.find_element(By.ID, "password_input").send_keys(hub.passwords[name])
        driver.find_element(By.ID, "login_submit").click()
        WebDriverWait(driver, 120).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item"))
        time.sleep(5)  # the page's start-up requests are over
        yield driver
    finally:
        driver.quit()


def code_cells(notebook: dict) -> list[str]:
    return [c["source"] if isinstance(c["source"], str) else "".join(c["source"])
            for c in notebook["cells"] if c["cell_type"] == "code"]


def run_assignment(hub, user, name: str, uid: int) -> dict:
    """Fetch, fill with the solution, run every code cell, submit; the run measured."""
    settings = hub.settings
    user.assignment_action("fetch", settings.course_id, name)
    path = f"{name}/{name}.ipynb"
    notebook = filled(user.read(path)["content"],
                      answers_for("solution", settings.course, name, user.name))
    user.write_notebook(path, notebook)
    row = measure(uid, lambda: user.run_cells(code_cells(notebook), timeout=900))
    user.assignment_action("submit", settings.course_id, name)
    return row


def grade_seconds(hub, name: str) -> float:
    term.collect(hub.settings, name)
    out = term.grade(hub.settings, name)
    found = re.search(r"graded in ([0-9.]+) s", out)
    if not found or "0 could not be graded" not in out:
        raise RuntimeError(f"grading {name} went wrong:\n{out}")
    return float(found.group(1))


def bench(assignments, idle_seconds: float) -> dict:
    hub = make_class(["alice"], course_id="lstm-hub-bench")
    settings = hub.settings
    results = {"machine": {"cpus": psutil.cpu_count(), "mem_gib": psutil.virtual_memory().total / 2**30,
                           "python": platform.python_version(), "load_before": psutil.getloadavg()},
               "assignments": {}}
    try:
        lifecycle.prepare(settings, hub.passwords)
        lifecycle.start(settings)
        term.release(settings, list(assignments))
        alice = hub.user("alice")
        uid = unixusers.uid_of(alice.name)
        results["server_start"] = measure(uid, alice.start_server)
        results["idle"] = measure(uid, lambda: time.sleep(idle_seconds))
        with lab_open(hub, "alice"):
            results["idle_lab_open"] = measure(uid, lambda: time.sleep(idle_seconds))
        hub_proc = lifecycle.hub_process(settings)
        own = [hub_proc, *hub_proc.children(recursive=True)]
        results["hub_rss_mib"] = sum(p.memory_info().rss for p in own
                                     if p.uids().real != uid) / MIB
        for name in assignments:
            row = run_assignment(hub, alice, name, uid)
            row["grade_s"] = grade_seconds(hub, name)
            results["assignments"][name] = row
        results["load_after"] = psutil.getloadavg()
    finally:
        lifecycle.stop(settings)
        lifecycle.remove(settings)
        unixusers.remove_group(settings.unix_group)
        shutil.rmtree(hub.root, ignore_errors=True)
    return results


def report(results: dict) -> str:
    lines = ["| what | wall s | CPU s | peak RSS MiB | peak PSS MiB | grading s (1 student) |",
             "|---|---|---|---|---|---|"]

    def row(label, r, grade=""):
        lines.append(f"| {label} | {r['wall_s']:.1f} | {r['cpu_s']:.2f} | {r['peak_rss_mib']:.0f} "
                     f"| {r['peak_pss_mib']:.0f} | {grade} |")

    row("server start (through the hub)", results["server_start"])
    row("server idle, no browser", results["idle"])
    row("server idle, JupyterLab open in a browser", results["idle_lab_open"])
    for name, r in results["assignments"].items():
        row(f"running {name}", r, f"{r['grade_s']:.1f}")
    for key in ("idle", "idle_lab_open"):
        idle = results[key]
        lines.append(f"{key}: {100 * idle['cpu_s'] / idle['wall_s']:.2f}% of one core over "
                     f"{idle['wall_s']:.0f} s")
    lines.append(f"the hub itself (JupyterHub + proxy): {results['hub_rss_mib']:.0f} MiB RSS; "
                 f"load average before {results['machine']['load_before'][0]:.2f}, "
                 f"after {results['load_after'][0]:.2f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--assignments", nargs="+", default=list(ASSIGNMENTS))
    args = parser.parse_args(argv)
    results = bench(args.assignments, args.idle_seconds)
    (HERE / "bench_hub.json").write_text(json.dumps(results, indent=2))
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
