"""The sandbox of a student's kernel, checked directly (seconds): what it sees, what it may do.

The end-to-end attacks through ``grade`` are in ``test_autograder_hostile.py``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from autograder.course import Course, GradingLimits  # noqa: E402
from autograder.sandbox import (  # noqa: E402
    HOME, SandboxError, SandboxKernelManager, SandboxSpec, bwrap_argv, check_can_sandbox,
    prepare_dirs, readonly_paths,
)

try:
    check_can_sandbox()
    NO_SANDBOX = None
except SandboxError as exc:
    NO_SANDBOX = str(exc)
# never skipped in CI: there a missing sandbox fails the tests
needs_sandbox = pytest.mark.skipif(NO_SANDBOX is not None and not os.environ.get("CI"),
                                   reason=f"no sandbox here: {NO_SANDBOX}")


def test_limits_come_from_the_config_per_assignment_and_the_command_line():
    limits = Course().limits()
    assert limits.sandbox is True
    numpy = limits.for_assignment("lstm-from-scratch")
    keras = limits.for_assignment("lstm-keras")
    assert numpy.memory_mb == 2048 and keras.memory_mb == 4096
    assert limits.for_assignment("lstm-keras", memory_mb=5000, cpu_seconds=None).memory_mb == 5000
    assert limits.for_assignment("lstm-keras", cpu_seconds=None).cpu_seconds == limits.cpu_seconds
    with pytest.raises(ValueError):
        GradingLimits(per_assignment={"x": {"bogus": 1}}).for_assignment("x")


def test_the_sandbox_command_line(tmp_path):
    spec = SandboxSpec(work_dir=str(tmp_path), ipc_dir="/tmp/agk-x", readonly=readonly_paths(),
                       memory_mb=1000, cpu_seconds=7, max_processes=9, max_file_mb=3)
    argv = bwrap_argv(spec, ["python", "-c", "pass"], bwrap="/usr/bin/bwrap")
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in argv
    assert "--unshare-user" not in argv and "--unshare-all" not in argv
    binds = [argv[k + 1] for k, a in enumerate(argv) if a in ("--ro-bind", "--bind")]
    forbidden = [str(REPO / "course"), str(REPO / "autograder")]
    assert not any(b in forbidden or b.startswith(tuple(f + "/" for f in forbidden))
                   or b.endswith("gradebook.db") or b == str(REPO) for b in binds), binds
    assert f"--as={1000 * 2**20}" in argv and "--cpu=7" in argv and "--nproc=9" in argv
    assert f"--fsize={3 * 2**20}" in argv
    assert argv[argv.index("--chdir") + 1] == HOME + "/work"
    k = argv.index("/usr/bin/setpriv")
    assert "--no-new-privs" in argv[k:] and argv[-3:] == ["python", "-c", "pass"]


def _run_inside(tmp_path, code, **limits):
    spec = SandboxSpec(work_dir="", ipc_dir="", readonly=readonly_paths(), **limits)
    spec.work_dir, spec.ipc_dir = prepare_dirs(tmp_path, spec.uid)
    try:
        return subprocess.run(bwrap_argv(spec, [sys.executable, "-c", textwrap.dedent(code)]),
                              capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(spec.ipc_dir, ignore_errors=True)


@needs_sandbox
def test_inside_the_sandbox(tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text("here")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    proc = _run_inside(tmp_path / "box", f"""
        import os, socket, numpy, lstm_core, lstm_core.testing
        print("uid", os.getuid(), os.getgid())
        print("imports", lstm_core.__file__, lstm_core.testing.__file__)
        try:
            import autograder
            print("grader importable", autograder.__file__)
        except ImportError:
            print("no grader")
        s = socket.socket(); s.settimeout(2)
        print("net", s.connect_ex(("127.0.0.1", {port})))
        for p in ["{REPO / 'course' / 'source'}", "{REPO / 'course' / 'nbgrader_config.py'}",
                  "{canary}", "{REPO / 'course' / 'gradebook.db'}", "{REPO / 'autograder'}", "/root/.bash_history",
                  "/work/main/.git", "/root/.ssh"]:
            print("sees", p, os.path.exists(p))
        for p in ["/usr/x", "{REPO / 'lstm_core' / 'x'}", "/etc/x"]:
            try:
                open(p, "w"); print("wrote", p)
            except OSError as e:
                print("cannot write", p)
        print("home of root", os.listdir("/root"))   # only the Python installation is there
        open("mine.txt", "w").write("ok"); open("/tmp/t", "w").write("ok")
        print("cwd", os.getcwd(), sorted(os.listdir(".")))
        try:
            numpy.ones(2**29)                      # 4 GiB against 1 GiB
            print("allocated")
        except MemoryError:
            print("MemoryError")
        try:
            open("big", "wb").write(b"x" * 3 * 2**20)
            print("big file written")
        except OSError as e:
            print("file too large", e.errno)
    """, memory_mb=1024, max_file_mb=2)
    out = proc.stdout
    try:
        server.accept()
        reached = True
    except OSError:
        reached = False
    server.close()
    assert not reached and "net 0" not in out, out + proc.stderr
    assert "uid 61000 61000" in out, out + proc.stderr
    # the kernel imports the grader's own copies, wherever an editable install points
    assert f"imports {REPO / 'lstm_core' / '__init__.py'} {REPO / 'lstm_core' / 'testing.py'}" in out, out
    assert "no grader" in out, out      # nothing of the grader reaches a student's kernel
    assert "sees" in out and " True" not in "".join(line for line in out.splitlines() if line.startswith("sees"))
    assert out.count("cannot write") == 3
    home = [line for line in out.splitlines() if line.startswith("home of root")][0]
    assert home in ("home of root []", "home of root ['.pyenv']"), home
    assert f"cwd {HOME}/work" in out and "mine.txt" in out
    assert "MemoryError" in out and "allocated" not in out
    assert "file too large" in out and "big file written" not in out
    assert canary.read_text() == "here"


@needs_sandbox
def test_a_fork_bomb_and_a_cpu_hog_are_stopped(tmp_path):
    started = time.monotonic()
    proc = _run_inside(tmp_path / "a", """
        import os
        n = 0
        try:
            for _ in range(200):
                if os.fork() == 0:
                    import time; time.sleep(5); os._exit(0)
                n += 1
        except OSError:
            pass
        print("forked", n)
    """, max_processes=20)
    assert "forked" in proc.stdout
    assert int(proc.stdout.split()[-1]) < 20
    proc = _run_inside(tmp_path / "b", "while True: pass", cpu_seconds=2)
    assert proc.returncode != 0 and time.monotonic() - started < 30


@needs_sandbox
def test_a_sandboxed_kernel_runs_and_can_be_interrupted(tmp_path):
    async def main():
        spec = SandboxSpec(work_dir="", ipc_dir="", readonly=readonly_paths())
        spec.work_dir, spec.ipc_dir = prepare_dirs(tmp_path, spec.uid)
        km = SandboxKernelManager(kernel_name="bash")        # the name is ignored
        km.configure_sandbox(spec)
        await km.start_kernel(extra_arguments=["--IPKernelApp.log_level=ERROR"])
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            reply = await kc.execute_interactive("import os; print(os.getuid())", timeout=30)
            assert reply["content"]["status"] == "ok"
            msg_id = kc.execute("import time; time.sleep(60)")
            await asyncio.sleep(1)
            t = time.monotonic()
            await km.interrupt_kernel()
            while True:
                msg = await kc.get_shell_msg(timeout=20)
                if msg["parent_header"].get("msg_id") == msg_id:
                    break
            assert msg["content"]["status"] == "error" and msg["content"]["ename"] == "KeyboardInterrupt"
            assert time.monotonic() - t < 10
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
            shutil.rmtree(spec.ipc_dir, ignore_errors=True)
    asyncio.run(main())


def test_grade_help_shows_the_sandbox_options():
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    for option in ("--no-sandbox", "--memory-mb", "--cpu-seconds", "--max-processes",
                   "--max-file-mb", "--max-output-chars"):
        assert option in proc.stdout
