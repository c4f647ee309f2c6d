"""utils.dist.launch: a two-process run returns rank 0's report, a failing rank is named,
a hanging run is stopped and explained, and impossible requests fail before starting."""
import os
import textwrap
import time

import pytest

from utils import dist


def script(tmp_path, body: str, name: str = "job.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def test_launch_returns_what_rank_0_reports(tmp_path):
    job = script(tmp_path, """
        import os, sys
        import torch.distributed as dist
        from utils.dist import report, backend
        dist.init_process_group(backend())
        print(f"rank {dist.get_rank()} says {sys.argv[1]}")
        report({"world": dist.get_world_size(), "threads": os.environ["OMP_NUM_THREADS"]})
        dist.destroy_process_group()
    """)
    run = dist.launch(job, nproc=2, args=["hello"], timeout=120)
    assert run.result == {"world": 2, "threads": "1"}
    assert sorted(run.output) == [0, 1]
    assert "rank 1 says hello" in run.output[1] and "rank 0 says hello" in run.output[0]
    assert run.attempts == 1


def test_a_failing_rank_is_named_with_its_last_lines(tmp_path):
    job = script(tmp_path, """
        import os
        if os.environ["RANK"] == "1":
            raise ValueError("rank one cannot go on")
    """)
    with pytest.raises(dist.LaunchError, match="failed on rank 1 of 2") as caught:
        dist.launch(job, nproc=2, timeout=120)
    assert caught.value.rank == 1
    assert "ValueError: rank one cannot go on" in str(caught.value)


def test_a_run_that_hangs_is_stopped(tmp_path):
    pid_file = tmp_path / "pid"
    job = script(tmp_path, f"""
        import os, time
        if os.environ["RANK"] == "1":
            open({str(pid_file)!r}, "w").write(str(os.getpid()))
            time.sleep(600)
    """)
    start = time.perf_counter()
    with pytest.raises(TimeoutError, match=r"did not finish within 20 s .* ranks still running"):
        dist.launch(job, nproc=2, timeout=20)
    assert time.perf_counter() - start < 60
    pid = int(pid_file.read_text())
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the sleeping rank was killed with the group


def test_rank_0_must_report(tmp_path):
    with pytest.raises(dist.LaunchError, match="reported nothing"):
        dist.launch(script(tmp_path, "x = 1\n"), nproc=1, timeout=120)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(nproc=1000), ValueError, "CPU cores, but this machine has"),
    (dict(nproc=0), ValueError, "at least 1"),
    (dict(nproc=True), TypeError, "whole number"),
    (dict(timeout=0), ValueError, "positive number of seconds"),
    (dict(args=[1]), TypeError, "strings"),
])
def test_impossible_requests_fail_before_starting(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        dist.launch(script(tmp_path, "x = 1\n"), **kwargs)


def test_missing_script(tmp_path):
    with pytest.raises(FileNotFoundError, match="%%writefile"):
        dist.launch(tmp_path / "nope.py")


def test_backend_is_gloo_without_a_gpu_per_process(monkeypatch):
    monkeypatch.setenv("BOOK_DEVICE", "cpu")
    assert dist.backend() == "gloo"
    monkeypatch.delenv("BOOK_DEVICE")
    monkeypatch.setattr(dist.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(dist.torch.cuda, "device_count", lambda: 1)
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert dist.backend() == "gloo"
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")
    assert dist.backend() == "nccl"


def test_a_run_restarts_after_a_crash(tmp_path):
    """Rank 1 fails on the first attempt only; with max_restarts=1 torchrun starts every
    process again, and the second attempt, joining through a per-attempt store prefix,
    finishes. Without restarts the same script fails."""
    job = script(tmp_path, """
        import os
        import torch
        import torch.distributed as dist
        from utils.dist import report
        attempt = os.environ["TORCHELASTIC_RESTART_COUNT"]
        store, rank, world = next(dist.rendezvous("env://"))
        dist.init_process_group("gloo", store=dist.PrefixStore(f"attempt_{attempt}", store),
                                rank=rank, world_size=world)
        if rank == 1 and attempt == "0":
            raise RuntimeError("rank 1 crashes once")
        t = torch.ones(1)
        dist.all_reduce(t)
        report({"attempt": int(attempt), "sum": float(t)})
        dist.destroy_process_group()
    """)
    run = dist.launch(job, nproc=2, max_restarts=1, timeout=180)
    assert run.result == {"attempt": 1, "sum": 2.0} and run.attempts == 2
    with pytest.raises(dist.LaunchError, match="rank 1 crashes once"):
        dist.launch(job, nproc=2, max_restarts=0, timeout=180)


def test_local_nodes_run_on_the_cpu(tmp_path):
    job = script(tmp_path, """
        import os
        from utils.dist import backend, report
        report({"device": os.environ["BOOK_DEVICE"], "backend": backend(),
                "node": int(os.environ["GROUP_RANK"])})
    """)
    run = dist.launch(job, nproc=1, nnodes=2, timeout=180)
    assert run.result == {"device": "cpu", "backend": "gloo", "node": 0}
    assert sorted(run.output) == [0, 1]
