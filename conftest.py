"""pytest settings for the whole book: a per-chapter timing table at the end of the run.

nbval turns each notebook cell into a test; here the cells' times are added up per notebook,
so a slow chapter shows the day it appears.
"""
from __future__ import annotations

import collections
import os

_TIMES: dict[str, float] = collections.defaultdict(float)
_FAILED: set[str] = set()
BUDGET_S = 90.0


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
