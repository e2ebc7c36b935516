"""Start a user's server on the class hub: the book's notebooks into the home, then the server.

The hub runs ``<role env>/bin/python singleuser.py [ARGS]`` as the user (JupyterHub's
local-process spawner has already switched to the user's id), so nothing here runs as root:
the notebooks of ``LSTM_HUB_BOOK`` that are not yet in ``~/lstm-book/chapters/`` are copied
there (a student's own edits are never overwritten), and the process becomes
``jupyterhub-singleuser ARGS`` of the same environment.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

#: The same folder name as ``hubsettings.BOOK_FOLDER`` (this script runs in the role's
#: environment, which does not import the hub's modules).
BOOK_FOLDER = "lstm-book"


def copy_book(book: Path, home: Path) -> list[Path]:
    """Copy the book's notebooks that are missing into ``home/lstm-book/chapters``.

    Returns
    -------
    copied : list of Path
        The notebooks copied this time.
    """
    dest = home / BOOK_FOLDER / "chapters"
    dest.mkdir(parents=True, exist_ok=True)
    copied = []
    for notebook in sorted(book.glob("*.ipynb")):
        target = dest / notebook.name
        if not target.exists():
            shutil.copyfile(notebook, target)
            copied.append(target)
    return copied


def main() -> None:
    book = os.environ.get("LSTM_HUB_BOOK")
    if book and Path(book).is_dir():
        copy_book(Path(book), Path.home())
    server = Path(sys.executable).parent / "jupyterhub-singleuser"
    os.execv(server, [str(server), *sys.argv[1:]])


if __name__ == "__main__":
    main()
