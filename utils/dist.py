"""Running a training script on several processes with ``torchrun``, from a notebook.

A function defined in a notebook cannot be started in new processes (``mp.spawn`` pickles
it from ``__main__``, which the children cannot import), so a multi-process program is a
script file, launched with ``torchrun`` as it would be on a cluster. ``launch`` does that
and returns what rank 0 reported with ``report``; when a rank fails or the run hangs, it
raises an error that names the rank and shows its last lines.

>>> import pathlib, tempfile
>>> script = pathlib.Path(tempfile.mkdtemp()) / "hello.py"
>>> _ = script.write_text(
...     "import os\\nfrom utils.dist import report\\n"
...     "report({'world_size': int(os.environ['WORLD_SIZE'])})\\n")
>>> launch(script, nproc=2).result
{'world_size': 2}
"""
from __future__ import annotations

import json
import numbers
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .checks import whole_number

__all__ = ["LaunchError", "Run", "backend", "launch", "report"]

_MARK = "BOOK_RESULT "
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)  # the folder that holds utils/


class LaunchError(RuntimeError):
    """A multi-process run failed: ``rank`` is the first rank that failed (or None)."""

    def __init__(self, message: str, rank: int | None = None) -> None:
        super().__init__(message)
        self.rank = rank


@dataclass
class Run:
    """What a launch gave back: rank 0's ``result``, the wall ``seconds`` and each rank's
    printed ``output`` (of the last attempt, keyed by global rank)."""

    result: Any
    seconds: float
    output: dict[int, str] = field(default_factory=dict)
    attempts: int = 1


def report(obj: Any) -> None:
    """Called in a launched script: rank 0 hands ``obj`` (anything JSON can hold) back to
    ``launch``; on other ranks it does nothing.

    >>> report({"loss": 0.5})   # outside torchrun this process counts as rank 0
    BOOK_RESULT {"loss": 0.5}
    """
    if int(os.environ.get("RANK", "0")) == 0:
        print(_MARK + json.dumps(obj), flush=True)


def backend() -> str:
    """The process-group backend for this process: ``nccl`` when it has a GPU of its own
    (one per local rank), otherwise ``gloo`` (CPUs, or fewer GPUs than processes).

    >>> backend() in ("gloo", "nccl")
    True
    """
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    wanted = os.environ.get("BOOK_DEVICE", "").strip().lower()
    if wanted.startswith("cpu") or not torch.cuda.is_available():
        return "gloo"
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return "nccl" if local_rank < torch.cuda.device_count() and \
        local_world <= torch.cuda.device_count() else "gloo"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _outputs(log_dir: Path, nproc: int, node: int) -> tuple[dict[int, str], int]:
    """Each rank's stdout+stderr from torchrun's log folder (last attempt) and the number
    of attempts made."""
    out: dict[int, str] = {}
    attempts = sorted(log_dir.glob("**/attempt_*"), key=lambda p: int(p.name.split("_")[1]))
    if not attempts:
        return out, 0
    last = attempts[-1]
    for local in range(nproc):
        texts = [(last / str(local) / f).read_text(errors="replace")
                 for f in ("stdout.log", "stderr.log") if (last / str(local) / f).exists()]
        out[node * nproc + local] = "".join(texts)
    return out, int(last.name.split("_")[1]) + 1


def _stop(procs: list[subprocess.Popen]) -> None:
    """Stop every agent and its workers: SIGTERM first (torchrun then stops its workers),
    SIGKILL for what is left after a grace period."""
    for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        for proc in procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.perf_counter() + grace
        for proc in procs:
            try:
                proc.communicate(timeout=max(0.1, deadline - time.perf_counter()))
            except subprocess.TimeoutExpired:
                pass


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-lines:])


def launch(
    script: str | Path,
    *,
    nproc: int = 2,
    args: Sequence[str] = (),
    timeout: float = 120.0,
    max_restarts: int = 0,
    nnodes: int = 1,
    threads: int = 1,
    env: dict[str, str] | None = None,
) -> Run:
    """Run ``script`` on ``nproc`` processes per node with ``torchrun`` and return a
    :class:`Run` whose ``result`` is what rank 0 passed to :func:`report`.

    ``nnodes > 1`` starts that many torchrun agents on this machine, joined by a c10d
    rendezvous on a local port: the multi-node launch, with every "node" here. The "nodes"
    would share this machine's GPUs (each thinks it has GPU 0), so they run on the CPU
    (``BOOK_DEVICE=cpu``, so :func:`backend` says gloo) unless ``env`` says otherwise.
    ``max_restarts`` lets torchrun restart all processes after a failure (elastic runs).
    torchrun's key-value store outlives a restart, so a restarting script should join the
    group through a store prefixed per attempt (``TORCHELASTIC_RESTART_COUNT``), or the
    new processes may read the dead ones' addresses; the distributed chapter shows how.
    Each process gets ``OMP_NUM_THREADS=threads``, and ``utils`` is importable in the script.

    Raises ``LaunchError`` (naming the failing rank and showing its last lines) when a rank
    fails, ``TimeoutError`` (after stopping every process) when the run takes longer than
    ``timeout`` seconds, and ``ValueError`` for more processes than this machine can run.
    """
    script = Path(script)
    if not script.is_file():
        raise FileNotFoundError(f"no script at {script}; write it first (e.g. with %%writefile)")
    nproc = whole_number(nproc, "nproc", minimum=1)
    nnodes = whole_number(nnodes, "nnodes", minimum=1)
    max_restarts = whole_number(max_restarts, "max_restarts")
    threads = whole_number(threads, "threads", minimum=1)
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    cores = os.cpu_count() or 1
    if nproc * nnodes * threads > cores:
        raise ValueError(
            f"{nproc * nnodes} processes x {threads} threads need {nproc * nnodes * threads} "
            f"CPU cores, but this machine has {cores}; ask for fewer processes (nproc) or "
            "run on a bigger machine")
    if any(not isinstance(a, str) for a in args):
        raise TypeError("args must be strings, as on a command line")

    run_env = dict(os.environ)
    if nnodes > 1:
        run_env["BOOK_DEVICE"] = "cpu"
    run_env.update(env or {})
    run_env["OMP_NUM_THREADS"] = str(threads)
    run_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (_PACKAGE_ROOT, run_env.get("PYTHONPATH", "")) if p)
    run_env.setdefault("PYTHONUNBUFFERED", "1")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="book-dist-") as tmp:
        procs = []
        for node in range(nnodes):
            log_dir = Path(tmp) / f"node{node}"
            cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={nproc}",
                   f"--max-restarts={max_restarts}", f"--log-dir={log_dir}", "--redirects=3"]
            if nnodes == 1:
                cmd += ["--standalone"]
            else:
                cmd += [f"--nnodes={nnodes}", f"--node-rank={node}", "--rdzv-backend=c10d",
                        f"--rdzv-endpoint=127.0.0.1:{port}", "--rdzv-id=book"]
            procs.append(subprocess.Popen([*cmd, str(script), *args], env=run_env,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                          text=True, start_new_session=True))
        start = time.perf_counter()
        agent_logs, timed_out = [], False
        for proc in procs:
            left = max(0.1, timeout - (time.perf_counter() - start))
            try:
                agent_logs.append(proc.communicate(timeout=left)[0])
            except subprocess.TimeoutExpired:
                timed_out = True
                break
        if timed_out:
            _stop(procs)
        seconds = time.perf_counter() - start
        outputs: dict[int, str] = {}
        attempts = 0
        for node in range(nnodes):
            got, attempts = _outputs(Path(tmp) / f"node{node}", nproc, node)
            outputs.update(got)

    if timed_out:
        quiet = [r for r, text in sorted(outputs.items()) if _MARK not in text]
        lines = "\n".join(f"  rank {r}, last lines:\n{_tail(text, 4) or '    (nothing)'}"
                          for r, text in sorted(outputs.items()))
        raise TimeoutError(
            f"{script.name} did not finish within {timeout:g} s on {nproc * nnodes} "
            f"processes and was stopped; ranks still running: {quiet or 'unknown'} (a rank "
            f"waiting in a collective that another rank never calls hangs like this)\n{lines}")
    failed = [r for r, text in sorted(outputs.items()) if "Traceback (most recent call last)"
              in text]
    codes = [proc.returncode for proc in procs]
    if any(codes) or failed:
        # torchrun names the first rank that failed (the others often fail because of it:
        # their peer closed the connection); else the first rank with a traceback.
        root = re.search(r"Root Cause.*?rank\s*:\s*(\d+)", "\n".join(agent_logs), re.DOTALL)
        rank = int(root.group(1)) if root else (failed[0] if failed else None)
        shown = _tail(outputs.get(rank, "") if rank is not None else "\n".join(agent_logs), 15)
        who = f"rank {rank}" if rank is not None else "a process"
        raise LaunchError(f"{script.name} failed on {who} of {nproc * nnodes} (torchrun exit "
                          f"code {max(codes)}); its last lines:\n{shown}", rank)
    result_lines = [line for line in outputs.get(0, "").splitlines() if line.startswith(_MARK)]
    if not result_lines:
        raise LaunchError(f"{script.name} finished but rank 0 reported nothing; call "
                          "utils.dist.report(...) on rank 0 at the end of the script", 0)
    return Run(json.loads(result_lines[-1][len(_MARK):]), seconds, outputs, attempts)
