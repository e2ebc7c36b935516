"""The grader's nbgrader preprocessors: ``Execute`` in the sandbox with capped output, and
``DeduplicateIds`` that keeps the reason.

nbgrader's ``Autograde`` instantiates its preprocessors itself, from the classes in its
``sanitize_preprocessors`` and ``autograde_preprocessors`` lists, once per notebook. So these
classes are configured as nbgrader's are, through traits set in the run's config
(``c.GuardedExecute.sandbox``...), and what they observe during a run goes into an
:class:`ExecutionRecord` that the worker makes for that run and binds to a subclass made for it
(:meth:`Recording.recording`): the state belongs to the run, never to the class.

:class:`GuardedExecute` replaces nbgrader's ``Execute``:

* with ``sandbox`` set, the kernel is started by :class:`autograder.sandbox.SandboxKernelManager`
  (bubblewrap, limits, unix sockets), whatever kernel the notebook names;
* the output a cell may keep is capped (``max_output_chars``) *while it arrives*: a cell that
  prints 20 MB, or prints forever until its time limit, costs the grader no more memory than the
  cap, and neither the gradebook nor the feedback ever holds more. A note in the cell's output
  says what was cut;
* every cell's wall-clock time is measured here, outside the kernel, and after the cell named by
  ``export`` the kernel is asked to save data for the outside check (:mod:`autograder.verify`:
  lstm-keras's trained weights) as plain ``.npy`` files.

:class:`DeduplicateIdsKeepingReasons` replaces nbgrader's ``DeduplicateIds``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from nbclient.util import ensure_async, run_sync
from nbformat.v4 import new_output
from nbgrader.preprocessors import DeduplicateIds, Execute
from traitlets import Instance, Integer

from .jobs import GradingLimits, limit_default
from .reasons import TRUNCATED_NOTE
from .sandbox import SandboxKernelManager, SandboxSpec

__all__ = ["ExecutionRecord", "ExportPlan", "GuardedExecute", "DeduplicateIdsKeepingReasons",
           "TRUNCATED_NOTE"]


@dataclass
class ExecutionRecord:
    """What the grader's preprocessors observed during one autograde run.

    Attributes
    ----------
    current_cell : str or int or None
        The cell being executed (its grade_id, or its index), None between cells: when the
        kernel dies or hangs, the worker learns from it which cell did it.
    cell_seconds : dict
        Wall-clock seconds of each executed cell (grade_id or index), by the grader's clock.
    export_dir : str or None
        The host folder the last export wrote into (None until one ran).
    duplicates : dict of str to list of str
        Notebook name to the grade_ids that had copies (only the last copy was graded).
    """

    current_cell: str | int | None = None
    cell_seconds: dict = field(default_factory=dict)
    export_dir: str | None = None
    duplicates: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ExportPlan:
    """After the cell ``after``, run ``code`` in the kernel, its ``__EXPORT_FOLDER__`` replaced
    by a fresh folder under ``kernel_dir`` (the folder ``host_dir`` as the kernel sees it)."""

    after: str
    code: str
    host_dir: str
    kernel_dir: str


class Recording:
    """A preprocessor whose observations go into an :class:`ExecutionRecord`: the one bound to
    the class by :meth:`recording` (shared by the instances nbgrader makes during one run), or a
    record of its own."""

    record = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.record = type(self).record if type(self).record is not None else ExecutionRecord()

    @classmethod
    def recording(cls, record):
        """A subclass of ``cls`` whose instances write into ``record`` (one per run)."""
        return type(cls.__name__, (cls,), {"record": record, "__module__": cls.__module__,
                                          "__doc__": cls.__doc__})


class GuardedExecute(Recording, Execute):
    """nbgrader's ``Execute`` with a sandboxed kernel, a cap on each cell's output, the grader's
    own clock and the outside check's export."""

    sandbox = Instance(
        SandboxSpec, allow_none=True,
        help="The sandbox of the kernel (autograder.sandbox.SandboxSpec); None runs it plainly.",
    ).tag(config=True)

    max_output_chars = Integer(
        limit_default("max_output_chars"),
        help=GradingLimits.class_traits()["max_output_chars"].help + " 0 keeps everything.",
    ).tag(config=True)

    export = Instance(
        ExportPlan, allow_none=True,
        help="Data the kernel saves for the outside check, after one cell (an ExportPlan).",
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.sandbox is not None:
            self.kernel_manager_class = SandboxKernelManager
        self._output_used = {}

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        name = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or cell_index
        self.record.current_cell = name
        started = time.monotonic()
        result = await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        self.record.cell_seconds[name] = time.monotonic() - started
        if self.export is not None and name == self.export.after and cell.cell_type == "code":
            await self._export()              # a kernel that dies here is blamed on this cell
        self.record.current_cell = None
        return result

    async def _export(self, timeout=30):
        """Ask the kernel to run the export code into a folder no earlier cell could know."""
        folder = f".autograder-export-{uuid.uuid4().hex}"
        code = self.export.code.replace("__EXPORT_FOLDER__",
                                        repr(f"{self.export.kernel_dir}/{folder}"))
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        try:
            reply = await asyncio.wait_for(self.async_wait_for_reply(msg_id), timeout)
        except asyncio.TimeoutError:
            await ensure_async(self.km.interrupt_kernel())
            reply = None
        if reply and reply.get("content", {}).get("status") == "ok":
            self.record.export_dir = str(Path(self.export.host_dir) / folder)

    execute_cell = run_sync(async_execute_cell)     # nbclient binds its own at class creation

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if self.sandbox is not None:
            km.configure_sandbox(self.sandbox)
        return km

    def output(self, outs, msg, display_id, cell_index):
        if msg.get("msg_type") == "error":             # always kept (it explains the failure),
            c = msg.get("content", {})                  # but short
            msg = dict(msg, content=dict(c, evalue=str(c.get("evalue", ""))[:2000],
                                         traceback=[str(t)[:2000] for t in c.get("traceback", [])[-40:]]))
            return super().output(outs, msg, display_id, cell_index)
        if self.max_output_chars and msg.get("msg_type") in ("stream", "display_data",
                                                             "execute_result"):
            return self._capped_output(outs, msg, display_id, cell_index)
        return super().output(outs, msg, display_id, cell_index)

    def _capped_output(self, outs, msg, display_id, cell_index):
        cap = self.max_output_chars
        used = self._output_used.get(cell_index, 0)
        size = len(json.dumps(msg.get("content", {}), default=str))
        self._output_used[cell_index] = used + size
        if used >= cap:
            return None
        if used + size <= cap:
            return super().output(outs, msg, display_id, cell_index)
        out = None
        if msg["msg_type"] == "stream":
            room = max(cap - used, 0)
            msg = dict(msg, content=dict(msg["content"], text=msg["content"]["text"][:room]))
            out = super().output(outs, msg, display_id, cell_index)
        outs.append(new_output("stream", name="stdout", text=(
            f"\n{TRUNCATED_NOTE} {cap:,} characters; the rest was discarded]\n")))
        return out


class DeduplicateIdsKeepingReasons(Recording, DeduplicateIds):
    """nbgrader's ``DeduplicateIds`` (of cells sharing a grade_id, only the last is graded; the
    others become ordinary cells), which records the ids that had copies, for the reason, and
    removes the copies' ``nbgrader`` metadata instead of leaving it empty: nbgrader 0.9 leaves
    ``{}``, on which ``OverwriteCells`` with ``add_missing_cells`` fails (``KeyError:
    'grade_id'``) and the whole notebook with it."""

    def preprocess_cell(self, cell, resources, cell_index):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if gid is not None and cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
            notebook = resources.get("nbgrader", {}).get("notebook")
            ids = self.record.duplicates.setdefault(notebook, [])
            if gid not in ids:
                ids.append(gid)
        return cell, resources
