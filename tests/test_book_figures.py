"""The book's new kinds of figures are on their built pages, with alt text, at a readable size.

Issue 11 added cell diagrams drawn by ``lstm_core.diagrams`` (chapters 2, 3, 4, 11), an
output-gate control and a recall-on-cue heatmap (chapter 4), and a look inside the trained
character model (chapter 8: samples after epochs 1, 3 and 7, one unit's activation over real
text). Each is found on the page the session's build made (``book_html``, see conftest.py) by
its figure label or by its alt text, and its image file must exist and be wide enough to read
at the book's column width.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

pytestmark = pytest.mark.slow

#: The narrowest a figure's PNG may be, in pixels: the column is about 750 px wide.
MIN_WIDTH_PX = 600

#: (page, what the figure is, figure label or None, words its alt text must contain)
FIGURES = [
    ("chapters/02_why_lstm.html", "unrolled simple RNN beside the LSTM's belt", None,
     ("simple RNN", "belt", "W_h")),
    ("chapters/03_cell_state.html", "the LSTM cell diagram", "fig-lstm-cell",
     ("LSTM cell", "belt", "forget gate", "output gate")),
    ("chapters/04_gates.html", "the cell with the forget gate highlighted", "fig-gates-forget",
     ("forget gate",)),
    ("chapters/04_gates.html", "the cell with the input gate highlighted", "fig-gates-input",
     ("input gate", "candidate")),
    ("chapters/04_gates.html", "the cell with the output gate highlighted", "fig-gates-output",
     ("output gate",)),
    ("chapters/04_gates.html", "the hand-set cell that shows its value on cue", None,
     ("cell states", "hidden", "cue", "output gate")),
    ("chapters/04_gates.html", "the recall-on-cue task's output-gate heatmap", None,
     ("heatmap of the output gate", "cue")),
    ("chapters/08_real_world.html", "the character model's loss curve", None,
     ("loss of the character model",)),
    ("chapters/08_real_world.html", "one unit's activation over real text", None,
     ("Shakespeare", "coloured by", "unit")),
    ("chapters/11_gru.html", "the GRU cell beside the LSTM cell", "fig-gru-vs-lstm",
     ("LSTM", "GRU", "update gate", "reset gate")),
]


def soup_of(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file, read from its IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", head[16:24])


def find_image(soup: BeautifulSoup, label: str | None, words: tuple[str, ...]):
    """The one <img> inside the figure ``label`` (if given) whose alt holds every word."""
    scope = soup
    if label is not None:
        scope = soup.find(id=label)
        assert scope is not None, f"no element with id {label!r} on the page"
        assert scope.name in {"figure", "div"}, f"#{label} is a <{scope.name}>, not a figure"
    matches = [img for img in scope.find_all("img")
               if all(w.lower() in (img.get("alt") or "").lower() for w in words)]
    assert len(matches) == 1, (
        f"expected one image whose alt text contains {words}, found {len(matches)}; alt texts: "
        + repr([img.get("alt", "")[:80] for img in scope.find_all("img")]))
    return matches[0]


@pytest.mark.parametrize("page, what, label, words", FIGURES, ids=[f[1] for f in FIGURES])
def test_figure_is_on_its_page_with_alt_text_and_readable(book_html, page, what, label, words):
    path = book_html / page
    assert path.exists(), f"{page} was not built"
    img = find_image(soup_of(path), label, words)
    src = (path.parent / img["src"]).resolve()
    assert src.is_file(), f"{what}: {img['src']} does not exist"
    width, height = png_size(src)
    assert width >= MIN_WIDTH_PX, f"{what}: {width} px wide, less than {MIN_WIDTH_PX}"
    assert height >= 200, f"{what}: only {height} px high"


def test_labelled_figures_have_captions(book_html):
    for page, what, label, _ in FIGURES:
        if label is None:
            continue
        figure = soup_of(book_html / page).find(id=label)
        caption = figure.find("figcaption") if figure is not None else None
        assert caption is not None and len(caption.get_text(strip=True)) > 40, (
            f"{what} ({page}#{label}) has no caption")


def test_character_model_samples_after_epochs_one_three_and_seven(book_html):
    soup = soup_of(book_html / "chapters/08_real_world.html")
    text = "\n".join(node.get_text() for node in soup.select(".cell_output"))
    for epoch in (1, 3, 7):
        assert f"after epoch {epoch} (validation loss" in text, f"no sample after epoch {epoch}"
    assert text.count("of the words are real]") == 3


def test_diagram_figures_are_drawn_not_shown_as_code(book_html):
    """The diagram cells' code is hidden: the pages show the picture, not the drawing code."""
    for page in ("chapters/03_cell_state.html", "chapters/04_gates.html", "chapters/11_gru.html"):
        for block in soup_of(book_html / page).select(".cell_input"):
            assert "draw_lstm_cell(" not in block.get_text(), f"{page} shows the drawing code"
