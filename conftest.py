"""pytest settings for the whole book.

- A per-chapter timing table at the end of the run (nbval makes each cell a test; the
  cells' times are added up per notebook, so a slow chapter shows the day it appears).
- With ``--cache-executed``, each chapter that passes under nbval is stored, with the outputs
  it produced, in the book's execution cache (``_build/.jupyter_cache``, jupyter-cache, the
  same cache ``jupyter-book build`` uses), so the website test builds without re-running it.
- Tests marked ``website`` run last, after the chapters.
"""
from __future__ import annotations

import collections
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
CACHE = ROOT / "_build" / ".jupyter_cache"
BUDGET_S = 90.0

_TIMES: dict[str, float] = collections.defaultdict(float)
_FAILED: set[str] = set()


def pytest_addoption(parser) -> None:
    parser.addoption("--cache-executed", action="store_true",
                     help="store each chapter that passes, with its outputs, in the book's execution cache")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "website: builds the book and checks it in a browser (runs last)")
    # torchviz 0.0.3 compares versions with distutils' LooseVersion; the fix is upstream's to make.
    config.addinivalue_line("filterwarnings",
                            "ignore:distutils Version classes are deprecated:DeprecationWarning:torchviz")


def pytest_collection_modifyitems(items) -> None:
    items.sort(key=lambda item: item.get_closest_marker("website") is not None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or not hasattr(item, "test_outputs"):
        return
    # An nbval cell: keep what it printed and drew, as a notebook would.
    item.cell.outputs = list(item.test_outputs or [])
    item.cell.execution_count = item.cell_num + 1 if hasattr(item, "cell_num") else None
    notebook = item.parent
    cells = [i for i in notebook.session.items if i.parent is notebook]
    if report.passed and item is cells[-1] and item.config.getoption("--cache-executed"):
        if str(notebook.path) not in {str(ROOT / p) for p in _FAILED}:
            _store_in_cache(notebook)


def _store_in_cache(notebook) -> None:
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    nb = notebook.nb
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            for out in cell.outputs:
                if out.get("output_type") == "execute_result":
                    out["execution_count"] = count
    rel = str(Path(notebook.path).relative_to(ROOT))
    get_cache(str(CACHE)).cache_notebook_bundle(
        CacheBundleIn(nb, str(notebook.path), data={"execution_seconds": _TIMES[rel]}),
        check_validity=False, overwrite=True)


def pytest_runtest_logreport(report) -> None:
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _TIMES[path] += report.duration
        if report.failed:
            _FAILED.add(path)


def pytest_terminal_summary(terminalreporter) -> None:
    if not _TIMES:
        return
    device = os.environ.get("BOOK_DEVICE", "auto")
    write = terminalreporter.write_line
    terminalreporter.section(f"seconds per chapter (BOOK_DEVICE={device}, budget {BUDGET_S:.0f} s)")
    for path, seconds in sorted(_TIMES.items()):
        flag = "FAILED" if path in _FAILED else ("OVER BUDGET" if seconds > BUDGET_S else "ok")
        write(f"{path:<44} {seconds:7.1f} s  {flag}")
    write(f"{'total':<44} {sum(_TIMES.values()):7.1f} s")
