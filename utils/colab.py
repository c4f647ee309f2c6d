"""Run every chapter as Google Colab would: `make test-colab`.

A maintenance command, not part of the lessons:

    python -m utils.colab --python .venv-colab/bin/python [NOTEBOOK ...]

1. The working tree (the files git tracks, and the new ones it does not ignore) is copied
   into a temporary git repository and tagged with the release the setup cell fetches
   (``repository.ref``), so the cell's ``git clone --branch`` finds it as it would on GitHub.
2. Each chapter is copied into an empty working folder with its setup cell pointed at that
   repository, the only change made to it.
3. The chapters run under nbval in the Colab environment (``requirements-colab.txt``), with a
   stand-in ``google.colab`` module imported at start-up: the setup cell takes its Colab
   branch, clones the book, puts it on ``sys.path`` and pip-installs what Colab lacks. So
   ``utils`` comes only from the clone, as in Colab.

>>> colab_notebook({"cells": [{"cell_type": "code", "source": 'REPO_URL = "https://a/b"'}]},
...                "https://a/b", "file:///tmp/b")["cells"][0]["source"]
'REPO_URL = "file:///tmp/b"'
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .book import ROOT, chapter_paths, repo_ref, repo_url

# Colab imports google.colab when its kernel starts; the stand-in does the same through
# sitecustomize, which Python imports at start-up from any folder on PYTHONPATH.
FAKE_MODULES = {
    "google/__init__.py": "",
    "google/colab/__init__.py": '"""Stand-in for Colab\'s module: only its presence matters."""\n',
    "sitecustomize.py": "import google.colab  # noqa: F401 (as in a Colab kernel)\n",
}
LACKING = ("torchviz", "torchdiffeq")  # what Colab lacks; the setup cell installs them


def snapshot(root: Path, dest: Path, ref: str) -> Path:
    """Copy the working tree of ``root`` into a new git repository at ``dest``, committed
    and tagged ``ref``; return ``dest``."""
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], capture_output=True, text=True)
    files = [f for f in listed.stdout.split("\0") if f and (root / f).is_file()]
    if listed.returncode != 0 or not files:
        raise RuntimeError(f"{root} is not a git working tree with files in it")
    for name in files:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    env = dict(os.environ, GIT_AUTHOR_NAME="book", GIT_AUTHOR_EMAIL="book@localhost",
               GIT_COMMITTER_NAME="book", GIT_COMMITTER_EMAIL="book@localhost")
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"],
                ["tag", ref]):
        subprocess.run(["git", "-C", str(dest), *cmd], check=True, env=env,
                       capture_output=True)
    return dest


def colab_notebook(nb: dict[str, Any], url: str, local_url: str) -> dict[str, Any]:
    """A copy of ``nb`` whose setup cell fetches the book from ``local_url`` instead of
    ``url``; nothing else changes."""
    nb = copy.deepcopy(nb)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    source = "".join(code[0]["source"]) if code else ""
    needle = f'REPO_URL = "{url}"'
    if needle not in source:
        raise ValueError(f"the first code cell is not the book's setup cell (no {needle}); "
                         "run `make sync`")
    code[0]["source"] = source.replace(needle, f'REPO_URL = "{local_url}"')
    return nb


def run(python: str, notebooks: list[Path], workdir: Path, *, fresh_installs: bool = True,
        extra_env: dict[str, str] | None = None) -> int:
    """Execute ``notebooks`` as Colab would, with ``python`` (the Colab environment's
    interpreter), inside ``workdir``; return pytest's exit code. ``fresh_installs``
    uninstalls what Colab lacks first, so the setup cell must install it."""
    url, ref = repo_url(), repo_ref()
    name = url.rstrip("/").split("/")[-1].removesuffix(".git")
    repo = snapshot(ROOT, workdir / "remote" / name, ref)
    fake, content = workdir / "fake_modules", workdir / "content"
    for rel, text in FAKE_MODULES.items():
        (fake / rel).parent.mkdir(parents=True, exist_ok=True)
        (fake / rel).write_text(text)
    content.mkdir()
    shutil.copy2(ROOT / "conftest.py", content / "conftest.py")  # the seconds-per-chapter table
    for path in notebooks:
        nb = colab_notebook(json.loads(path.read_text()), url, repo.as_uri())
        (content / path.name).write_text(json.dumps(nb, indent=1))
    if fresh_installs:
        subprocess.run([python, "-m", "pip", "uninstall", "-q", "-y", *LACKING],
                       capture_output=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PYTHONPATH=str(fake), BOOK_PROGRESS="last", MPLBACKEND="agg",
               PYDEVD_DISABLE_FILE_VALIDATION="1", **(extra_env or {}))
    print(f"Colab mode: {len(notebooks)} chapters from a snapshot of the working tree, "
          f"tag {ref}, in {content}", flush=True)
    cmd = [python, "-m", "pytest", *sorted(p.name for p in content.glob("*.ipynb")),
           "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=300",
           "-p", "no:cacheprovider", "-q"]
    return subprocess.run(cmd, cwd=content, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.colab", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", required=True,
                        help="the Colab environment's interpreter (.venv-colab/bin/python)")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapter")
    args = parser.parse_args(argv)
    python = Path(args.python).absolute()
    if not python.is_file():
        parser.error(f"no interpreter at {args.python}; `make test-colab` creates it")
    notebooks = [p.resolve() for p in args.notebooks] or chapter_paths()
    missing = [str(p) for p in notebooks if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="book-colab-") as tmp:
        return run(str(python), notebooks, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
