"""Sphinx helper for the LSTM course book (loaded from ``_config.yml``).

It does what the stock Jupyter Book 1 configuration cannot:

1. **Execution mode from the environment.** ``_config.yml`` sets
   ``execute_notebooks: cache`` so that a reader's rebuild re-runs only the
   notebooks that changed. The tests and CI set ``LSTM_BOOK_EXECUTE=force`` to
   execute every notebook regardless of the cache (any myst-nb mode is
   accepted: ``force``, ``cache``, ``auto``, ``off``)::

       LSTM_BOOK_EXECUTE=force jupyter-book build -W -n --keep-going .

2. **Offline MathJax.** MathJax 3 comes from the ``django-static-mathjax``
   wheel on PyPI (installed with the project, see ``pyproject.toml``). After an
   HTML build its ``es5`` components and fonts are copied to
   ``_build/html/_static/mathjax/``, and ``mathjax_path`` (set in
   ``_config.yml``) points there, so math renders with no network, from a web
   server, a local folder or an LMS zip alike. A ``mathjax_path`` that points
   outside the build is refused.

3. **No duplicate script blocks.** sphinx-thebe (and sphinx-togglebutton)
   register inline scripts after the HTML builder exists; Sphinx then keeps one
   copy in its registry (filename ``''``) and one in the builder (filename
   ``None``), which it does not recognise as equal, so the block
   ``const THEBE_JS_URL = ...`` reaches every page twice and the browser logs
   ``Identifier 'THEBE_JS_URL' has already been declared``. Each page's script
   list is de-duplicated here, treating ``None`` and ``''`` alike.

4. **Tracebacks that Pygments cannot lex.** Keras error messages contain
   characters such as ``•`` that the IPython traceback lexer (``ipythontb``,
   used for the cells tagged ``raises-exception``) rejects; Sphinx then shows
   the traceback in relaxed mode, correctly, but warns, and ``-W`` fails the
   build. That one warning, for that lexer only, is dropped; every other
   highlighting failure still fails the build.

5. **Notebooks executed two at a time.** The ``jupyter-book`` command line
   always asks Sphinx for one process; this extension raises it to
   ``LSTM_BOOK_JOBS`` (default: 2, or 1 on a one-core machine), so Sphinx reads
   the documents, and myst-nb executes their notebooks, in that many forked
   processes. Sphinx does that only if every extension declares itself safe
   for parallel reading, else it warns (an error under ``-W``) and reads
   serially. Two do not declare it: ``sphinx_jupyterbook_latex`` (PDF builds
   only; ``_config.yml`` leaves it out) and ``sphinx_multitoc_numbering``,
   which ``sphinx_external_toc`` always loads and which only replaces
   ``TocTreeCollector.assign_section_numbers``, a step Sphinx runs in the main
   process after the documents are read: it is declared safe here. In
   ``cache`` mode the jupyter-cache database is created here, in the main
   process, before the documents are read: two readers that both find it
   missing would both create its tables, and one fails ("table settings
   already exists").

6. **The student's install in the book.** After an HTML build a wheel of the
   project with ``lstm_core`` alone (no grader, no course) is written to
   ``_build/html/install/``;
   the exercises chapter links to it and gives the one ``pip install`` command
   a student runs. It is built from a copy of the packages, with the build
   tools of the book's own environment (no network, no files in the checkout).

7. **Launch buttons that lead somewhere.** A button is shown only when its target is set.
   The JupyterHub button of a chapter opens that chapter on the class's hub
   (``launch_buttons.jupyterhub_url`` in ``_config.yml``, or ``LSTM_BOOK_JUPYTERHUB_URL`` at
   build time): ``<hub>/hub/user-redirect/lab/tree/lstm-book/<chapter>.ipynb``, the copy of
   the book's notebooks that the class hub (``deploy/jupyterhub``) puts into every home. It
   replaces the theme's own JupyterHub button, which needs a public repository and
   nbgitpuller on the hub. Binder, Colab and Live Code (thebe, which runs on Binder) need
   ``repository.url``: without it they are not shown, nor are the repository and issue
   buttons. ``LSTM_BOOK_BINDERHUB_URL`` and ``LSTM_BOOK_COLAB_URL`` set those two at build
   time (an empty value of any of the three variables removes that button).
"""

from __future__ import annotations

import logging as logging_std
import os
import shutil
from pathlib import Path
from urllib.parse import quote

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError, ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

EXECUTE_ENV = "LSTM_BOOK_EXECUTE"
JOBS_ENV = "LSTM_BOOK_JOBS"
EXECUTION_MODES = ("off", "force", "auto", "cache", "inline")
LAUNCH_ENV = {
    "binderhub_url": "LSTM_BOOK_BINDERHUB_URL",
    "colab_url": "LSTM_BOOK_COLAB_URL",
    "jupyterhub_url": "LSTM_BOOK_JUPYTERHUB_URL",
}
#: Launch buttons that run the page on a service which clones ``repository.url``.
REPOSITORY_LAUNCHERS = ("binderhub_url", "colab_url", "deepnote_url")
#: Header buttons that link to ``repository.url``.
REPOSITORY_BUTTONS = ("use_repository_button", "use_issues_button", "use_edit_page_button")
#: The folder of every home on the class hub that holds the book's notebooks
#: (``deploy/jupyterhub/hubsettings.py``, ``BOOK_FOLDER``).
HUB_BOOK_FOLDER = "lstm-book"
#: The Sphinx configuration value that holds the class hub's URL (see 7. above).
HUB_URL_CONFIG = "lstm_book_jupyterhub_url"
HUB_INTERFACES = {"jupyterlab": "lab/tree", "classic": "tree"}
#: Where MathJax goes inside the HTML output (``_static/`` + this).
MATHJAX_DIR = "mathjax"
#: What of MathJax's ``es5`` folder is copied: the one combined component the
#: book loads, and every folder it may load from on demand (TeX extensions,
#: CHTML fonts, the menu, accessibility and speech rules).
MATHJAX_ENTRY = "tex-mml-chtml.js"
MATHJAX_SUBDIRS = ("a11y", "adaptors", "input", "output", "sre", "ui")
#: Lexers of error outputs whose lexing failures are not build errors (see 4. above).
TRACEBACK_LEXERS = ("ipythontb",)


def mathjax_source() -> Path:
    """Folder of MathJax 3's ``es5`` build installed from PyPI."""
    try:
        import mathjax  # the django-static-mathjax wheel
    except ImportError as exc:  # pragma: no cover - set-up error
        raise ExtensionError(
            "MathJax is not installed: run `make setup` (or "
            "`.venv/bin/pip install django-static-mathjax`)"
        ) from exc
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (es5 / MATHJAX_ENTRY).is_file():
        raise ExtensionError(f"MathJax's {MATHJAX_ENTRY} not found under {es5}")
    return es5


def build_jobs() -> int:
    """Processes that read the book's documents (and execute its notebooks) at once.

    Returns
    -------
    jobs : int
        ``LSTM_BOOK_JOBS`` if set, else 2 (1 on a one-core machine).

    Raises
    ------
    ConfigError
        If ``LSTM_BOOK_JOBS`` is not a positive integer.
    """
    value = os.environ.get(JOBS_ENV, "").strip()
    if not value:
        return min(2, os.cpu_count() or 1)
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{JOBS_ENV}={value!r}: expected a positive integer")
    return int(value)


#: Extensions that keep no per-document state but do not say so (see 5. above).
PARALLEL_SAFE_UNDECLARED = ("sphinx_multitoc_numbering",)


def _declare_parallel_safe(app: Sphinx) -> None:
    for name in PARALLEL_SAFE_UNDECLARED:
        ext = app.extensions.get(name)
        if ext is not None and ext.parallel_read_safe is None:
            ext.parallel_read_safe = ext.parallel_write_safe = True


def _create_jupyter_cache(app: Sphinx) -> None:
    nb_config = getattr(app.env, "mystnb_config", None)
    if nb_config is None or nb_config.execution_mode != "cache":
        return
    from jupyter_cache import get_cache

    path = Path(nb_config.execution_cache_path)
    path.mkdir(parents=True, exist_ok=True)
    get_cache(path).db                        # creates the database and its tables if missing


def _config_inited(app: Sphinx, config: Config) -> None:
    mode = os.environ.get(EXECUTE_ENV, "").strip()
    if mode:
        if mode not in EXECUTION_MODES:
            raise ConfigError(
                f"{EXECUTE_ENV}={mode!r}: expected one of {', '.join(EXECUTION_MODES)}"
            )
        config.nb_execution_mode = mode
        logger.info(f"[lstm_book] notebook execution mode from {EXECUTE_ENV}: {mode}")

    _configure_launch_buttons(config)

    path = config.mathjax_path or ""
    if "://" in path or path.startswith("//") or path.startswith("/"):
        raise ConfigError(
            f"mathjax_path={path!r} points outside the build; the book must work "
            f"offline: use '{MATHJAX_DIR}/{MATHJAX_ENTRY}' (copied into _static/)"
        )
    mathjax_source()  # fail early, before any notebook runs, if it is missing


def _configure_launch_buttons(config: Config) -> None:
    """Keep only the buttons whose target is set (see 7. above)."""
    options = config.html_theme_options
    launch = options.setdefault("launch_buttons", {})
    for key, var in LAUNCH_ENV.items():
        if var in os.environ:
            launch[key] = os.environ[var].strip()
    # The theme's JupyterHub button clones the repository with nbgitpuller; ours opens the
    # class hub's copy of the notebook, so the theme never sees the URL.
    setattr(config, HUB_URL_CONFIG, (launch.pop("jupyterhub_url", "") or "").strip().rstrip("/"))
    if not (options.get("repository_url") or "").strip():
        for key in REPOSITORY_LAUNCHERS:
            if launch.get(key):
                logger.info(f"[lstm_book] no {key} button: it needs repository.url")
            launch[key] = ""
        for key in REPOSITORY_BUTTONS:
            options[key] = False
    if not launch.get("binderhub_url"):
        launch["thebe"] = False               # Live Code runs on Binder


def hub_launch_url(hub_url: str, docname: str, interface: str = "jupyterlab") -> str:
    """The URL that opens the notebook of ``docname`` on the class hub.

    Parameters
    ----------
    hub_url : str
        The hub's address (``https://hub.example.edu``).
    docname : str
        The page's document name (``chapters/01_introduction``).
    interface : str
        ``"jupyterlab"`` or ``"classic"``.

    Returns
    -------
    url : str
        ``<hub>/hub/user-redirect/lab/tree/lstm-book/<docname>.ipynb``: JupyterHub logs the
        reader in, starts their server and opens their copy of the notebook.
    """
    if interface not in HUB_INTERFACES:
        raise ConfigError(f"launch_buttons.notebook_interface={interface!r}: expected one of "
                          f"{', '.join(HUB_INTERFACES)}")
    path = quote(f"{HUB_BOOK_FOLDER}/{docname}.ipynb")
    return f"{hub_url.rstrip('/')}/hub/user-redirect/{HUB_INTERFACES[interface]}/{path}"


def _add_hub_button(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """The JupyterHub launch button of a notebook page (after the theme's buttons)."""
    hub_url = getattr(app.config, HUB_URL_CONFIG, "")
    buttons = context.get("header_buttons")
    if not hub_url or buttons is None or pagename not in app.env.all_docs:
        return
    if Path(app.env.doc2path(pagename)).suffix != ".ipynb":
        return
    launch = app.config.html_theme_options.get("launch_buttons", {})
    url = hub_launch_url(hub_url, pagename, launch.get("notebook_interface", "jupyterlab"))
    group = next((b for b in buttons if b.get("label") == "launch-buttons"), None)
    if group is None:
        group = {"type": "group", "tooltip": "Launch interactive content",
                 "icon": "fas fa-rocket", "buttons": [], "label": "launch-buttons"}
        buttons.insert(0, group)
    group["buttons"].append({
        "type": "link", "text": "JupyterHub", "url": url,
        "tooltip": "Open this chapter on the class's JupyterHub",
        "icon": "_static/images/logo_jupyterhub.svg", "label": "launch-jupyterhub-button"})


def _dedupe_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for js in scripts:
        filename = getattr(js, "filename", js) or ""  # None and "" both mean inline
        attributes = getattr(js, "attributes", {})
        key = (str(filename), getattr(js, "priority", 500), repr(sorted(attributes.items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    if len(unique) != len(scripts):
        scripts[:] = unique


def _copy_mathjax(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    src = mathjax_source()
    dest = Path(app.outdir) / "_static" / MATHJAX_DIR
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / MATHJAX_ENTRY, dest / MATHJAX_ENTRY)
    for sub in MATHJAX_SUBDIRS:
        shutil.copytree(src / sub, dest / sub, dirs_exist_ok=True)
    license_file = src.parent / "LICENSE"
    if license_file.is_file():
        shutil.copy2(license_file, dest / "LICENSE")


WHEEL_DIR = "install"


def _build_student_wheel(app: Sphinx, exception) -> None:
    """Put the student's wheel (:mod:`student_wheel`) into ``<html>/install/`` (see 6. above)."""
    if exception is not None or app.builder.format != "html":
        return
    from student_wheel import build_student_wheel

    try:
        build_student_wheel(app.confdir, Path(app.outdir) / WHEEL_DIR)
    except RuntimeError as exc:
        raise ExtensionError(str(exc)) from exc


class _TracebackLexingFilter(logging_std.Filter):
    """Drop Sphinx's 'Lexing literal_block ... as "ipythontb" ...' warning (see 4. above)."""

    def filter(self, record: logging_std.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (
            "resulted in an error at token" in str(record.msg)
            and len(args) >= 2
            and args[1] in TRACEBACK_LEXERS
        )


def setup(app: Sphinx) -> dict:
    if app.parallel <= 1:                     # `jupyter-book build` passes no -j (see 5. above)
        app.parallel = build_jobs()
    highlighting_logger = logging_std.getLogger("sphinx.sphinx.highlighting")
    if not any(isinstance(f, _TracebackLexingFilter) for f in highlighting_logger.filters):
        highlighting_logger.addFilter(_TracebackLexingFilter())
    # priority < 500: before myst-nb reads its configuration on builder-inited
    app.connect("config-inited", _config_inited, priority=400)
    app.add_config_value(HUB_URL_CONFIG, "", "html")
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    # after the theme's launch, source and header buttons (priority 501)
    app.connect("html-page-context", _add_hub_button, priority=502)
    app.connect("builder-inited", _declare_parallel_safe)
    # after myst-nb's own builder-inited handler (priority 500), which sets the cache's path
    app.connect("builder-inited", _create_jupyter_cache, priority=900)
    app.connect("build-finished", _copy_mathjax)
    app.connect("build-finished", _build_student_wheel)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
