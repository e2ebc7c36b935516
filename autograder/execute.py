"""nbgrader's ``Execute`` preprocessor, with the student's kernel in the sandbox and a cap on output.

:class:`GuardedExecute` replaces nbgrader's ``Execute`` in the worker's ``Autograde``:

* when :attr:`GuardedExecute.sandbox_spec` is set, the kernel is started by
  :class:`autograder.sandbox.SandboxKernelManager` (bubblewrap, limits, unix sockets), whatever
  kernel the notebook names;
* the output a cell may keep is capped (``GradingLimits.max_output_chars``) *while it arrives*:
  a cell that prints 20 MB, or prints forever until its time limit, costs the grader no more
  memory than the cap, and neither the gradebook nor the feedback ever holds more. A note in
  the cell's output says what was cut;
* every cell's wall-clock time is measured here, outside the kernel (:attr:`cell_seconds`), and
  after the cell named by :attr:`export` the kernel is asked to save data for the outside check
  (:mod:`autograder.verify`: lstm-keras's trained weights) as plain ``.npy`` files.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

from nbclient.util import ensure_async, run_sync
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute

__all__ = ["GuardedExecute", "TRUNCATED_NOTE"]

from .reasons import TRUNCATED_NOTE


class GuardedExecute(Execute):
    """nbgrader's ``Execute`` with a sandboxed kernel and a cap on each cell's output."""

    #: A :class:`autograder.sandbox.SandboxSpec`, or None for an unsandboxed kernel.
    sandbox_spec = None

    #: Characters of output a cell may keep (``GradingLimits.max_output_chars``, set by the
    #: worker); 0 keeps everything.
    max_output_chars = 1_000_000

    def __init__(self, *args, **kwargs):
        if self.sandbox_spec is not None:
            from .sandbox import SandboxKernelManager

            kwargs["kernel_manager_class"] = SandboxKernelManager
        super().__init__(*args, **kwargs)
        self._output_used = {}

    #: Wall-clock seconds of each executed cell (grade_id or index), measured by the grader.
    cell_seconds = {}

    #: ``(grade_id, code, host_folder, kernel_folder)`` or None: after the cell ``grade_id``,
    #: run ``code`` in the kernel, its ``__EXPORT_FOLDER__`` replaced by a fresh folder under
    #: ``kernel_folder`` (the same folder as ``host_folder`` seen from outside).
    export = None

    #: The host folder the last export wrote into (None until one ran).
    export_dir = None

    #: The cell being executed (its nbgrader grade_id, or its index), None between cells: when
    #: the kernel dies or hangs, the worker learns from it which cell did it.
    current_cell = None

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        name = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or cell_index
        GuardedExecute.current_cell = name
        started = time.monotonic()
        result = await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        GuardedExecute.cell_seconds[name] = time.monotonic() - started
        if self.export is not None and name == self.export[0] and cell.cell_type == "code":
            await self._export()              # a kernel that dies here is blamed on this cell
        GuardedExecute.current_cell = None
        return result

    async def _export(self, timeout=30):
        """Ask the kernel to run the export code into a folder no earlier cell could know."""
        _, code, host, inside = self.export
        folder = f".autograder-export-{uuid.uuid4().hex}"
        msg_id = self.kc.execute(code.replace("__EXPORT_FOLDER__", repr(f"{inside}/{folder}")),
                                 silent=True, store_history=False, allow_stdin=False)
        try:
            reply = await asyncio.wait_for(self.async_wait_for_reply(msg_id), timeout)
        except asyncio.TimeoutError:
            await ensure_async(self.km.interrupt_kernel())
            reply = None
        if reply and reply.get("content", {}).get("status") == "ok":
            GuardedExecute.export_dir = str(Path(host) / folder)

    execute_cell = run_sync(async_execute_cell)     # nbclient binds its own at class creation

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if self.sandbox_spec is not None:
            km.configure_sandbox(self.sandbox_spec)
        return km

    def output(self, outs, msg, display_id, cell_index):
        cap = self.max_output_chars
        if msg.get("msg_type") == "error":             # always kept (it explains the failure),
            c = msg.get("content", {})                  # but short
            msg = dict(msg, content=dict(c, evalue=str(c.get("evalue", ""))[:2000],
                                         traceback=[str(t)[:2000] for t in c.get("traceback", [])[-40:]]))
            return super().output(outs, msg, display_id, cell_index)
        if cap and msg.get("msg_type") in ("stream", "display_data", "execute_result"):
            used = self._output_used.get(cell_index, 0)
            size = len(json.dumps(msg.get("content", {}), default=str))
            self._output_used[cell_index] = used + size
            if used >= cap:
                return None
            if used + size > cap:
                if msg["msg_type"] == "stream":
                    room = max(cap - used, 0)
                    msg = dict(msg, content=dict(msg["content"], text=msg["content"]["text"][:room]))
                    out = super().output(outs, msg, display_id, cell_index)
                else:
                    out = None
                outs.append(new_output("stream", name="stdout", text=(
                    f"\n{TRUNCATED_NOTE} {cap:,} characters; the rest was discarded]\n")))
                return out
        return super().output(outs, msg, display_id, cell_index)
