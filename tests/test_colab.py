"""utils.colab, the Colab-mode runner behind `make test-colab`: the snapshot carries the
working tree and the release tag, the notebook copy differs only in its setup cell's URL,
and a chapter run that way imports `utils` from the clone its setup cell made."""
import json
import subprocess
import sys

import nbformat
import pytest

from utils import book, colab


def test_snapshot_copies_the_working_tree_and_tags_the_release(tmp_path):
    dest = colab.snapshot(book.ROOT, tmp_path / "repo", "v-test")
    assert (dest / "utils" / "colab.py").read_text() == (book.ROOT / "utils/colab.py").read_text()
    assert not (dest / ".venv").exists(), "ignored files stay out"
    tags = subprocess.run(["git", "-C", str(dest), "tag"], capture_output=True, text=True)
    assert tags.stdout.split() == ["v-test"]
    (tmp_path / "plain").mkdir()
    with pytest.raises(RuntimeError, match="not a git working tree"):
        colab.snapshot(tmp_path / "plain", tmp_path / "x", "v")


def test_colab_notebook_changes_only_the_url():
    nb = json.loads(book.chapter_paths()[0].read_text())
    url = book.repo_url()
    out = colab.colab_notebook(nb, url, "file:///somewhere/book")
    first = [c for c in out["cells"] if c["cell_type"] == "code"][0]["source"]
    assert 'REPO_URL = "file:///somewhere/book"' in first and url not in first
    assert out["cells"][1:] == nb["cells"][1:] or out["cells"][2:] == nb["cells"][2:]
    with pytest.raises(ValueError, match="not the book's setup cell"):
        colab.colab_notebook(nb, "https://elsewhere.org/x", "file:///y")


def test_a_chapter_run_in_colab_mode_imports_utils_from_its_clone(tmp_path):
    setup = book.standard_setup_cell()
    check = ("import os, utils\n"
             "here = os.path.abspath('.')\n"
             "assert utils.__file__.startswith(os.path.join(here, BOOK_DIR, '')), utils.__file__\n"
             "assert 'google.colab' in sys.modules")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup),
                                         nbformat.v4.new_code_cell(check)])
    path = tmp_path / "01_probe.ipynb"
    nbformat.write(nb, path)
    code = colab.run(sys.executable, [path], tmp_path / "work", fresh_installs=False,
                     extra_env={"PIP_NO_INDEX": "1"})
    assert code == 0


def test_main_refuses_a_missing_interpreter_or_notebook(tmp_path, capsys):
    with pytest.raises(SystemExit):
        colab.main(["--python", str(tmp_path / "nope")])
    assert "make test-colab" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        colab.main(["--python", sys.executable, str(tmp_path / "missing.ipynb")])
    assert "no such notebook" in capsys.readouterr().err
