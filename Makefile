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

.PHONY: setup book test clean

setup: $(STAMP)

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

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf _build course/release course/submitted course/autograded course/feedback \
	       course/gradebook.db course/gradebook.db.* course/*.csv
