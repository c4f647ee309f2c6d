"""The website as a reader sees it: build the book (warnings are errors), open every page in
headless Chromium with no network, and check what a reader would. Screenshots of every page
are saved in _build/screenshots for people to look at.

Runs last (marker `website`): `make test` has then executed every chapter under nbval and
stored the outputs in the execution cache, so the build does not run them again.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml
from bs4 import BeautifulSoup

from utils import book

pytestmark = pytest.mark.website

ROOT = book.ROOT
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHAPTERS = [p.stem for p in book.chapter_paths()]
# Figures each chapter promises (its issue's "at least N figures").
MIN_FIGURES = {"01_tensors": 3, "02_autograd": 2, "03_gradient_descent": 3, "04_nn_module": 2,
               "05_training": 3, "06_convolutions": 4, "07_cnn_zoo": 3, "08_hooks_debugging": 3,
               "09_resnet_neural_ode": 4, "10_autoencoders": 4, "11_generative": 4,
               "12_attention": 3, "13_distributed": 3}
BAD_OUTPUT = re.compile(r"Traceback \(most recent call last\)|\w+Warning:|^\s*warnings\.warn",
                        re.MULTILINE)


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        pytest.fail("Chromium is needed for the website test: run `make setup` (installs it with "
                     "apt-get when root) or `sudo apt-get install chromium`")
    return exe


def browse(url: str, *extra: str, timeout: int = 90) -> str:
    """Open a page in headless Chromium with no network; return what it printed (the DOM
    after the page's scripts ran, with ``--dump-dom``)."""
    args = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
            f"--user-data-dir={SHOTS.parent / '.chromium'}", "--virtual-time-budget=10000", *extra, url]
    run = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.fixture(scope="module")
def site() -> Path:
    env = dict(os.environ, BOOK_PROGRESS="last")
    jb = Path(sys.executable).with_name("jupyter-book")
    run = subprocess.run([str(jb), "build", str(ROOT), "--builder", "html", "-W", "--keep-going"],
                         capture_output=True, text=True, env=env, timeout=3000)
    log = run.stdout + run.stderr
    warnings = [line for line in log.splitlines() if "WARNING:" in line]
    assert run.returncode == 0 and not warnings, "the book build warned or failed:\n" + "\n".join(
        warnings or log.splitlines()[-40:])
    SHOTS.mkdir(parents=True, exist_ok=True)
    return HTML


@pytest.fixture(scope="module")
def dom(site):
    """Each page's DOM after its scripts ran in Chromium (MathJax included)."""
    cache: dict[str, BeautifulSoup] = {}

    def get(page: str) -> BeautifulSoup:
        if page not in cache:
            cache[page] = BeautifulSoup(browse((site / page).as_uri(), "--dump-dom"), "html.parser")
        return cache[page]
    return get


def static(site: Path, page: str) -> BeautifulSoup:
    return BeautifulSoup((site / page).read_text(encoding="utf-8"), "html.parser")


def all_pages(site: Path) -> list[str]:
    return sorted(str(p.relative_to(site)) for p in site.rglob("*.html") if "_static" not in p.parts)


def test_every_page_loads_nothing_from_the_network(site):
    for page in all_pages(site):
        soup = static(site, page)
        remote = [t.get("src") or t.get("href") for t in soup.find_all(["script", "link", "img"])
                  if re.match(r"(https?:)?//", (t.get("src") or (t.get("href") if t.name == "link" and
                              "stylesheet" in (t.get("rel") or []) else "") or ""))]
        assert not remote, f"{page} loads {remote} from the network: the site must work offline"


def test_every_internal_link_resolves(site):
    ids: dict[Path, set[str]] = {}
    for page in all_pages(site):
        for a in static(site, page).find_all("a", href=True):
            href = a["href"]
            parsed = urlparse(href)
            if parsed.scheme or href.startswith(("mailto:", "javascript:")):
                continue
            target = (site / page).parent / unquote(parsed.path) if parsed.path else site / page
            if target.is_dir():
                target = target / "index.html"
            assert target.exists(), f"{page}: link {href!r} points at a missing file"
            if parsed.fragment and target.suffix == ".html":
                if target not in ids:
                    ids[target] = {t["id"] for t in static(site, str(target.relative_to(site))).find_all(id=True)}
                assert parsed.fragment in ids[target], f"{page}: link {href!r} names a missing anchor"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_as_a_reader_sees_it(site, dom, chapter):
    page = f"chapters/{chapter}.html"
    soup = dom(page)
    browse((site / page).as_uri(), f"--screenshot={SHOTS / (chapter + '.png')}",
           "--window-size=1280,2400", "--hide-scrollbars")

    outputs = soup.select("div.cell_output")
    assert len(outputs) >= 5, f"{page} shows {len(outputs)} executed outputs: was it executed?"
    text = "\n".join(o.get_text("\n") for o in outputs)
    assert not BAD_OUTPUT.search(text), f"{page} shows an error or warning: {BAD_OUTPUT.search(text).group(0)!r}"
    assert not soup.select("div.cell_output .stderr, div.output.stderr"), f"{page} shows stderr output"

    for output in outputs:  # each bar shows its final state only: no earlier frame before it
        bars = [(desc, int(n), int(total)) for desc, n, total in
                re.findall(r"^(.*?):\s*\d+%\|[^|\n]*\|\s*(\d+)/(\d+)", output.get_text("\n"), re.MULTILINE)]
        for (desc, n, total), (desc2, n2, total2) in zip(bars, bars[1:]):
            assert not (desc == desc2 and total == total2 and n < n2), \
                f"{page}: the progress bar {desc!r} is drawn more than once ({n}/{total}, then {n2}/{total2})"
    assert "\r" not in text

    figures = soup.select("div.cell_output img")
    assert len(figures) >= MIN_FIGURES.get(chapter, 1), f"{page} shows {len(figures)} figures"
    for img in figures:
        assert (site / "chapters" / unquote(img["src"])).exists(), f"{page}: image {img['src']} missing"

    if soup.select("span.math, div.math"):
        assert soup.select("mjx-container"), f"{page}: math was not typeset by MathJax"
        assert not soup.select("mjx-merror"), f"{page}: MathJax reports a TeX error"

    owner_repo = "/".join(urlparse(book.repo_url()).path.strip("/").split("/")[:2])
    branch = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"].get("branch", "main")
    colab = f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/chapters/{chapter}.ipynb"
    assert soup.find("a", href=colab), f"{page}: no Colab button pointing at {colab}"
    downloads = [a["href"] for a in soup.find_all("a", href=True) if a["href"].endswith(f"{chapter}.ipynb")
                 and not a["href"].startswith("http")]
    assert downloads, f"{page}: no download link for the notebook"
    assert all((site / "chapters" / unquote(h)).exists() for h in downloads)

    index = CHAPTERS.index(chapter)
    if index + 1 < len(CHAPTERS):
        assert soup.find("a", href=re.compile(rf"(^|/){CHAPTERS[index + 1]}\.html")), f"{page}: no link to the next chapter"


# A page that loads a chapter in a 1280x900 frame (a laptop window) and writes, into its own
# DOM, how many code and output blocks of the chapter scroll sideways, and whether a probe line
# of 88 characters (the longest a chapter's code may have) fits in a code block.
MEASURE_PAGE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" style="width:%(width)dpx;height:900px;border:0" src="%(src)s"></iframe>
<pre id="result">not measured</pre>
<script>
document.getElementById("f").addEventListener("load", () => {
  const doc = document.getElementById("f").contentDocument;
  const blocks = [...doc.querySelectorAll("div.highlight pre, div.cell_output pre")];
  const wide = blocks.filter(b => b.scrollWidth > b.clientWidth)
    .map(b => b.textContent.split("\\n").reduce((a, l) => l.length > a.length ? l : a, ""));
  const code = doc.querySelector("div.cell div.highlight pre");
  let probe = null;
  if (code) {
    const line = code.cloneNode(false);
    line.textContent = "x".repeat(88);
    code.parentNode.appendChild(line);
    probe = [line.scrollWidth, line.clientWidth];
  }
  document.getElementById("result").textContent =
    JSON.stringify({blocks: blocks.length, wide: wide, probe: probe});
});
</script></body></html>"""


def sideways(site: Path, page: str, width: int = 1280) -> dict:
    """How the chapter page's code and output blocks fit a window ``width`` pixels wide."""

    wrapper = SHOTS / f"measure-{Path(page).stem}-{width}.html"
    wrapper.write_text(MEASURE_PAGE % {"width": width, "src": (site / page).as_uri()})
    out = browse(wrapper.as_uri(), "--dump-dom", "--allow-file-access-from-files",
                 f"--window-size={width + 20},1000")
    text = BeautifulSoup(out, "html.parser").find(id="result").get_text()
    assert text.startswith("{"), f"{page}: the layout was not measured ({text!r})"
    return json.loads(text)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_code_block_scrolls_sideways_at_1280_px(site, chapter):
    page = f"chapters/{chapter}.html"
    result = sideways(site, page)
    assert result["blocks"] >= 5, f"{page}: only {result['blocks']} code and output blocks"
    wide = result["wide"]
    assert not wide, (f"{page}: {len(wide)} of {result['blocks']} code/output blocks scroll "
                      f"sideways at 1280 px; their longest lines:\n" + "\n".join(wide[:5]))
    scroll, client = result["probe"]
    assert scroll <= client, (f"{page}: an 88-character code line needs {scroll} px but the "
                              f"code column is {client} px wide (see _static/book.css)")


def test_torchviz_graphs_are_images(site, dom):
    if "02_autograd" not in CHAPTERS:
        pytest.skip("chapter 2 is not written yet")
    svgs = [img["src"] for img in dom("chapters/02_autograd.html").select("div.cell_output img")
            if img["src"].endswith(".svg")]
    assert len(svgs) >= 2, "the autograd graphs should be SVG images"


def test_landing_page_lists_every_chapter(site, dom):
    soup = dom("index.html")
    browse((site / "index.html").as_uri(), f"--screenshot={SHOTS / 'index.png'}", "--window-size=1280,2000")
    links = {a["href"].split("#")[0] for a in soup.select("article a[href]")}
    for chapter in CHAPTERS:
        assert f"chapters/{chapter}.html" in links, f"the landing page does not link {chapter}"


def test_search_finds_a_word_from_a_chapter(site):
    soup = BeautifulSoup(browse((site / "search.html").as_uri() + "?q=broadcasting", "--dump-dom"), "html.parser")
    hits = [a["href"] for a in soup.select("#search-results a[href]")]
    assert any("01_tensors.html" in h for h in hits), f"search for 'broadcasting' found {hits}"
