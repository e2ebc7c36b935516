"""JupyterHub configuration of one LSTM course's class hub.

Run by ``hubctl.py up`` as ``jupyterhub -f deploy/jupyterhub/jupyterhub_config.py`` (as root:
the local-process spawner starts each user's server as that Unix user), with
``LSTM_HUB_SETTINGS`` naming the class's ``hub.toml`` (see ``hubsettings.py``).

* JupyterHub from PyPI (the ``hub`` extra), configurable-http-proxy from npm in a local folder
  (``make hub-setup``).
* Local Unix users, one server each, started by JupyterHub's ``LocalProcessSpawner``.
* Every server runs in one environment (``server_env.py``): the student install of
  ``lstm_core``, JupyterLab, nbgrader, no grader. Two roles, from the JupyterHub group
  ``instructors``: an instructor's server also has the grader on its ``PYTHONPATH``, nbgrader's
  formgrader and the course folder (made by ``python -m autograder init``); a student's has
  nbgrader's Assignments tab. Each role's Jupyter configuration (which nbgrader extensions,
  the exchange) is in ``roles/<role>/``.
* nbgrader's exchange is a local folder (``exchange`` in ``hub.toml``).
* The authenticator is ``authenticator`` in ``hub.toml`` (the demo: ``pam``, the users' Unix
  passwords). Anything else goes in ``jupyterhub_config.local.py`` beside ``hub.toml``, loaded
  last (another authenticator's settings, TLS, a different spawner's options).
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from hubsettings import INSTRUCTOR_GROUP, SETTINGS_ENV, load  # noqa: E402

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

if SETTINGS_ENV not in os.environ:
    raise RuntimeError(f"set {SETTINGS_ENV} to the class's hub.toml (hubctl.py up does)")
settings = load(os.environ[SETTINGS_ENV])
state = settings.state

# --- where the hub listens, and its own files -------------------------------------------------
c.JupyterHub.ip = settings.ip
c.JupyterHub.port = settings.port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings.hub_port
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.ConfigurableHTTPProxy.command = [str(settings.proxy)]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
# Stopping the hub stops every server and the proxy it started.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# --- who may log in -------------------------------------------------------------------------------
c.JupyterHub.authenticator_class = settings.authenticator
c.Authenticator.allowed_users = set(settings.users)
c.JupyterHub.load_groups = {
    INSTRUCTOR_GROUP: {"users": list(settings.instructors)},
    "students": {"users": list(settings.students)},
}

# --- each user's server ---------------------------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.ip = "127.0.0.1"


def role_of(spawner) -> str:
    """``"instructor"`` for members of the hub's instructors group, else ``"student"``."""
    groups = {group.name for group in spawner.user.groups}
    return "instructor" if INSTRUCTOR_GROUP in groups else "student"


def configure_role(spawner) -> None:
    """Give the server its role's environment, Jupyter configuration and command."""
    role = role_of(spawner)
    python = settings.server_python
    spawner.cmd = [str(python), str(HERE / "singleuser.py")]
    spawner.environment = {**spawner.environment, **settings.environment(role)}
    spawner.log.info("%s starts as %s (%s)", spawner.user.name, role, python)


c.Spawner.pre_spawn_hook = configure_role

local = state / "jupyterhub_config.local.py"
if local.is_file():
    load_subconfig(str(local))  # noqa: F821
