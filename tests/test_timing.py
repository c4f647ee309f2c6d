import time

import pytest
import torch

from utils import timing


def test_measure_is_close_to_a_known_duration():
    seconds = timing.measure(time.sleep, 0.01, min_run_time=0.1)
    assert 0.009 < seconds < 0.05


def test_measure_passes_arguments_through():
    calls = []
    timing.measure(lambda a, b=0: calls.append((a, b)), 1, b=2, min_run_time=0.01)
    assert calls and calls[0] == (1, 2)


def test_measure_ranks_big_work_above_small_work():
    small, big = torch.ones(8, 8), torch.ones(256, 256)
    assert timing.measure(torch.matmul, big, big, min_run_time=0.05) > timing.measure(
        torch.matmul, small, small, min_run_time=0.05)


def test_measure_errors():
    with pytest.raises(TypeError, match="callable"):
        timing.measure(3)
    with pytest.raises(ValueError, match="positive"):
        timing.measure(print, min_run_time=0)
