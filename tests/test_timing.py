import time

import pytest
import torch

from utils import timing


def test_measure_reports_seconds_per_call():
    """A 20 ms sleep measures at least 20 ms (a per-block total or a count mix-up would
    report far more or far less), and twice the sleep measures more."""
    short = timing.measure(time.sleep, 0.02, min_run_time=0.1)
    long = timing.measure(time.sleep, 0.04, min_run_time=0.2)
    assert 0.02 <= short < 0.2 and long > short


def test_measure_passes_arguments_through():
    calls = []
    timing.measure(lambda a, b=0: calls.append((a, b)), 1, b=2, min_run_time=0.01)
    assert calls and calls[0] == (1, 2)


def test_measure_ranks_big_work_above_small_work():
    small, big = torch.ones(8, 8), torch.ones(256, 256)
    assert timing.measure(torch.matmul, big, big, min_run_time=0.05) > timing.measure(
        torch.matmul, small, small, min_run_time=0.05)


def test_measure_runs_on_the_threads_it_is_given():
    seen = []
    timing.measure(lambda: seen.append(torch.get_num_threads()), min_run_time=0.01)
    timing.measure(lambda: seen.append(torch.get_num_threads()), min_run_time=0.01,
                   num_threads=2)
    assert seen[0] == 1 and seen[-1] == 2


def test_measure_errors():
    with pytest.raises(TypeError, match="callable"):
        timing.measure(3)
    with pytest.raises(ValueError, match="positive"):
        timing.measure(print, min_run_time=0)
    with pytest.raises(TypeError, match="number of seconds"):
        timing.measure(print, min_run_time="1")
    with pytest.raises(TypeError, match="whole number"):
        timing.measure(print, num_threads=True)
    with pytest.raises(ValueError, match="at least 1"):
        timing.measure(print, num_threads=0)
