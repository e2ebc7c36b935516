"""How long the book takes to build: fresh, and again with nothing changed.

1. A fresh full build into an empty temporary folder: no jupyter-cache, so every notebook of
   ``_toc.yml`` is executed (as on a fresh clone, or in CI).
2. The same command again with nothing changed: the notebooks come from the jupyter-cache and
   Sphinx writes nothing new (a reader's rebuild).

Both run exactly as ``make book`` does (``jupyter-book build -W -n --keep-going``, the
``execute_notebooks: cache`` of ``_config.yml``). It prints the two wall times and the notebooks
from slowest to fastest, with their execution times from the build log and the jupyter-cache's
records, against the budgets of the performance issue (on two cores: a notebook <= 60 s, a
fresh build <= 4 min, an unchanged rebuild <= 30 s), and writes the same as JSON next to this
script. Like ``make book`` it runs with one BLAS thread and the notebooks executed two at a time
(``LSTM_BOOK_JOBS``, see ``_ext/lstm_book.py``), unless the environment says otherwise.

Usage::

    .venv/bin/python benchmarks/bench_book.py [--json benchmarks/bench_book.json] [--keep] [--toc FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOTEBOOK_BUDGET_S = 60
BUILD_BUDGET_S = 240
REBUILD_BUDGET_S = 30
EXECUTED = re.compile(r"(\S+\.ipynb): Executed notebook in ([\d.]+) seconds")
CACHED = re.compile(r"(\S+\.ipynb): Using cached notebook")
#: CPU seconds (user + system) of each build and everything it ran (the kernels included).
CPU_SECONDS: list[float] = []


def build(out: Path, toc: Path | None = None) -> tuple[float, str, int]:
    """Run the book's build into ``out``; return (seconds, log, exit code)."""
    jb = BIN / "jupyter-book"
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", "-W", "-n", "--keep-going",
           "--path-output", str(out)]
    if toc is not None:
        cmd += ["--toc", str(toc.resolve())]
    cmd.append(str(REPO))
    env = dict(os.environ)
    env.pop("LSTM_BOOK_EXECUTE", None)  # the configured mode: cache
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")         # as the Makefile exports it
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SECONDS.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return seconds, f"$ {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}", proc.returncode


def cache_seconds(cache_dir: Path) -> dict[str, float]:
    """Execution seconds per notebook as jupyter-cache recorded them."""
    try:
        from jupyter_cache import get_cache
    except ImportError:
        return {}
    if not cache_dir.is_dir():
        return {}
    out = {}
    for record in get_cache(str(cache_dir)).list_cache_records():
        seconds = (record.data or {}).get("execution_seconds")
        if seconds is not None:
            out[Path(record.uri).name] = float(seconds)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=Path(__file__).with_suffix(".json"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary build folder")
    parser.add_argument("--toc", type=Path, default=None,
                        help="another table of contents (default: the book's _toc.yml)")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    out = Path(tempfile.mkdtemp(prefix="bench_book_"))
    try:
        fresh_s, fresh_log, fresh_rc = build(out, args.toc)
        if fresh_rc != 0:
            print("\n".join(fresh_log.splitlines()[-60:]))
            print(f"the fresh build failed (exit {fresh_rc}) after {fresh_s:.1f} s")
            return 1
        again_s, again_log, again_rc = build(out, args.toc)
        executed = {Path(p).name: float(s) for p, s in EXECUTED.findall(fresh_log)}
        recorded = cache_seconds(out / "_build" / ".jupyter_cache")
        rebuilt_executed = [Path(p).name for p, _ in EXECUTED.findall(again_log)]
        rebuilt_cached = [Path(p).name for p in CACHED.findall(again_log)]
    finally:
        if args.keep:
            print(f"build kept in {out}")
        else:
            shutil.rmtree(out, ignore_errors=True)

    notebooks = sorted(executed, key=lambda n: -executed[n])
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "toc": str(args.toc or "_toc.yml"),
        "load_average_1min_before": round(load_before, 2),
        "fresh_build_s": round(fresh_s, 1),
        "fresh_build_cpu_s": round(CPU_SECONDS[0], 1),
        "rebuild_unchanged_s": round(again_s, 1),
        "rebuild_exit_code": again_rc,
        "rebuild_executed": rebuilt_executed,
        "rebuild_from_cache": len(rebuilt_cached),
        "notebooks_executed": len(executed),
        "notebook_execution_total_s": round(sum(executed.values()), 1),
        "budgets": {"notebook_s": NOTEBOOK_BUDGET_S, "build_s": BUILD_BUDGET_S,
                    "rebuild_s": REBUILD_BUDGET_S},
        "notebooks": [
            {"notebook": n, "log_s": executed[n], "jupyter_cache_s": recorded.get(n),
             "within_budget": executed[n] <= NOTEBOOK_BUDGET_S}
            for n in notebooks
        ],
    }

    print(f"book build on {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {load_before:.2f} before the run (other work slows every number)")
    print(f"{'fresh full build (every notebook executed)':<46} {fresh_s:8.1f} s"
          f"   budget {BUILD_BUDGET_S} s: {'ok' if fresh_s <= BUILD_BUDGET_S else 'OVER'}")
    print(f"{'  CPU time of that build (kernels included)':<46} {CPU_SECONDS[0]:8.1f} s")
    print(f"{'rebuild, nothing changed':<46} {again_s:8.1f} s"
          f"   budget {REBUILD_BUDGET_S} s: {'ok' if again_s <= REBUILD_BUDGET_S else 'OVER'}; "
          f"executed {len(rebuilt_executed)}, from cache {len(rebuilt_cached)}, exit {again_rc}")
    print(f"{'time executing notebooks (sum)':<46} {sum(executed.values()):8.1f} s"
          f"   ({len(executed)} notebooks)")
    print()
    print(f"{'notebook, slowest first':<36} {'log s':>8} {'cache s':>8}  budget {NOTEBOOK_BUDGET_S} s")
    for row in result["notebooks"]:
        cached = "" if row["jupyter_cache_s"] is None else f"{row['jupyter_cache_s']:8.1f}"
        print(f"{row['notebook']:<36} {row['log_s']:8.1f} {cached:>8}  "
              f"{'ok' if row['within_budget'] else 'OVER'}")
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
