"""nbgrader's ``Execute`` preprocessor, with the student's kernel in the sandbox and a cap on output.

:class:`GuardedExecute` replaces nbgrader's ``Execute`` in the worker's ``Autograde``:

* when :attr:`GuardedExecute.sandbox_spec` is set, the kernel is started by
  :class:`autograder.sandbox.SandboxKernelManager` (bubblewrap, limits, unix sockets), whatever
  kernel the notebook names;
* the output a cell may keep is capped (``GradingLimits.max_output_chars``) *while it arrives*:
  a cell that prints 20 MB, or prints forever until its time limit, costs the grader no more
  memory than the cap, and neither the gradebook nor the feedback ever holds more. A note in
  the cell's output says what was cut.
"""

from __future__ import annotations

import json

from nbclient.util import run_sync
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

    #: The cell being executed (its nbgrader grade_id, or its index), None between cells: when
    #: the kernel dies or hangs, the worker learns from it which cell did it.
    current_cell = None

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        GuardedExecute.current_cell = (cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                                       or cell_index)
        result = await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        GuardedExecute.current_cell = None
        return result

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
