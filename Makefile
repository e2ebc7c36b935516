# Two commands set up and use the course on a fresh machine (Python 3.11+, make, git):
#   make book   -> .venv with the project installed, the book built into _build/html
#   make test   -> the same set-up, then every test (pytest)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PATH := $(abspath $(BIN)):$(PATH)
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: setup book test clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build -W -n --keep-going .

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf _build autograder/release autograder/submitted autograder/autograded autograder/feedback autograder/gradebook.db
