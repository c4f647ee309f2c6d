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
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

SETUP_TEMPLATE = '''\
# Setup: in Google Colab, fetch the book's code (the `utils` package) and the packages
# Colab lacks; anywhere else this cell does nothing. Every chapter starts with it.
import os, subprocess, sys

REPO_URL = "{url}"
if "google.colab" in sys.modules:
    BOOK_DIR = os.path.abspath(REPO_URL.rstrip("/").split("/")[-1].removesuffix(".git"))
    if not os.path.isdir(BOOK_DIR):
        subprocess.run(["git", "clone", "--depth", "1", REPO_URL, BOOK_DIR], check=True)
    sys.path.insert(0, BOOK_DIR)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "torchviz", "torchdiffeq"], check=True)'''

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def repo_url(config: str | Path = ROOT / "_config.yml") -> str:
    """The book's repository URL, read from ``_config.yml`` (``repository.url``).

    >>> repo_url().startswith("https://")
    True
    """
    import yaml

    data = yaml.safe_load(Path(config).read_text())
    try:
        url = data["repository"]["url"]
    except (KeyError, TypeError):
        raise KeyError(f"{config} has no repository.url; add it under `repository:`") from None
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"repository.url in {config} is empty")
    return url.strip().rstrip("/")


def setup_cell_source(url: str) -> str:
    """The standard first code cell of every chapter, for the repository at ``url``."""
    if '"' in url or "\n" in url:
        raise ValueError(f"not a repository URL: {url!r}")
    return SETUP_TEMPLATE.format(url=url)


def chapter_paths(root: str | Path = ROOT) -> list[Path]:
    """Every chapter notebook, in order: ``chapters/NN_topic.ipynb``."""
    return sorted(Path(root, "chapters").glob("[0-9][0-9]_*.ipynb"))


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _new_setup_cell(url: str) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": None, "id": "setup",
            "metadata": {"tags": ["hide-cell"]}, "outputs": [], "source": setup_cell_source(url)}


def normalise(nb: dict[str, Any], url: str) -> dict[str, Any]:
    """Return ``nb`` with the standard setup cell first, no outputs and clean metadata."""
    cells = nb["cells"]
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    if code and "google.colab" in _source(cells[code[0]]):
        cells[code[0]] = _new_setup_cell(url)
    else:
        first_code = code[0] if code else len(cells)
        cells.insert(first_code, _new_setup_cell(url))
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
    url = repo_url(Path(root, "_config.yml"))
    changed = []
    for path in paths if paths is not None else chapter_paths(root):
        before = path.read_text()
        after = dumps(normalise(json.loads(before), url))
        if after != before:
            path.write_text(after)
            changed.append(path)
    return changed


def problems(root: str | Path = ROOT) -> list[str]:
    """What is out of shape in the chapters (empty when all is well)."""
    url = repo_url(Path(root, "_config.yml"))
    found = []
    for path in chapter_paths(root):
        text = path.read_text()
        if dumps(normalise(json.loads(text), url)) != text:
            found.append(f"{path.name}: not normalised (outputs, setup cell or metadata); "
                         "run `make sync`")
    return found


def execute(path: str | Path, *, timeout: int = 600) -> float:
    """Execute a notebook top to bottom in its own folder (outputs are not saved); return
    the seconds it took. A failing cell raises ``nbclient.exceptions.CellExecutionError``.

    >>> seconds = execute("chapters/01_tensors.ipynb")
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
