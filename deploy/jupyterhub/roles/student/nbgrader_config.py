"""nbgrader on a student's server of the class hub (this folder is its ``JUPYTER_CONFIG_PATH``).

The hub sets ``LSTM_HUB_EXCHANGE`` (the exchange root) and ``LSTM_HUB_COURSE_ID`` in the
server's environment (``deploy/jupyterhub/hubsettings.py``). The Assignments tab fetches from,
and submits to, that exchange as the student's own Unix user.

A submission is kept from the other students by nbgrader's layout (the ``inbound`` folder can be
written, not listed) and, here, also by its permissions: nbgrader leaves a submission readable
by everyone who knows its name; :class:`InstructorsOnlySubmit` writes it readable by its
student and the instructors' group only (the ``inbound`` folder is set-group-ID to that group,
so what is created in it belongs to the group).
"""

import os
import shutil

from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import ignore_patterns

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

if os.environ.get("LSTM_HUB_EXCHANGE"):
    c.Exchange.root = os.environ["LSTM_HUB_EXCHANGE"]
if os.environ.get("LSTM_HUB_COURSE_ID"):
    c.CourseDirectory.course_id = os.environ["LSTM_HUB_COURSE_ID"]


class InstructorsOnlySubmit(ExchangeSubmit):
    """nbgrader's submit, with the copy in ``inbound`` readable by the instructors only.

    Folders are made with ``mkdir`` and files copied without their modes, so everything keeps
    the group of the set-group-ID ``inbound`` folder (``copytree`` would copy the modes, and a
    ``chmod`` by a user outside the group clears the set-group-ID bit before ``timestamp.txt``
    is written); then files are 0640 and folders 0750, the submission's own folder 0770 (the
    instructors may remove it).
    """

    def _in_inbound(self, path):
        inbound = os.path.join(os.path.abspath(self.inbound_path), "")
        return os.path.abspath(path).startswith(inbound)

    def do_copy(self, src, dest):
        if not self._in_inbound(dest):
            return super().do_copy(src, dest)
        if self.get_size(src) > 1000 * self.coursedir.max_dir_size:
            raise RuntimeError(f"Directory size is too big: {src}")
        ignore = ignore_patterns(exclude=self.coursedir.ignore, include=self.coursedir.include,
                                 max_file_size=self.coursedir.max_file_size, log=self.log)
        self._copy_tree(src, dest, ignore)

    def _copy_tree(self, src, dest, ignore):
        os.mkdir(dest, 0o750)
        names = os.listdir(src)
        skipped = ignore(src, names)
        for name in names:
            if name in skipped:
                continue
            source, target = os.path.join(src, name), os.path.join(dest, name)
            if os.path.isdir(source) and not os.path.islink(source):
                self._copy_tree(source, target, ignore)
            elif os.path.isfile(source):
                shutil.copyfile(source, target)

    def set_perms(self, dest, fileperms, dirperms):
        if self._in_inbound(dest):
            fileperms, dirperms = 0o640, 0o750
        super().set_perms(dest, fileperms, dirperms)

    def copy_files(self):
        super().copy_files()  # ends with chmod 0777 of the submission's folder
        os.chmod(os.path.join(self.inbound_path, self.assignment_filename), 0o770)


c.ExchangeFactory.submit = InstructorsOnlySubmit
