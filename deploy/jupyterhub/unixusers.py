"""Unix users and groups of a class hub, and running a command as one of them (needs root).

Users made here carry :data:`MARKER` in their GECOS field, and only such users are removed: a
user of the machine that happens to have a class's name is never touched.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
from pathlib import Path

#: The GECOS comment of every user this module creates.
MARKER = "LSTM course hub user"


class UserError(RuntimeError):
    """A user or group cannot be made or removed as asked."""


def exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def is_ours(name: str) -> bool:
    """Whether ``name`` exists and was made by :func:`create_user`."""
    return exists(name) and pwd.getpwnam(name).pw_gecos == MARKER


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise UserError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def create_user(name: str, password: str, home_base: Path | None = None) -> Path:
    """Make a Unix user with a private home (0700) and a password (for PAM).

    An existing user made by this module keeps its home and gets the new password; any other
    existing user is refused.

    Returns
    -------
    home : Path
    """
    if exists(name) and not is_ours(name):
        raise UserError(f"the user {name!r} exists and was not made for a class hub: "
                        "choose other names")
    if not exists(name):
        argv = ["useradd", "--create-home", "--shell", "/bin/bash", "--comment", MARKER,
                "--user-group"]
        if home_base is not None:
            Path(home_base).mkdir(parents=True, exist_ok=True)
            argv += ["--base-dir", str(home_base)]
        _run(argv + [name])
    _run(["chpasswd"], input=f"{name}:{password}\n")
    home = Path(pwd.getpwnam(name).pw_dir)
    os.chmod(home, 0o700)
    return home


def ensure_group(group: str, members: list[str]) -> bool:
    """Make the Unix group if missing and add ``members`` to it; True if it was made now."""
    made = not group_exists(group)
    if made:
        _run(["groupadd", group])
    for user in members:
        _run(["usermod", "--append", "--groups", group, user])
    return made


def remove_user(name: str) -> bool:
    """Remove a user made by :func:`create_user`, with its home; False if there was none."""
    if not exists(name):
        return False
    if not is_ours(name):
        raise UserError(f"not removing {name!r}: it was not made for a class hub")
    home = Path(pwd.getpwnam(name).pw_dir)
    _run(["userdel", "--remove", name])
    if home.exists():  # userdel leaves a home that is not under the user's own name
        shutil.rmtree(home)
    return True


def remove_group(group: str) -> bool:
    if not group_exists(group):
        return False
    _run(["groupdel", group])
    return True


def uid_of(name: str) -> int:
    return pwd.getpwnam(name).pw_uid


def home_of(name: str) -> Path:
    return Path(pwd.getpwnam(name).pw_dir)


def run_as(user: str, argv: list[str], *, env: dict[str, str], cwd: Path | None = None,
           timeout: float = 900, check: bool = True, input: str | None = None
           ) -> subprocess.CompletedProcess:
    """Run ``argv`` as ``user`` (its uid, primary group and every group it is in).

    ``env`` is the whole environment, to which ``HOME``, ``USER``, ``LOGNAME`` are added.
    With ``check``, a non-zero exit raises :class:`UserError` with the output.
    """
    entry = pwd.getpwnam(user)
    full_env = {**env, "HOME": entry.pw_dir, "USER": user, "LOGNAME": user}
    proc = subprocess.run(
        argv, env=full_env, cwd=str(cwd or entry.pw_dir), user=entry.pw_uid,
        group=entry.pw_gid, extra_groups=os.getgrouplist(user, entry.pw_gid), umask=0o022,
        capture_output=True, text=True, timeout=timeout, input=input)
    if check and proc.returncode != 0:
        raise UserError(f"as {user}: {' '.join(map(str, argv))} exited {proc.returncode}\n"
                        f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    return proc
