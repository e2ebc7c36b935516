"""Notebooks are stored as valid JSON, without outputs or execution counts.

The book's build and nbgrader's release execute them; what git holds is only their source, so a
diff shows what changed in the text and code, never a stale result. Clean one with
``.venv/bin/jupyter nbconvert --clear-output --inplace FILE.ipynb``.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("chapters", "autograder/source")
NOTEBOOKS = sorted(
    p for folder in FOLDERS for p in (REPO / folder).rglob("*.ipynb")
    if ".ipynb_checkpoints" not in p.parts
)


def _id(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_there_are_notebooks():
    assert any(p.parent == REPO / "chapters" for p in NOTEBOOKS), "no notebook in chapters/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_notebook_is_valid_and_has_no_outputs(path):
    text = path.read_text(encoding="utf-8")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        pytest.fail(f"{_id(path)} is not valid JSON: {exc}")
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    assert raw.get("nbformat") == 4
    dirty = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            dirty.append(f"cell {index}: {len(cell.outputs)} output(s)")
        if cell.get("execution_count") is not None:
            dirty.append(f"cell {index}: execution_count {cell.execution_count}")
    assert not dirty, (
        f"{_id(path)} is stored with outputs; clear them with "
        f"`.venv/bin/jupyter nbconvert --clear-output --inplace {_id(path)}`:\n  " + "\n  ".join(dirty)
    )


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.parent == REPO / "chapters"], ids=_id)
def test_chapter_uses_the_python3_kernel(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
