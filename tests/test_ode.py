import math

import numpy as np
import pytest
import torch
import torchdiffeq

from utils import ode

# A damped rotation dy/dt = A y: its exact solution is y(t) = exp(tA) y0.
A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]], dtype=torch.float64)
Y0 = torch.tensor([2.0, 0.0], dtype=torch.float64)
T = 2.0


def linear(t, y):
    return y @ A.T


def exact(t: float) -> torch.Tensor:
    return torch.linalg.matrix_exp(t * A) @ Y0


def error(method: str, h: float) -> float:
    ys = ode.odeint(linear, Y0, [0.0, T], method=method, step_size=h)
    return float((ys[-1] - exact(T)).norm())


@pytest.mark.parametrize("method, order", [("euler", 1), ("midpoint", 2), ("rk4", 4)])
def test_measured_convergence_order(method, order):
    hs = np.array([0.1, 0.05, 0.025, 0.0125])
    errors = np.array([error(method, h) for h in hs])
    slope = np.polyfit(np.log(hs), np.log(errors), 1)[0]
    assert abs(slope - order) < 0.15, (method, slope)


@pytest.mark.parametrize("h", [0.1, 0.02])
def test_rk4_as_accurate_as_torchdiffeq(h):
    t = torch.tensor([0.0, T], dtype=torch.float64)
    ours = error("rk4", h)
    ref = torchdiffeq.odeint(linear, Y0, t, method="rk4", options=dict(step_size=h))
    theirs = float((ref[-1] - exact(T)).norm())
    assert ours < 1e-3  # small in absolute terms too
    assert ours <= 1.5 * theirs, (ours, theirs)


def test_step_functions_on_exponential_decay():
    f, t0, y = (lambda t, y: -y), torch.tensor(0.0), torch.tensor([1.0], dtype=torch.float64)
    h = 0.1
    assert torch.allclose(ode.euler_step(f, t0, y, h), torch.tensor([-h], dtype=torch.float64))
    assert torch.allclose(ode.midpoint_step(f, t0, y, h), torch.tensor([-h + h**2 / 2], dtype=torch.float64))
    taylor4 = -h + h**2 / 2 - h**3 / 6 + h**4 / 24  # RK4 reproduces the Taylor series to h^4
    assert torch.allclose(ode.rk4_step(f, t0, y, h), torch.tensor([taylor4], dtype=torch.float64))


def test_time_dependent_func_gets_the_right_times():
    # dy/dt = cos(t): y(t) = sin(t); wrong stage times would break RK4's accuracy.
    ys = ode.odeint(lambda t, y: torch.cos(t) * torch.ones_like(y), torch.zeros(1, dtype=torch.float64),
                    [0.0, 1.0, 3.0], step_size=0.05)
    assert torch.allclose(ys[:, 0], torch.sin(torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64)), atol=1e-7)


def test_output_shape_and_irregular_times_are_hit_exactly():
    y0 = torch.stack([Y0, 0.5 * Y0, -Y0])  # a batch of 3 states
    t = torch.tensor([0.0, 0.13, 0.5, 1.71, 2.0], dtype=torch.float64)
    ys = ode.odeint(linear, y0, t, step_size=0.01)
    assert ys.shape == (5, 3, 2)
    assert torch.equal(ys[0], y0)
    for i, ti in enumerate(t.tolist()):
        want = y0 @ torch.linalg.matrix_exp(ti * A).T
        assert torch.allclose(ys[i], want, atol=1e-9)


def test_one_euler_step_of_size_one_is_a_residual_block():
    torch.manual_seed(0)
    f = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    x = torch.randn(4, 2)
    ys = ode.odeint(lambda t, y: f(y), x, [0.0, 3.0], method="euler", step_size=1.0)
    resnet = x
    for _ in range(3):
        resnet = resnet + f(resnet)
    assert torch.allclose(ys[-1], resnet, atol=1e-6)


def test_number_of_steps_and_evaluations_despite_float32_rounding():
    calls = []

    def f(t, y):
        calls.append(float(t))
        return -y

    t = torch.arange(0, 1.0001, 0.1)  # float32: the spans are 0.1 give or take rounding
    ode.odeint(f, torch.ones(1), t, method="euler", step_size=0.1)
    assert len(calls) == 10
    calls.clear()
    ode.odeint(f, torch.ones(1), [0.0, 1.0], method="rk4", step_size=0.25)
    assert len(calls) == 16  # 4 steps x 4 stages
    assert calls[:4] == [0.0, 0.125, 0.125, 0.25]


def test_gradients_match_analytic():
    # y' = a y  =>  y(T) = y0 e^{aT}, dy(T)/dy0 = e^{aT}, dy(T)/da = T y0 e^{aT}.
    a = torch.tensor(-0.7, dtype=torch.float64, requires_grad=True)
    y0 = torch.tensor([1.3], dtype=torch.float64, requires_grad=True)
    yT = ode.odeint(lambda t, y: a * y, y0, [0.0, T], step_size=0.01)[-1].sum()
    yT.backward()
    e = math.exp(-0.7 * T)
    assert y0.grad.item() == pytest.approx(e, rel=1e-8)
    assert a.grad.item() == pytest.approx(T * 1.3 * e, rel=1e-8)


def test_gradient_wrt_initial_state_of_linear_system():
    y0 = Y0.clone().requires_grad_()
    w = torch.tensor([0.3, -1.2], dtype=torch.float64)
    (ode.odeint(linear, y0, [0.0, T], step_size=0.01)[-1] @ w).backward()
    want = torch.linalg.matrix_exp(T * A).T @ w  # d(w . e^{TA} y0)/dy0
    assert torch.allclose(y0.grad, want, rtol=1e-8)


def test_errors_speak_to_the_learner():
    f = lambda t, y: -y  # noqa: E731
    y0 = torch.ones(2)
    with pytest.raises(ValueError, match="unknown method 'rk5'; known: euler, midpoint, rk4"):
        ode.odeint(f, y0, [0.0, 1.0], method="rk5", step_size=0.1)
    with pytest.raises(ValueError, match="fixed steps: pass step_size"):
        ode.odeint(f, y0, [0.0, 1.0])
    for bad in (-0.1, 0, 0.0, math.inf, math.nan, -math.inf):
        with pytest.raises(ValueError, match="step_size must be positive and finite"):
            ode.odeint(f, y0, [0.0, 1.0], step_size=bad)
    for bad in (True, False, "0.1", [0.1], 1j):
        with pytest.raises(TypeError, match="step_size must be a number such as 0.01"):
            ode.odeint(f, y0, [0.0, 1.0], step_size=bad)
    with pytest.raises(TypeError, match="method must be a name such as 'rk4'"):
        ode.odeint(f, y0, [0.0, 1.0], method=4, step_size=0.1)
    with pytest.raises(ValueError, match="finite times"):
        ode.odeint(f, y0, [0.0, math.inf], step_size=0.1)
    with pytest.raises(ValueError, match="finite times"):
        ode.odeint(f, y0, [math.nan, 1.0], step_size=0.1)
    with pytest.raises(ValueError, match=r"strictly increasing, but t\[2\]=0.5 follows t\[1\]=0.5"):
        ode.odeint(f, y0, [0.0, 0.5, 0.5], step_size=0.1)
    with pytest.raises(ValueError, match="strictly increasing"):
        ode.odeint(f, y0, [1.0, 0.0], step_size=0.1)
    with pytest.raises(ValueError, match="1-D tensor of at least two times"):
        ode.odeint(f, y0, [0.0], step_size=0.1)
    with pytest.raises(ValueError, match="1-D tensor"):
        ode.odeint(f, y0, [[0.0, 1.0]], step_size=0.1)
    with pytest.raises(ValueError, match=r"shaped like y \(2,\), got \(3,\)"):
        ode.odeint(lambda t, y: torch.ones(3), y0, [0.0, 1.0], step_size=0.1)
    with pytest.raises(TypeError, match="floating-point"):
        ode.odeint(f, torch.ones(2, dtype=torch.int64), [0.0, 1.0], step_size=0.1)
    with pytest.raises(TypeError, match="y0 must be a torch.Tensor"):
        ode.odeint(f, [1.0, 2.0], [0.0, 1.0], step_size=0.1)


def test_float32_times_follow_the_state_dtype():
    # Times given as a float32 tensor are converted to y0's dtype, so float64 accuracy is kept.
    t = torch.tensor([0.0, 0.5, 2.0])  # float32, exactly representable
    ys = ode.odeint(linear, Y0, t, step_size=0.005)
    assert ys.dtype == torch.float64 and ys.device == Y0.device
    assert torch.allclose(ys[-1], exact(2.0), rtol=0, atol=1e-8)  # float32 arithmetic errs by ~1e-7


@pytest.mark.parametrize("name", ["RK4", "Rk4", "EULER", "Midpoint"])
def test_method_names_are_case_insensitive(name):
    f = lambda t, y: -y  # noqa: E731
    y0 = torch.ones(2, dtype=torch.float64)
    ours = ode.odeint(f, y0, [0.0, 1.0], method=name, step_size=0.1)
    lower = ode.odeint(f, y0, [0.0, 1.0], method=name.lower(), step_size=0.1)
    assert torch.equal(ours, lower)
    assert set(ode.STEPS) == {"euler", "midpoint", "rk4"}


@pytest.mark.parametrize("h", [1, np.int64(1), np.float64(1.0), torch.tensor(1.0), 1.0])
def test_step_size_accepts_any_real_number(h):
    # An integer step (or a NumPy number, a one-element tensor) means the same as the float:
    # each Euler step of size 1 on dy/dt = -y/2 multiplies y by 1 - 1/2.
    y0 = torch.tensor([1.0, 2.0], dtype=torch.float64)
    ys = ode.odeint(lambda t, y: -0.5 * y, y0, [0.0, 2.0], method="euler", step_size=h)
    assert torch.allclose(ys[-1], 0.25 * y0)  # (1 - 0.5)^2


def test_integer_times_and_a_large_step_take_one_step_per_interval():
    calls = []

    def f(t, y):
        calls.append(float(t))
        return torch.zeros_like(y)

    ys = ode.odeint(f, torch.ones(3), [0, 1, 3], method="euler", step_size=10)
    assert calls == [0.0, 1.0] and ys.dtype == torch.float32 and ys.shape == (3, 3)
