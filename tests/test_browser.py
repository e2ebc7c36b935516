"""Every page of the built book in a real browser (headless Chromium through selenium).

The book is served from 127.0.0.1 on a free port, and Chromium is started with every other host
unresolvable, as a student's offline laptop would be. Each page fails on:

* a SEVERE entry in the JavaScript console (errors, failed loads);
* a request that left the local server (anything the page needs from the internet);
* an image that did not load (``naturalWidth == 0``);
* math that MathJax did not render (a ``.math`` element without ``mjx-container``), or a
  MathJax error node;
* a link, script, stylesheet or image URL of the site that points to no file in the build;
* a code cell that needs horizontal scrolling at the window's width of 1280 px: inside every
  ``.cell`` (input and outputs, with hidden inputs and dropdown solutions opened), no element
  that scrolls horizontally may be wider inside than its box.

A full-page screenshot of each page goes to ``_build/screenshots/`` in the repository, for a
person to look at. Chromium and chromedriver are Debian packages; without them the test fails
(it never skips) and says how to install them.
"""

from __future__ import annotations

import functools
import re
import shutil
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from conftest import REPO, toc_docs

pytestmark = pytest.mark.slow

INSTALL_HINT = "install them with: sudo apt-get install chromium chromium-driver"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
SCREENSHOTS = REPO / "_build" / "screenshots"
PAGES = [f"{doc}.html" for doc in toc_docs()] + ["index.html", "search.html", "genindex.html"]
PAGE_TIMEOUT_S = 60
SCREENSHOT_MAX_HEIGHT = 16000
WINDOW = (1280, 900)
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
    # offline: every host but the local server fails to resolve
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)

# Waits for MathJax (if the page loads it) to finish typesetting, then reports what the page shows.
INSPECT_JS = r"""
const done = arguments[arguments.length - 1];
(async () => {
  const out = {mathjax: "absent"};
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    try { await MathJax.startup.promise; out.mathjax = "ok"; }
    catch (e) { out.mathjax = "error: " + e; }
  }
  const imgs = Array.from(document.images);
  for (const img of imgs) { if (img.loading === "lazy") img.loading = "eager"; }
  await Promise.all(imgs.map(img => img.decode().catch(() => null)));
  out.images = imgs.length;
  out.brokenImages = imgs.filter(i => i.naturalWidth === 0).map(i => i.currentSrc || i.src);
  const math = Array.from(document.querySelectorAll(".math"));
  out.math = math.length;
  out.unrendered = math.filter(m => !m.querySelector("mjx-container"))
                       .map(m => m.textContent.trim().slice(0, 80));
  out.mjxContainers = document.querySelectorAll("mjx-container").length;
  out.mathErrors = Array.from(document.querySelectorAll("mjx-merror"))
                       .map(e => e.getAttribute("data-mjx-error") || e.textContent.slice(0, 80));
  const urls = [];
  document.querySelectorAll("a[href]").forEach(a => urls.push(a.href));
  document.querySelectorAll("link[href]").forEach(l => urls.push(l.href));
  document.querySelectorAll("script[src], img[src], source[src], iframe[src]").forEach(s => urls.push(s.src));
  out.urls = urls;
  out.resources = performance.getEntriesByType("resource").map(e => e.name);
  out.title = document.title;
  out.textLength = (document.querySelector("main") || document.body).innerText.length;
  done(out);
})().catch(e => done({fatal: String(e)}));
"""


# Opens every collapsed part of the page (hidden inputs are <details>, dropdown hints and
# solutions are hidden by sphinx-togglebutton's class), then lists every element inside a code
# cell that scrolls horizontally and whose content is wider than its box.
OVERFLOW_JS = r"""
document.querySelectorAll("details").forEach(d => { d.open = true; });
document.querySelectorAll(".toggle-hidden").forEach(e => e.classList.remove("toggle-hidden"));
const found = [];
document.querySelectorAll(".cell").forEach(cell => {
  cell.querySelectorAll("*").forEach(el => {
    const overflow = getComputedStyle(el).overflowX;
    if ((overflow === "auto" || overflow === "scroll") && el.scrollWidth > el.clientWidth + 1) {
      const line = el.textContent.split("\n").reduce((a, l) => (l.length > a.length ? l : a), "");
      found.push({inside: el.closest(".cell_input") ? "input" : "output",
                  scrollWidth: el.scrollWidth, clientWidth: el.clientWidth,
                  line: line.slice(0, 100)});
    }
  });
});
return {cells: document.querySelectorAll(".cell").length, found: found};
"""


def _find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        if path := shutil.which(name):
            return path
    return None


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def site(book_html):
    """The built book on http://127.0.0.1:<free port>."""
    handler = functools.partial(_QuietHandler, directory=str(book_html))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    """Headless Chromium with a fresh profile."""
    chromium = _find_chromium()
    chromedriver = CHROMEDRIVER if Path(CHROMEDRIVER).exists() else shutil.which("chromedriver")
    missing = [n for n, p in (("chromium", chromium), ("chromedriver", chromedriver)) if not p]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found: the browser test needs Chromium and its "
                    f"driver; {INSTALL_HINT}", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    except Exception as exc:  # a driver that does not start is a failure, never a skip
        pytest.fail(f"Chromium did not start ({exc}); {INSTALL_HINT}", pytrace=False)
    browser.set_page_load_timeout(PAGE_TIMEOUT_S)
    browser.set_script_timeout(PAGE_TIMEOUT_S)
    yield browser
    browser.quit()


def _screenshot(browser, path: Path) -> None:
    """A full-page screenshot: the window is made as tall as the page, then put back."""
    width, height = WINDOW
    page_height = browser.execute_script(
        "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)")
    browser.set_window_size(width, max(height, min(int(page_height), SCREENSHOT_MAX_HEIGHT)))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(path))
    finally:
        browser.set_window_size(width, height)


def _local_file(url: str, site: str, html: Path) -> Path | None:
    """The file of the build a same-site URL names (None for other sites)."""
    if not url.startswith(site + "/"):
        return None
    path = unquote(urlsplit(url).path).lstrip("/")
    target = html / path
    return target / "index.html" if target.is_dir() else target


def inspect(browser, site: str, html: Path, page: str) -> tuple[dict, list[str]]:
    """Open one page and return what it shows and the list of its problems."""
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(f"{site}/{page}")
    deadline = time.monotonic() + PAGE_TIMEOUT_S
    while browser.execute_script("return document.readyState") != "complete":
        if time.monotonic() > deadline:
            return {}, [f"{page}: did not finish loading in {PAGE_TIMEOUT_S} s"]
        time.sleep(0.1)
    info = browser.execute_async_script(INSPECT_JS)
    problems = []
    if "fatal" in info:
        return info, [f"inspecting the page failed: {info['fatal']}"]
    declares_icon = browser.execute_script(
        "return !!document.querySelector('link[rel~=\"icon\"]')")
    for entry in browser.get_log("browser"):
        message = entry.get("message", "")
        # Chromium sometimes also asks the server root for /favicon.ico on its own, before it
        # reads the page's icon link; that guess is not a resource of the page
        if declares_icon and re.search(r"/favicon\.ico - Failed to load resource", message):
            continue
        if entry.get("level") == "SEVERE":
            problems.append(f"console error: {message}")
    if not declares_icon:
        problems.append("the page declares no icon (the browser then asks for /favicon.ico)")
    if not info["mathjax"].startswith(("ok", "absent")):
        problems.append(f"MathJax failed: {info['mathjax']}")
    if info["math"] and info["mathjax"] == "absent":
        problems.append(f"{info['math']} math elements but MathJax is not loaded")
    for text in info["unrendered"]:
        problems.append(f"math not rendered by MathJax: {text!r}")
    for err in info["mathErrors"]:
        problems.append(f"MathJax error: {err!r}")
    for src in info["brokenImages"]:
        problems.append(f"image did not load: {src}")
    for url in info["resources"]:
        if not url.startswith(site + "/") and not url.startswith(("data:", "blob:")):
            problems.append(f"request outside the local build: {url}")
    for url in sorted(set(info["urls"])):
        target = _local_file(url, site, html)
        if target is not None and not target.is_file():
            problems.append(f"broken internal link: {url[len(site):]}")
    return info, problems


def test_every_built_page_is_visited(book_html):
    skip = {"_static", "_sources", "_images", "graded", "_downloads"}
    built = {p.relative_to(book_html).as_posix() for p in book_html.rglob("*.html")
             if not skip & set(p.relative_to(book_html).parts)}
    assert built == set(PAGES), f"pages the browser test does not open: {sorted(built - set(PAGES))}"


def scrolling_code(browser) -> list[str]:
    """The code cells of the open page that need horizontal scrolling (opens every toggle)."""
    result = browser.execute_script(OVERFLOW_JS)
    return [f"a code cell's {f['inside']} scrolls horizontally ({f['scrollWidth']} px of content "
            f"in {f['clientWidth']} px): {f['line']!r}" for f in result["found"]]


@pytest.mark.parametrize("page", PAGES)
def test_page_in_browser(page, book_html, site, driver):
    info, problems = inspect(driver, site, book_html, page)
    _screenshot(driver, SCREENSHOTS / (re.sub(r"[^\w.-]+", "__", page.removesuffix(".html")) + ".png"))
    problems += scrolling_code(driver)      # after the screenshot: it opens every toggle
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)
    assert info["textLength"] > 50, f"{page} shows almost no text"
    if page.startswith("chapters/") and page != "chapters/references.html":
        assert info["math"] == 0 or info["mjxContainers"] >= info["math"]


def test_scrolling_code_is_found_even_when_hidden(driver, tmp_path):
    """The overflow check itself, on a page of known widths: a long line in a 300 px cell is
    found, also inside a collapsed <details> and a toggled-away solution; short lines are not."""
    long_line, short_line = "x = 1  # " + "a" * 120, "x = 1"
    page = tmp_path / "cells.html"
    page.write_text(f"""<!DOCTYPE html><html><head><style>
      pre {{ overflow-x: auto; width: 300px; font: 14px monospace; }}
      .toggle-hidden {{ display: none; }}
    </style></head><body>
      <div class="cell"><div class="cell_input"><pre>{short_line}</pre></div></div>
      <div class="cell"><div class="cell_input"><pre>{long_line}</pre></div></div>
      <div class="cell"><details><summary>show</summary>
        <div class="cell_input"><pre>{long_line}</pre></div></details></div>
      <div class="solution toggle-hidden"><div class="cell">
        <div class="cell_output"><pre>{long_line}</pre></div></div></div>
      <pre>{long_line}</pre>
    </body></html>""", encoding="utf-8")
    driver.get(page.resolve().as_uri())
    found = scrolling_code(driver)
    assert len(found) == 3, found                  # the long line outside any cell is not code
    assert sum("output" in f for f in found) == 1


def test_root_page_renders_from_a_folder_without_a_server(book_html, driver):
    """A student opening _build/html from a folder or an unpacked LMS zip (file://)."""
    root = book_html / f"{toc_docs()[0]}.html"
    driver.get_log("browser")
    driver.get(root.resolve().as_uri())
    info = driver.execute_async_script(INSPECT_JS)
    assert "fatal" not in info, info
    assert info["mathjax"] == "ok"
    assert info["math"] > 0 and not info["unrendered"] and not info["mathErrors"]
    assert not info["brokenImages"]
    outside = [u for u in info["resources"] if not u.startswith(("file:", "data:", "blob:"))]
    assert not outside, f"requests outside the folder: {outside}"
