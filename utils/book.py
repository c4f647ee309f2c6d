"""Keeping the book's notebooks in shape: the Colab setup cell, clean metadata, no outputs.

Run from the repository root:

    python -m utils.book sync [NOTEBOOK ...]
                                  # rewrite every chapter's setup cell from _config.yml's URL,
                                  # strip outputs and normalise the notebook metadata
    python -m utils.book check    # list what is out of shape (exit 1 if anything is)
    python -m utils.book bench    # execute every chapter, print seconds per chapter and total
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

SETUP_TEMPLATE = """\
# Setup: in Google Colab, fetch the book's code (the `utils` package) at the release
# these chapters belong to, and two packages Colab lacks; elsewhere it does nothing.
import os, subprocess, sys

REPO_URL = "{url}"
REPO_REF = "{ref}"  # the book's release (a git tag or branch)
if "google.colab" in sys.modules:
    BOOK_DIR = os.path.abspath(REPO_URL.rstrip("/").split("/")[-1].removesuffix(".git"))
    if not os.path.isdir(BOOK_DIR):
        git = ["git", "clone", "-q", "--depth", "1", "--branch", REPO_REF, REPO_URL,
               BOOK_DIR]
        if subprocess.run(git).returncode != 0:
            raise RuntimeError(f"could not fetch {{REPO_REF!r}} of {{REPO_URL}}; check the "
                               "address, or set REPO_REF = 'main' for the newest code")
    if BOOK_DIR not in sys.path:
        sys.path.insert(0, BOOK_DIR)
    pip = [sys.executable, "-m", "pip", "install", "-q", "torchviz", "torchdiffeq"]
    subprocess.run(pip, check=True)  # torch is left as it is: never reinstalled
    import torch, torchvision

    print(f"torch {{torch.__version__}}, torchvision {{torchvision.__version__}}")
    if tuple(int(v) for v in torch.__version__.split(".")[:2]) < {oldest}:
        print("Warning: the book is tested with torch {oldest_text} and newer; upgrade torch.")"""

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _config(config: str | Path) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load(Path(config).read_text())
    return data if isinstance(data, dict) else {}


def repo_url(config: str | Path = ROOT / "_config.yml") -> str:
    """The book's repository URL, read from ``_config.yml`` (``repository.url``).

    >>> repo_url().startswith("https://")
    True
    """
    try:
        url = _config(config)["repository"]["url"]
    except (KeyError, TypeError):
        raise KeyError(f"{config} has no repository.url; add it under `repository:`") from None
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"repository.url in {config} is empty")
    return url.strip().rstrip("/")


def repo_ref(config: str | Path = ROOT / "_config.yml") -> str:
    """The release (git tag or branch) that the chapters' Colab cell fetches, read from
    ``_config.yml`` (``repository.ref``).

    >>> isinstance(repo_ref(), str)
    True
    """
    try:
        ref = _config(config)["repository"]["ref"]
    except (KeyError, TypeError):
        raise KeyError(f"{config} has no repository.ref (the release tag the Colab cell "
                       "fetches); add it under `repository:`") from None
    if not isinstance(ref, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]*", ref):
        raise ValueError(f"repository.ref in {config} must be a git tag or branch name, "
                         f"got {ref!r}")
    return ref


def oldest_torch(requirements: str | Path = ROOT / "requirements-colab.txt") -> tuple[int, int]:
    """The oldest torch the book is tested with: Colab's, pinned in ``requirements-colab.txt``.

    >>> len(oldest_torch())
    2
    """
    match = re.search(r"^torch==(\d+)\.(\d+)", Path(requirements).read_text(), re.MULTILINE)
    if match is None:
        raise ValueError(f"{requirements} pins no torch version (a line torch==X.Y.Z)")
    return int(match.group(1)), int(match.group(2))


def setup_cell_source(url: str, ref: str = "main", oldest: tuple[int, int] = (2, 0)) -> str:
    """The standard first code cell of every chapter, for the repository at ``url``.

    >>> "https://example.org/book" in setup_cell_source("https://example.org/book")
    True
    """
    if not isinstance(url, str) or '"' in url or "\n" in url or not url.strip():
        raise ValueError(f"not a repository URL: {url!r}")
    if not isinstance(ref, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]*", ref):
        raise ValueError(f"not a git tag or branch name: {ref!r}")
    return SETUP_TEMPLATE.format(url=url, ref=ref, oldest=tuple(oldest),
                                 oldest_text=".".join(map(str, oldest)))


def standard_setup_cell(root: str | Path = ROOT) -> str:
    """The setup cell every chapter must start with, from ``_config.yml`` and the Colab pins.

    >>> standard_setup_cell().startswith("# Setup: in Google Colab")
    True
    """
    root = Path(root)
    return setup_cell_source(repo_url(root / "_config.yml"), repo_ref(root / "_config.yml"),
                             oldest_torch(root / "requirements-colab.txt"))


def chapter_paths(root: str | Path = ROOT) -> list[Path]:
    """Every chapter notebook, in order: ``chapters/NN_topic.ipynb``.

    >>> chapter_paths()[0].name
    '01_tensors.ipynb'
    """
    return sorted(Path(root, "chapters").glob("[0-9][0-9]_*.ipynb"))


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _new_setup_cell(setup: str) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": None, "id": "setup",
            "metadata": {"tags": ["hide-cell"]}, "outputs": [], "source": setup}


def normalise(nb: dict[str, Any], setup: str) -> dict[str, Any]:
    """Return ``nb`` with ``setup`` (the standard setup cell's source) as its first code cell,
    no outputs and clean metadata.

    >>> nb = {"cells": [{"cell_type": "code", "source": "1", "metadata": {}}], "metadata": {}}
    >>> [c["id"] for c in normalise(nb, "# Setup")["cells"]]
    ['setup', 'cell-1']
    """
    cells = nb["cells"]
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    if code and "google.colab" in _source(cells[code[0]]):
        cells[code[0]] = _new_setup_cell(setup)
    else:
        first_code = code[0] if code else len(cells)
        cells.insert(first_code, _new_setup_cell(setup))
    for i, cell in enumerate(cells):
        cell.setdefault("id", f"cell-{i}")
        cell["source"] = _source(cell)
        meta = cell.get("metadata", {})
        cell["metadata"] = {k: v for k, v in meta.items() if k in ("tags", "jupyter")}
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    nb["metadata"] = {
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
        "colab": {"provenance": []},
        "accelerator": "GPU",
    }
    nb["nbformat"], nb["nbformat_minor"] = 4, 5
    return nb


def dumps(nb: dict[str, Any]) -> str:
    """Serialise a notebook the way the book commits them (stable, diff-friendly)."""
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def sync(root: str | Path = ROOT, paths: list[Path] | None = None) -> list[Path]:
    """Normalise every chapter (or just ``paths``) in place; return those that changed."""
    setup = standard_setup_cell(root)
    changed = []
    for path in paths if paths is not None else chapter_paths(root):
        before = path.read_text()
        after = dumps(normalise(json.loads(before), setup))
        if after != before:
            path.write_text(after)
            changed.append(path)
    return changed


def problems(root: str | Path = ROOT) -> list[str]:
    """What is out of shape in the chapters (empty when all is well)."""
    setup = standard_setup_cell(root)
    found = []
    for path in chapter_paths(root):
        text = path.read_text()
        if dumps(normalise(json.loads(text), setup)) != text:
            found.append(f"{path.name}: not normalised (outputs, setup cell or metadata); "
                         "run `make sync`")
    return found


def execute(path: str | Path, *, timeout: int = 600) -> float:
    """Execute a notebook top to bottom in its own folder (outputs are not saved); return
    the seconds it took. A failing cell raises ``nbclient.exceptions.CellExecutionError``.

    >>> execute("no/such/notebook.ipynb")
    Traceback (most recent call last):
    FileNotFoundError: no notebook at no/such/notebook.ipynb
    """
    import time

    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def bench(root: str | Path = ROOT, out=sys.stdout) -> dict[str, float]:
    """Execute every chapter and print a table of seconds per chapter and the total."""
    import os

    import torch

    from .device import get_device

    device = get_device()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{os.cpu_count()} CPU cores"
    print(f"device: {device} ({name}), BOOK_DEVICE={os.environ.get('BOOK_DEVICE', 'unset')}", file=out)
    times = {}
    for path in chapter_paths(root):
        times[path.name] = execute(path)
        print(f"{path.name:<34} {times[path.name]:7.1f} s", file=out, flush=True)
    print(f"{'total':<34} {sum(times.values()):7.1f} s", file=out)
    return times


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["sync"]:
        for path in sync(paths=[Path(a).resolve() for a in args[1:]] or None):
            print(f"normalised {path.relative_to(ROOT)}")
        return 0
    if args == ["bench"]:
        bench()
        return 0
    if args == ["check"]:
        found = problems()
        print("\n".join(found) if found else "all chapters are in shape")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
