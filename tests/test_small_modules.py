"""The small shared helpers: expect_error, progress, layers and numerics."""
import io

import numpy as np
import pytest
import torch
from torch import nn

import utils
from utils import checks, layers, numerics


# ------------------------------------------------------------------------- expect_error
def test_expect_error_prints_the_class_and_message(capsys):
    with utils.expect_error(RuntimeError, match="shapes cannot be multiplied") as caught:
        torch.zeros(2, 3) @ torch.zeros(2, 3)
    assert isinstance(caught.error, RuntimeError)
    out = capsys.readouterr().out
    assert out.startswith("RuntimeError: mat1 and mat2 shapes cannot be multiplied")


def test_expect_error_fails_when_nothing_is_raised():
    with pytest.raises(AssertionError, match="expected ValueError or KeyError, but the block"):
        with utils.expect_error((ValueError, KeyError)):
            pass


def test_expect_error_lets_other_errors_through():
    with pytest.raises(ZeroDivisionError):
        with utils.expect_error(ValueError):
            1 / 0


def test_expect_error_checks_the_message():
    with pytest.raises(AssertionError, match="does not match 'dtype'"):
        with utils.expect_error(ValueError, match="dtype"):
            raise ValueError("a shape problem")


def test_expect_error_wraps_long_messages(capsys):
    with utils.expect_error(ValueError):
        raise ValueError("word " * 40)
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= 88


def test_expect_error_needs_an_exception_class():
    with pytest.raises(TypeError, match="exception class"):
        with utils.expect_error("RuntimeError"):
            pass


# ------------------------------------------------------------------------------ progress
def test_progress_counts_to_the_end(monkeypatch):
    monkeypatch.delenv("BOOK_PROGRESS", raising=False)
    out = io.StringIO()
    assert list(utils.progress(range(3), desc="steps", file=out, mininterval=0)) == [0, 1, 2]
    assert "steps: 100%" in out.getvalue() and "3/3" in out.getvalue()


# -------------------------------------------------------------------------------- layers
def test_residual_adds_the_branch_to_its_input():
    branch = nn.Linear(3, 3)
    x = torch.randn(4, 3)
    assert torch.allclose(layers.Residual(branch)(x), x + branch(x))
    with pytest.raises(ValueError, match="must keep the shape: input \\(4, 3\\)"):
        layers.Residual(nn.Linear(3, 5))(x)


def test_count_parameters_counts_weights_not_buffers():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    assert layers.count_parameters(model) == 3 * 2 + 2 + 2 + 2
    model[0].requires_grad_(False)
    assert layers.count_parameters(model, trainable_only=True) == 4


# ------------------------------------------------------------------------------ numerics
def test_loglog_slope_recovers_a_power_law():
    h = np.array([0.1, 0.05, 0.025, 0.0125])
    assert numerics.loglog_slope(h, 3 * h**4) == pytest.approx(4.0)
    assert numerics.loglog_slope(torch.tensor(h), torch.tensor(1 / h)) == pytest.approx(-1.0)


@pytest.mark.parametrize("x, y, match", [
    ([1.0], [1.0], "at least two points"),
    ([1.0, 2.0], [1.0, 0.0], "positive"),
    ([1.0, 2.0], [1.0, float("nan")], "finite"),
    ([1.0, 2.0, 3.0], [1.0, 2.0], "equal length"),
    ([2.0, 2.0], [1.0, 3.0], "distinct x"),
])
def test_loglog_slope_errors(x, y, match):
    with pytest.raises(ValueError, match=match):
        numerics.loglog_slope(x, y)


# -------------------------------------------------------------------------------- checks
def test_whole_number_accepts_any_integer_type_but_bool():
    assert checks.whole_number(np.int64(4), "n") == 4 and type(checks.whole_number(
        np.int64(4), "n")) is int
    with pytest.raises(TypeError, match=r"n must be a whole number \(e.g. 3\), got True"):
        checks.whole_number(True, "n", hint="e.g. 3")
    with pytest.raises(TypeError, match="whole number"):
        checks.whole_number(2.0, "n")
    with pytest.raises(ValueError, match="n must be at least 1, got 0"):
        checks.whole_number(0, "n", minimum=1)
    assert checks.whole_number(0, "n") == 0
