import random

import numpy as np
import pytest
import torch

import utils


def test_get_device_default_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv("BOOK_DEVICE", raising=False)
    for cuda, mps, expected in ((True, True, "cuda"), (False, True, "mps"),
                                (False, False, "cpu")):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
        assert utils.get_device().type == expected


def test_book_device_overrides(monkeypatch):
    monkeypatch.setenv("BOOK_DEVICE", " CPU ")
    assert utils.get_device() == torch.device("cpu")


def test_unknown_book_device_is_explained(monkeypatch):
    monkeypatch.setenv("BOOK_DEVICE", "gpu")
    with pytest.raises(ValueError, match="BOOK_DEVICE='gpu' is not a device; use one of cpu, cuda, mps"):
        utils.get_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_gpu(monkeypatch):
    monkeypatch.setenv("BOOK_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        utils.get_device()


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="needs a machine without MPS")
def test_mps_requested_without_apple_gpu(monkeypatch):
    monkeypatch.setenv("BOOK_DEVICE", "mps")
    with pytest.raises(RuntimeError, match="no Apple GPU"):
        utils.get_device()


def draws():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_seed_everything_repeats_every_generator():
    utils.seed_everything(123)
    first = draws()
    utils.seed_everything(123)
    assert draws() == first
    utils.seed_everything(124)
    assert all(a != b for a, b in zip(draws(), first))


@pytest.mark.parametrize("bad, error, match", [(-1, ValueError, "at least 0"),
                                               (1.5, TypeError, "whole number"),
                                               ("0", TypeError, "whole number"),
                                               (True, TypeError, "whole number")])
def test_seed_everything_rejects_bad_seeds(bad, error, match):
    with pytest.raises(error, match=match):
        utils.seed_everything(bad)


def test_seed_everything_accepts_numpy_integers():
    utils.seed_everything(np.int64(5))
    first = draws()
    utils.seed_everything(5)
    assert draws() == first


@pytest.mark.parametrize("value", ["cpu:x", "cpu:0", "cuda:one", "gpu"])
def test_malformed_book_device_is_explained(monkeypatch, value):
    monkeypatch.setenv("BOOK_DEVICE", value)
    with pytest.raises(ValueError, match="is not a device; use one of cpu, cuda, mps"):
        utils.get_device()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_gpu_that_does_not_exist_is_explained(monkeypatch):
    monkeypatch.setenv("BOOK_DEVICE", f"cuda:{torch.cuda.device_count()}")
    with pytest.raises(ValueError, match="numbered from 0"):
        utils.get_device()


def test_unknown_attribute_lists_known_modules():
    with pytest.raises(AttributeError, match="known: expect_error, get_device"):
        utils.not_a_module  # noqa: B018


def test_book_maintenance_is_not_a_lesson_module():
    assert "book" not in utils.__all__ and "colab" not in utils.__all__


def test_importing_the_timing_module_logs_nothing(capfd):
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", "import utils, utils.timing, torch.utils.benchmark"],
                         capture_output=True, text=True)
    assert run.returncode == 0 and run.stderr == "", run.stderr
