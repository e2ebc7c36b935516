# Two commands set up and use the course on a fresh machine (Python 3.11+, make, git):
#   make book   -> .venv with the project installed, the book built into _build/html
#   make test   -> the same set-up, then every test (pytest)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PATH := $(abspath $(BIN)):$(PATH)
export TF_CPP_MIN_LOG_LEVEL := 3
# One BLAS thread: the engine's small per-step products run several times faster without
# OpenBLAS's thread hand-offs on a busy 2-core machine (measured by the chapters' training runs).
export OPENBLAS_NUM_THREADS ?= 1

# The class's JupyterHub (deploy/jupyterhub, `make hub-setup`): configurable-http-proxy from npm in
# .venv/hub/node (never installed globally), and the environment of every user's server,
# .venv/hub/server, made from HUB_PYTHON (a Python every user can run) with the student install
# (HUB_STUDENT_EXTRAS; `notebook` alone leaves TensorFlow out), nbgrader and jupyterhub-singleuser.
HUB       := $(VENV)/hub
HUB_STAMP := $(HUB)/.installed-stamp
HUB_PYTHON ?= /usr/bin/python3
HUB_STUDENT_EXTRAS ?= notebook,keras

.PHONY: setup book test clean hub-setup

setup: $(STAMP)

hub-setup: $(HUB_STAMP)

# Rebuilt when lstm_core changes (only its wheel is reinstalled then): students run the engine the grader runs.
$(HUB_STAMP): deploy/jupyterhub/server_env.py _ext/student_wheel.py $(wildcard lstm_core/*.py lstm_core/data/*) | $(STAMP)
	mkdir -p $(HUB)/node
	npm install --prefix $(HUB)/node --no-audit --no-fund --loglevel=error configurable-http-proxy@4
	$(BIN)/python deploy/jupyterhub/server_env.py $(HUB)/server --python $(HUB_PYTHON) \
	    --extras $(HUB_STUDENT_EXTRAS)
	touch $(HUB_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Executes the notebooks that changed since the last build (jupyter-cache; a fresh clone runs them all;
# LSTM_BOOK_EXECUTE=force runs them all anyway), two at a time (LSTM_BOOK_JOBS=N for another number,
# see _ext/lstm_book.py), then puts the graded notebooks into _build/html/graded.
book: $(STAMP)
	$(BIN)/jupyter-book build -W -n --keep-going .
	$(BIN)/python -m autograder release

test: $(STAMP) $(HUB_STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf _build course/release course/submitted course/autograded course/feedback \
	       course/gradebook.db course/gradebook.db.* course/*.csv
