"""The book's hygiene: every chapter is listed, normalised (no outputs) and starts with the
same Colab setup cell, whose URL is _config.yml's and which really works in a Colab-like kernel."""
import json
import os
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
    assert first["source"] == book.setup_cell_source(book.repo_url()), "run `make sync`"


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
    (tmp_path / "_config.yml").write_text("repository:\n  url: ''\n")
    with pytest.raises(ValueError, match="empty"):
        book.repo_url(tmp_path / "_config.yml")
    with pytest.raises(ValueError, match="not a repository URL"):
        book.setup_cell_source('x" ; import os')


def test_normalise_inserts_the_setup_cell_and_strips_outputs():
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# T"]},
                    {"cell_type": "code", "metadata": {"jupytext": {}}, "source": "1",
                     "outputs": [{"output_type": "stream"}], "execution_count": 3}],
          "metadata": {"jupytext": {}}}
    out = book.normalise(nb, "https://example.org/a/b")
    kinds = [c["cell_type"] for c in out["cells"]]
    assert kinds == ["markdown", "code", "code"]
    assert "https://example.org/a/b" in out["cells"][1]["source"]
    assert out["cells"][2]["outputs"] == [] and out["cells"][2]["metadata"] == {}
    assert out["metadata"]["kernelspec"]["name"] == "python3"
    again = book.normalise(json.loads(book.dumps(out)), "https://example.org/a/b")
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
    url = book.repo_url()
    cell = book.setup_cell_source(url)
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
    assert run.stdout.splitlines()[0] == str(fetched / "utils" / "__init__.py")


def test_setup_cell_does_nothing_outside_colab(tmp_path):
    cell = book.setup_cell_source(book.repo_url())
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


def test_main_commands(capsys):
    assert book.main(["check"]) in (0, 1)
    assert book.main(["nonsense"]) == 2
    assert "python -m utils.book sync" in capsys.readouterr().out
