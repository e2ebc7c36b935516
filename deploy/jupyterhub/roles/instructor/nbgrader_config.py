"""nbgrader on an instructor's server of the class hub (this folder is its ``JUPYTER_CONFIG_PATH``).

The hub sets ``LSTM_HUB_EXCHANGE`` (the exchange root) and ``LSTM_HUB_COURSE`` (the course
folder made by ``python -m autograder init``) in the server's environment
(``deploy/jupyterhub/hubsettings.py``). The course's own ``nbgrader_config.py`` is loaded from
there, so the formgrader, the terminal's ``nbgrader`` and ``python -m autograder`` all use one
course configuration.
"""

import os

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

if os.environ.get("LSTM_HUB_EXCHANGE"):
    c.Exchange.root = os.environ["LSTM_HUB_EXCHANGE"]
if os.environ.get("LSTM_HUB_COURSE"):
    load_subconfig(os.path.join(os.environ["LSTM_HUB_COURSE"], "nbgrader_config.py"))  # noqa: F821
