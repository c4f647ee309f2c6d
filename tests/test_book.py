"""The book's hygiene: every chapter is listed, normalised (no outputs) and starts with the
same Colab setup cell, whose URL is _config.yml's and which really works in a Colab-like kernel."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from utils import book

ROOT = book.ROOT
CHAPTERS = book.chapter_paths()
TOC_FILES = [c["file"] for part in yaml.safe_load((ROOT / "_toc.yml").read_text())["parts"]
             for c in part["chapters"]]


def code_cells(path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_toc_and_chapters_agree():
    on_disk = [str(p.relative_to(ROOT).with_suffix("")) for p in CHAPTERS]
    assert on_disk == [f for f in TOC_FILES if (ROOT / f"{f}.ipynb").exists()], "a chapter is missing from _toc.yml"
    missing = [f for f in TOC_FILES if not (ROOT / f"{f}.ipynb").exists() and not (ROOT / f"{f}.md").exists()]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"
    assert yaml.safe_load((ROOT / "_toc.yml").read_text())["root"] == "intro" and (ROOT / "intro.md").exists()


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_committed_without_outputs(path):
    for cell in code_cells(path):
        assert cell["outputs"] == [] and cell["execution_count"] is None, "run `make sync` to strip outputs"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_starts_with_the_standard_setup_cell(path):
    first = code_cells(path)[0]
    assert first["source"] == book.standard_setup_cell(), "run `make sync`"


def test_every_chapter_is_normalised():
    assert book.problems() == []


def test_chapter_names_follow_the_pattern():
    assert CHAPTERS, "no chapters found"
    for number, path in enumerate(CHAPTERS, start=1):
        assert path.name.startswith(f"{number:02d}_"), f"{path.name}: chapters are numbered 01, 02, ..."


def test_repo_url_and_setup_cell_errors(tmp_path):
    assert book.repo_url().startswith("https://github.com/")
    (tmp_path / "_config.yml").write_text("title: x\n")
    with pytest.raises(KeyError, match="no repository.url"):
        book.repo_url(tmp_path / "_config.yml")
    with pytest.raises(KeyError, match="no repository.ref"):
        book.repo_ref(tmp_path / "_config.yml")
    (tmp_path / "_config.yml").write_text("repository:\n  url: ''\n  ref: 'v1; rm -rf'\n")
    with pytest.raises(ValueError, match="empty"):
        book.repo_url(tmp_path / "_config.yml")
    with pytest.raises(ValueError, match="tag or branch"):
        book.repo_ref(tmp_path / "_config.yml")
    with pytest.raises(ValueError, match="not a repository URL"):
        book.setup_cell_source('x" ; import os')
    with pytest.raises(ValueError, match="not a git tag or branch"):
        book.setup_cell_source("https://example.org/b", ref="a b")
    (tmp_path / "requirements-colab.txt").write_text("numpy==2.1.3\n")
    with pytest.raises(ValueError, match="pins no torch"):
        book.oldest_torch(tmp_path / "requirements-colab.txt")


def test_setup_cell_names_the_configured_release_and_oldest_torch(tmp_path):
    (tmp_path / "_config.yml").write_text(
        "repository:\n  url: https://example.org/me/book\n  ref: v9.9\n")
    (tmp_path / "requirements-colab.txt").write_text("# pins\ntorch==2.7.1\nnumpy==2.1.3\n")
    cell = book.standard_setup_cell(tmp_path)
    assert 'REPO_URL = "https://example.org/me/book"' in cell
    assert 'REPO_REF = "v9.9"' in cell
    assert "< (2, 7):" in cell and "torch 2.7 and newer" in cell
    assert book.oldest_torch() == tuple(
        int(v) for v in re.search(r"^torch==(\d+)\.(\d+)",
                                  (ROOT / "requirements-colab.txt").read_text(),
                                  re.MULTILINE).groups())
    compile(cell, "setup", "exec")  # valid Python


def test_sync_rewrites_a_notebook_and_check_then_passes(tmp_path):
    """`sync` on a copy of the book: a chapter with outputs and an old setup cell is
    normalised, `problems` lists it before and not after, and a second sync changes nothing."""
    for name in ("_config.yml", "requirements-colab.txt"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "chapters").mkdir()
    nb = json.loads(CHAPTERS[0].read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    code[0]["source"] = "# an old setup cell\nimport google.colab"
    code[1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi"}]
    code[1]["execution_count"] = 7
    target = tmp_path / "chapters" / "01_x.ipynb"
    target.write_text(json.dumps(nb))
    assert [p.split(":")[0] for p in book.problems(tmp_path)] == ["01_x.ipynb"]
    assert book.sync(tmp_path) == [target]
    assert book.problems(tmp_path) == []
    synced = json.loads(target.read_text())
    first = [c for c in synced["cells"] if c["cell_type"] == "code"][0]
    assert first["source"] == book.standard_setup_cell(tmp_path)
    assert all(c.get("outputs", []) == [] for c in synced["cells"])
    assert book.sync(tmp_path) == [], "a second sync changes nothing"


# --------------------------------------------------------------------- how a page reads
MAX_LINE, MAX_CELL_LINES = 88, 45
URL = re.compile(r"https?://\S+")
DRAWING = re.compile(r"\b(plt|ax|axes|fig|axs|cax)\b\.|\.(plot|imshow|scatter|legend|set_\w+|"
                     r"text|bar|hist|fill_between|axhline|axvline|contourf?|colorbar|"
                     r"tight_layout|suptitle|savefig)\(|utils\.plot\.|plt\.subplots")


def drawing_only(source: str) -> bool:
    """A cell that only draws a figure: it uses matplotlib, asserts and prints nothing, and
    at least half of its statements are drawing calls."""
    lines = [l for l in source.splitlines() if l.strip() and not l.strip().startswith("#")]
    if not lines or "assert" in source or "print(" in source:
        return False
    drawing = sum(bool(DRAWING.search(l)) for l in lines)
    return drawing >= 3 and drawing >= len(lines) / 2


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_code_lines_fit_the_page(path):
    long = [(i, line) for i, cell in enumerate(code_cells(path))
            for line in cell["source"].splitlines()
            if len(URL.sub("", line)) > MAX_LINE]
    assert not long, (f"{len(long)} code lines are longer than {MAX_LINE} characters "
                      f"(they scroll sideways on the website); the first: {long[:3]}")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_code_cells_are_short(path):
    long = [(cell.get("id"), len(cell["source"].splitlines())) for cell in code_cells(path)[1:]
            if len(cell["source"].splitlines()) > MAX_CELL_LINES]
    assert not long, f"cells over {MAX_CELL_LINES} lines (split them into steps): {long}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_cells_that_only_draw_fold_their_code(path):
    untagged = [cell.get("id") for cell in code_cells(path)
                if drawing_only(cell["source"])
                and not {"hide-input", "hide-cell", "remove-input"}
                & set(cell.get("metadata", {}).get("tags", []))]
    assert not untagged, f"cells that only draw a figure should be tagged hide-input: {untagged}"


def test_drawing_only_tells_drawing_from_lessons():
    drawing = "fig, ax = plt.subplots()\nax.plot(x, y)\nax.set_xlabel('x')\nax.legend()"
    assert drawing_only(drawing)
    assert not drawing_only(drawing + "\nassert y[0] > y[-1]")
    assert not drawing_only("y = model(x)\nloss = loss_fn(y, t)\nloss.backward()\nax.plot(y)")


def test_normalise_inserts_the_setup_cell_and_strips_outputs():
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# T"]},
                    {"cell_type": "code", "metadata": {"jupytext": {}}, "source": "1",
                     "outputs": [{"output_type": "stream"}], "execution_count": 3}],
          "metadata": {"jupytext": {}}}
    setup = book.setup_cell_source("https://example.org/a/b")
    out = book.normalise(nb, setup)
    kinds = [c["cell_type"] for c in out["cells"]]
    assert kinds == ["markdown", "code", "code"]
    assert out["cells"][1]["source"] == setup and out["cells"][1]["id"] == "setup"
    assert out["cells"][2]["outputs"] == [] and out["cells"][2]["metadata"] == {}
    assert out["metadata"]["kernelspec"]["name"] == "python3"
    again = book.normalise(json.loads(book.dumps(out)), setup)
    assert book.dumps(again) == book.dumps(out), "normalising twice changes nothing"


def test_setup_cell_fetches_the_book_in_colab(tmp_path):
    """Run the setup cell as Colab would (a `google.colab` module exists), pointed at a local
    clone of this repository, then import `utils` from the fetched copy."""
    origin = tmp_path / "remote" / "executable-pytorch-book"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(origin)], check=True)
    fake = tmp_path / "fake_modules" / "google" / "colab"
    fake.mkdir(parents=True)
    (fake.parent / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    subprocess.run(["git", "-C", str(origin), "tag", book.repo_ref()], check=True)
    url = book.repo_url()
    cell = book.standard_setup_cell()
    assert cell.count(url) == 1
    local_cell = cell.replace(url, origin.as_uri())
    content = tmp_path / "content"
    content.mkdir()
    script = ("import google.colab, sys\n" + local_cell +
              "\nimport utils\nprint(utils.__file__)\nprint(utils.get_device())\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(tmp_path / "fake_modules"), PIP_NO_INDEX="1")
    run = subprocess.run([sys.executable, "-c", script], cwd=content, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    fetched = content / "executable-pytorch-book"
    assert (fetched / "utils" / "__init__.py").exists()
    lines = run.stdout.splitlines()
    assert lines[0].startswith("torch ") and ", torchvision " in lines[0], lines
    assert str(fetched / "utils" / "__init__.py") in lines, "utils must come from the clone"
    assert not any(line.startswith("Warning:") for line in lines), lines


def test_setup_cell_does_nothing_outside_colab(tmp_path):
    cell = book.standard_setup_cell()
    run = subprocess.run([sys.executable, "-c", cell + "\nprint(sorted(os.listdir('.')))"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "[]"


def test_execute_times_a_notebook_and_reports_failures(tmp_path):
    import nbformat
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time; time.sleep(0.3)")])
    nbformat.write(nb, tmp_path / "ok.ipynb")
    assert 0.3 <= book.execute(tmp_path / "ok.ipynb") < 60
    nb.cells.append(nbformat.v4.new_code_cell("assert 1 == 2, 'a claim failed'"))
    nbformat.write(nb, tmp_path / "bad.ipynb")
    with pytest.raises(CellExecutionError, match="a claim failed"):
        book.execute(tmp_path / "bad.ipynb")
    with pytest.raises(FileNotFoundError, match="no notebook"):
        book.execute(tmp_path / "missing.ipynb")


def test_bench_prints_a_table(tmp_path):
    import io

    import nbformat

    (tmp_path / "chapters").mkdir()
    for name in ("01_a", "02_b"):
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]),
                       tmp_path / "chapters" / f"{name}.ipynb")
    out = io.StringIO()
    times = book.bench(tmp_path, out=out)
    assert list(times) == ["01_a.ipynb", "02_b.ipynb"]
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("device: ") and lines[1].startswith("01_a.ipynb") and lines[-1].startswith("total")


def test_main_commands(capsys, monkeypatch):
    monkeypatch.setattr(book, "problems", lambda: [])
    assert book.main(["check"]) == 0
    assert "all chapters are in shape" in capsys.readouterr().out
    monkeypatch.setattr(book, "problems", lambda: ["01_x.ipynb: not normalised"])
    assert book.main(["check"]) == 1
    assert "01_x.ipynb: not normalised" in capsys.readouterr().out
    assert book.main(["nonsense"]) == 2
    assert "python -m utils.book sync" in capsys.readouterr().out
