"""The sandbox around a student's kernel: bubblewrap, an unprivileged user, resource limits.

Only the kernel is sandboxed. nbgrader and the grading worker run outside it, because they
need the worker's private gradebook (which holds the hidden tests); the student's code runs
inside, where it sees

* read-only: ``/usr``, the Python installation and the virtual environment, and ``lstm_core``
  (what a graded notebook imports, :mod:`lstm_core.testing` included) -- nothing of the grader,
  nothing of the course (not its ``source/``, no gradebook), no other student's submission, not
  the instructor's home;
* read-write: a private working folder (the kernel's current folder, ``$HOME/work``) holding
  copies of the submission's non-notebook files, a fresh ``/tmp`` and ``$HOME`` (memory-backed
  and thrown away), and the folder of the kernel's unix sockets;
* no network (``--unshare-net``: an empty network namespace with a loopback of its own), no
  other process (``--unshare-pid``), a new session (no terminal), a fresh IPC and UTS namespace
  (no user namespace: the kernel's user id is a real, unprivileged one).

The kernel runs as an unprivileged user id (one per concurrent grading slot) with every
capability dropped and ``no_new_privs``, under ``setrlimit`` limits: address space
(``RLIMIT_AS``), CPU seconds (``RLIMIT_CPU``), processes of that user (``RLIMIT_NPROC``), the
size of a file it writes (``RLIMIT_FSIZE``) and open files. cgroups are not needed. The
kernel dies with its bubblewrap parent (``--die-with-parent``), which the grading worker's
watchdog kills, kernel included, at the notebook's wall-clock limit.

Because the kernel has a network namespace of its own, the worker cannot reach it over TCP;
kernel and worker talk over ZeroMQ's ``ipc`` transport (unix sockets) in a folder bound into
the sandbox. jupyter_client's usual ``interrupt_mode="signal"`` would signal the process group
of ``bwrap``, which the kernel has left; the kernel spec uses ``interrupt_mode="message"``
(ipykernel interrupts itself on an ``interrupt_request``).
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .jobs import limit_default

__all__ = ["SandboxError", "SandboxSpec", "find_bwrap", "bwrap_argv", "SandboxKernelManager",
           "prepare_dirs", "readonly_paths", "course_pythonpath", "PASS_ENV"]

#: Environment variables passed from the worker into the sandbox (everything else is cleared).
PASS_ENV = ("NBGRADER_EXECUTION", "TF_CPP_MIN_LOG_LEVEL", "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
            "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "TF_ENABLE_ONEDNN_OPTS",
            "KERAS_BACKEND", "PYTHONHASHSEED", "LANG", "LC_ALL")

#: Where the private working folder appears inside the sandbox.
HOME = "/home/student"
WORK = HOME + "/work"


class SandboxError(RuntimeError):
    """The sandbox cannot be set up (bubblewrap missing, not root, ...)."""


def find_bwrap():
    """The ``bwrap`` executable (``$AUTOGRADER_BWRAP`` if set, else on ``PATH``), or None."""
    if os.environ.get("AUTOGRADER_BWRAP"):
        path = os.environ["AUTOGRADER_BWRAP"]
        return path if os.access(path, os.X_OK) else None
    return shutil.which("bwrap") or (
        "/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK) else None)


@dataclass
class SandboxSpec:
    """Everything that defines one kernel's sandbox.

    The limits' defaults are :class:`autograder.jobs.GradingLimits`'s (the one place they are
    defined); a grading run makes its specs with :meth:`for_kernel` from the assignment's
    :class:`autograder.jobs.Limits`.

    Attributes
    ----------
    work_dir : str
        The host folder bound read-write as the kernel's working folder.
    ipc_dir : str
        The host folder of the kernel's unix sockets and connection file (bound at its own path).
    uid : int
        The unprivileged user id the kernel runs as (``GradingLimits.sandbox_uid`` by default).
    memory_mb, cpu_seconds, max_processes, max_file_mb, max_open_files : int
        ``RLIMIT_AS`` (MiB), ``RLIMIT_CPU`` (s), ``RLIMIT_NPROC``, ``RLIMIT_FSIZE`` (MiB),
        ``RLIMIT_NOFILE``. 0 means no limit.
    readonly : list of str
        Host paths bound read-only at their own paths.
    env : dict
        Extra environment variables.
    """

    work_dir: str
    ipc_dir: str
    uid: int = limit_default("sandbox_uid")
    memory_mb: int = limit_default("memory_mb")
    cpu_seconds: int = limit_default("cpu_seconds")
    max_processes: int = limit_default("max_processes")
    max_file_mb: int = limit_default("max_file_mb")
    max_open_files: int = 256
    readonly: list = field(default_factory=list)
    env: dict = field(default_factory=dict)

    @classmethod
    def for_kernel(cls, work_dir, ipc_dir, uid, limits, readonly=None, env=None):
        """The sandbox of a kernel running as ``uid`` under ``limits``
        (:class:`autograder.jobs.Limits`), with :func:`readonly_paths` by default and the
        extra environment variables ``env``."""
        return cls(work_dir=work_dir, ipc_dir=ipc_dir, uid=uid, **limits.kernel(),
                   readonly=readonly_paths() if readonly is None else list(readonly),
                   env=dict(env or {}))


def readonly_paths():
    """The host paths a student kernel needs, read-only: Python, the packages, lstm_core.

    Returns
    -------
    paths : list of str
        Existing paths, most general first.
    """
    import lstm_core

    paths = ["/usr", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
             "/etc/localtime", "/etc/alternatives", "/etc/ssl/certs", "/etc/fonts",
             os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix,
             str(Path(lstm_core.__file__).resolve().parent)]
    seen, out = set(), []
    for p in paths:
        if p not in seen and os.path.exists(p):
            seen.add(p)
            out.append(p)
    return out


def course_pythonpath():
    """Where the kernel imports ``lstm_core`` from: the folder holding the very copy the grader
    imported (bound read-only by :func:`readonly_paths`), whatever an
    editable install elsewhere would point the kernel's ``sys.path`` at.

    Returns
    -------
    pythonpath : str
        For ``PYTHONPATH``.
    """
    import lstm_core

    return str(Path(lstm_core.__file__).resolve().parent.parent)


def bwrap_argv(spec, command, bwrap=None):
    """The command line that runs ``command`` in the sandbox ``spec``.

    Parameters
    ----------
    spec : SandboxSpec
    command : list of str
        What to run inside (for a kernel: ``python -m ipykernel_launcher -f CONNECTION``).
    bwrap : str, optional
        The bubblewrap executable (found on ``PATH`` by default).

    Returns
    -------
    argv : list of str
    """
    bwrap = bwrap or find_bwrap()
    if not bwrap:
        raise SandboxError("bubblewrap (bwrap) is not installed")
    # bwrap, run by root, drops every capability of what it starts except those added here:
    # setpriv needs them to switch to the unprivileged user, then drops all of them.
    argv = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session",
            "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP",
            "--clearenv", "--tmpfs", "/", "--perms", "1777", "--tmpfs", "/tmp",
            "--proc", "/proc", "--dev", "/dev", "--perms", "0755", "--dir", "/home",
            "--perms", "1777", "--tmpfs", HOME]
    for name in ("lib", "lib64", "bin", "sbin"):
        if os.path.islink(f"/{name}"):
            argv += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
    made = {"/", "/tmp", "/proc", "/dev", "/home", HOME}
    for path in [*spec.readonly, spec.ipc_dir]:
        # bwrap would make the missing parents private (0700): make them traversable
        for parent in reversed(Path(path).parents):
            if str(parent) not in made and not os.path.islink(str(parent)):
                made.add(str(parent))
                argv += ["--perms", "0755", "--dir", str(parent)]
    for path in spec.readonly:
        argv += ["--ro-bind", path, path]
    argv += ["--bind", spec.work_dir, WORK, "--bind", spec.ipc_dir, spec.ipc_dir,
             "--remount-ro", "/", "--chdir", WORK]
    env = {"PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
           "HOME": HOME, "USER": "student", "LOGNAME": "student", "TMPDIR": "/tmp",
           "MPLCONFIGDIR": "/tmp/matplotlib", "MPLBACKEND": "Agg", "PYTHONNOUSERSITE": "1",
           "KERAS_HOME": HOME + "/.keras", "PYTHONPATH": course_pythonpath()}
    env.update({k: os.environ[k] for k in PASS_ENV if k in os.environ})
    env.update(spec.env)
    for k, v in env.items():
        argv += ["--setenv", k, str(v)]
    argv += ["--"]
    limits = [("--as", spec.memory_mb * 2**20), ("--cpu", spec.cpu_seconds),
              ("--nproc", spec.max_processes), ("--fsize", spec.max_file_mb * 2**20),
              ("--nofile", spec.max_open_files)]
    argv += ["/usr/bin/prlimit"] + [f"{flag}={int(v)}" for flag, v in limits if v]
    argv += ["/usr/bin/setpriv", f"--reuid={spec.uid}", f"--regid={spec.uid}", "--clear-groups",
             "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    return argv + list(command)


def prepare_dirs(root, uid):
    """Make the working and socket folders of one kernel, owned by the sandbox's user.

    Parameters
    ----------
    root : path-like
        A private folder of the worker (created if missing).
    uid : int

    Returns
    -------
    work_dir, ipc_dir : str
        ``ipc_dir`` is short (unix socket paths are limited to 107 bytes): a new folder in
        ``/tmp``; remove it when done.
    """
    work = Path(root) / "kernel-work"
    work.mkdir(parents=True, exist_ok=True)
    ipc = tempfile.mkdtemp(prefix="agk-", dir="/tmp")
    for p in [work, *work.rglob("*"), Path(ipc)]:
        os.chown(p, uid, uid, follow_symlinks=False)
    os.chmod(ipc, 0o700)
    os.chmod(work, 0o755)
    return str(work), ipc


def check_can_sandbox():
    """Raise :class:`SandboxError` unless kernels can be sandboxed here (bwrap, root)."""
    if not find_bwrap():
        raise SandboxError("bubblewrap (bwrap) is not installed")
    for tool in ("/usr/bin/prlimit", "/usr/bin/setpriv"):
        if not os.access(tool, os.X_OK):
            raise SandboxError(f"{tool} (util-linux) is missing")
    if os.geteuid() != 0:
        raise SandboxError("the sandbox switches the kernel to an unprivileged user, which "
                           "needs root")
    problem = _probe(find_bwrap())
    if problem:
        raise SandboxError(f"bubblewrap cannot build the sandbox here: {problem}")


@functools.cache
def _probe(bwrap):
    """Run ``true`` in a sandbox (once per process and ``bwrap``); return why it failed, or None."""
    import subprocess

    root, ipc = tempfile.mkdtemp(prefix="agk-probe-"), None
    try:
        work, ipc = prepare_dirs(root, SandboxSpec.uid)
        spec = SandboxSpec(work_dir=work, ipc_dir=ipc, readonly=readonly_paths())
        proc = subprocess.run(bwrap_argv(spec, ["/bin/sh", "-c", "true"], bwrap=bwrap),
                              capture_output=True, text=True, timeout=30)
        return None if proc.returncode == 0 else (
            proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if ipc:
            shutil.rmtree(ipc, ignore_errors=True)


# ------------------------------------------------------------------------- the kernel manager
from jupyter_client.kernelspec import KernelSpec  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts ipykernel inside the sandbox, over unix sockets.

    Set ``sandbox`` (a :class:`SandboxSpec`) before starting; the kernel name of the notebook
    is ignored (a student cannot choose another kernel).
    """

    sandbox = None

    def __init__(self, *args, **kwargs):
        kwargs.pop("kernel_name", None)
        super().__init__(*args, kernel_name="python3", **kwargs)

    def configure_sandbox(self, spec):
        self.sandbox = spec
        self.transport = "ipc"
        self.ip = os.path.join(spec.ipc_dir, "k")
        self.connection_file = os.path.join(spec.ipc_dir, "kernel.json")
        inner = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        self._kernel_spec = KernelSpec(
            argv=bwrap_argv(spec, inner), display_name="Python 3 (sandboxed)",
            language="python", interrupt_mode="message", env={}, metadata={})

    @property
    def kernel_spec(self):
        if self._kernel_spec is None:
            raise SandboxError("SandboxKernelManager.configure_sandbox was not called")
        return self._kernel_spec

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self.sandbox is not None and os.path.exists(self.connection_file):
            os.chown(self.connection_file, self.sandbox.uid, self.sandbox.uid)
