"""utils.hooks: each tool records what it claims on models with known shapes, and leaves no
hook behind, also when the block raises."""
import math

import pytest
import torch
from torch import nn

from utils.hooks import (DeviceCheck, DeviceMismatchError, FiniteCheck, ForwardRecorder,
                         GradientRecorder, LayerRecord, NonFiniteError)

HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
              "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks_with_kwargs")


def assert_no_hooks(model: nn.Module) -> None:
    for name, module in model.named_modules():
        for attr in HOOK_DICTS:
            assert not getattr(module, attr), f"{name or 'model'}.{attr} still holds a hook"
    for name, p in model.named_parameters():
        assert not p._backward_hooks, f"parameter {name} still holds a hook"


def cnn() -> nn.Sequential:
    """Known shapes for a (4, 1, 8, 8) input: 8x8x3 -> 4x4x3 -> 48 -> 10."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(48, 10))


SHAPES = [("0", "Conv2d", (4, 1, 8, 8), (4, 3, 8, 8)), ("1", "ReLU", (4, 3, 8, 8), (4, 3, 8, 8)),
          ("2", "MaxPool2d", (4, 3, 8, 8), (4, 3, 4, 4)), ("3", "Flatten", (4, 3, 4, 4), (4, 48)),
          ("4", "Linear", (4, 48), (4, 10))]


class Branchy(nn.Module):
    """A container whose forward also does a functional operation (a log) between modules."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.log(self.a(x)))


# --------------------------------------------------------------------------- ForwardRecorder
def test_forward_recorder_shapes_and_statistics():
    model, x = cnn(), torch.randn(4, 1, 8, 8)
    with ForwardRecorder(model, keep_outputs=True) as rec:
        out = model(x)
    got = [(r.name, r.kind, r.input_shapes[0], r.output_shapes[0]) for r in rec.records]
    assert got == SHAPES
    relu = rec.record("1")
    with torch.no_grad():
        expected = torch.relu(model[0](x))
    assert torch.equal(relu.output, expected)
    assert relu.mean == pytest.approx(float(expected.mean()), rel=1e-6)
    assert relu.std == pytest.approx(float(expected.std()), rel=1e-6)
    assert relu.min == 0 and relu.max == pytest.approx(float(expected.max()))
    assert relu.zero_fraction == pytest.approx(float((expected == 0).float().mean()))
    assert 0.2 < relu.zero_fraction < 0.8  # ReLU zeroes roughly half
    assert torch.equal(rec.record("4").output, out.detach())
    assert rec.record("0").output is not None and not rec.record("0").output.requires_grad
    assert_no_hooks(model)


def test_forward_recorder_containers_repeated_calls_and_table():
    model, x = cnn(), torch.randn(4, 1, 8, 8)
    with ForwardRecorder(model, leaves_only=False) as rec:
        model(x)
        model(x[:2])
    names = [r.name for r in rec.records]
    assert names[:6] == ["(model)", "0", "1", "2", "3", "4"] and len(names) == 12
    assert rec.records[0].output_shapes == [(4, 10)]
    assert rec.record("4").output_shapes == [(2, 10)], "record() returns the last call"
    assert rec.records[0].output is None, "outputs are kept only on request"
    table = rec.table()
    lines = table.splitlines()
    assert lines[0].split() == ["layer", "type", "input", "output", "mean", "std", "zeros"]
    assert len(lines) == 2 + 12 and "4x3x8x8" in table and "Sequential" in table
    with pytest.raises(KeyError, match="no module named 'fc'.*recorded: \\(model\\), 0, 1"):
        rec.record("fc")
    assert_no_hooks(model)


def test_forward_recorder_keeps_the_input_of_the_module_that_crashes():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 10), nn.ReLU(), nn.Linear(64, 5))  # the notes' shape bug
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        with ForwardRecorder(model) as rec:
            model(torch.randn(3, 64))
    last = rec.records[-1]
    assert (last.name, last.input_shapes, last.output_shapes) == ("2", [(3, 10)], None)
    assert "(raised)" in rec.table()
    assert_no_hooks(model)


def test_forward_recorder_non_tensor_and_integer_outputs():
    class Pair(nn.Module):
        def forward(self, x):
            return x.argmax(1), x.sum()

    model = nn.Sequential(Pair())
    with ForwardRecorder(model) as rec:
        model(torch.tensor([[1.0, 3.0], [2.0, 0.0]]))
    r = rec.record("0")
    assert r.output_shapes == [(2,), ()]
    assert r.mean == 6.0 and r.std == 0.0, "statistics of the first floating-point output"
    assert "2, scalar" in rec.table()


def test_tools_refuse_bad_arguments():
    with pytest.raises(TypeError, match="expected an nn.Module"):
        ForwardRecorder(torch.zeros(3))
    with pytest.raises(ValueError, match="norm_type must be positive"):
        GradientRecorder(cnn(), norm_type=0)


# --------------------------------------------------------------------------- GradientRecorder
def test_gradient_recorder_param_and_module_norms_match_autograd():
    model, x = cnn(), torch.randn(4, 1, 8, 8, requires_grad=True)  # else the first hook warns
    grad_outputs = {}
    handles = [m.register_full_backward_hook(
        lambda mod, gin, gout, name=name: grad_outputs.__setitem__(name, gout[0].norm().item()))
        for name, m in model.named_children()]
    with GradientRecorder(model) as grads:
        model(x).pow(2).mean().backward()
    for h in handles:
        h.remove()
    assert list(grads.param_norms) == ["0.weight", "0.bias", "4.weight", "4.bias"]
    for name, p in model.named_parameters():
        assert grads.param_norms[name] == pytest.approx(p.grad.norm().item(), rel=1e-5)
    assert list(grads.module_norms) == ["0", "1", "2", "3", "4"]
    for name, value in grad_outputs.items():  # the library's full backward hook agrees
        assert grads.module_norms[name] == pytest.approx(value, rel=1e-5)
    assert_no_hooks(model)


def test_gradient_recorder_sees_each_pass_not_the_accumulated_grad():
    model, x = cnn(), torch.randn(4, 1, 8, 8)
    with GradientRecorder(model) as grads:
        for _ in range(3):  # zero_grad forgotten: .grad accumulates
            model(x).sum().backward()
    per_pass = grads.param_history["4.weight"]
    assert len(per_pass) == 3 and per_pass[0] == pytest.approx(per_pass[2], rel=1e-5)
    assert model[4].weight.grad.norm().item() == pytest.approx(3 * per_pass[0], rel=1e-5)
    assert_no_hooks(model)


def test_gradient_recorder_max_norm_frozen_params_and_in_place_layers():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(inplace=True), nn.Linear(4, 1))
    model[0].bias.requires_grad_(False)
    with GradientRecorder(model, norm_type=math.inf) as grads:
        model(torch.randn(8, 5)).sum().backward()
    assert "0.bias" not in grads.param_norms
    assert grads.param_norms["2.weight"] == pytest.approx(model[2].weight.grad.abs().max().item())
    assert grads.module_norms["2"] == pytest.approx(1.0), "d(sum)/d(output) is all ones"
    assert set(grads.module_norms) == {"0", "1", "2"}
    assert_no_hooks(model)


def test_gradient_recorder_ignores_backward_after_the_block():
    model = cnn()
    with GradientRecorder(model) as grads:
        loss = model(torch.randn(2, 1, 8, 8)).sum()
    loss.backward()
    assert grads.module_norms == {} and grads.param_norms == {}
    assert_no_hooks(model)


# --------------------------------------------------------------------------- FiniteCheck
def test_finite_check_names_the_first_module_with_a_non_finite_output():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3))
    with torch.no_grad():
        model[2].weight[0, 0] = math.inf
    x = torch.ones(2, 3)
    with pytest.raises(NonFiniteError, match=r"module '2' \(Linear\) produced .* inf") as err:
        with FiniteCheck(model):
            model(x)
    assert err.value.module_name == "2"
    assert_no_hooks(model)
    with FiniteCheck(model):  # once fixed, the check is silent
        with torch.no_grad():
            model[2].weight[0, 0] = 1.0
        assert torch.isfinite(model(x)).all()
    assert_no_hooks(model)


def test_finite_check_blames_a_functional_op_on_its_container_and_bad_data_on_the_data():
    torch.manual_seed(0)
    model = nn.Sequential(Branchy())
    with torch.no_grad():
        model[0].a.weight.fill_(-1.0)
        model[0].a.bias.zero_()
    with pytest.raises(NonFiniteError, match="NaN") as err:  # log of negatives, inside Branchy.forward
        with FiniteCheck(model):
            model(torch.ones(2, 3))
    assert err.value.module_name == "0.b", "the first module to see it is b, via its input"
    assert "already holds" in str(err.value) and "between modules" in str(err.value)
    with pytest.raises(NonFiniteError, match=r"input of module '\(model\)'.*1 NaN and 0 inf value;"):
        with FiniteCheck(model):
            model(torch.tensor([[1.0, math.nan, 1.0]]))
    assert_no_hooks(model)


# --------------------------------------------------------------------------- DeviceCheck
def test_device_check_names_the_module_and_both_devices():
    model = cnn()
    with pytest.raises(DeviceMismatchError, match=r"module '0' \(Conv2d\) holds its weights on cpu "
                                                   r"but got an input on meta; move the input") as err:
        with DeviceCheck(model):
            model(torch.zeros(4, 1, 8, 8, device="meta"))
    assert err.value.module_name == "0"
    assert_no_hooks(model)
    with DeviceCheck(model):
        assert model(torch.zeros(4, 1, 8, 8)).shape == (4, 10)
    assert_no_hooks(model)


# --------------------------------------------------------------------------- every tool's errors
@pytest.mark.parametrize("tool", [ForwardRecorder, GradientRecorder, FiniteCheck, DeviceCheck])
def test_every_tool_refuses_a_non_module_and_nested_reuse(tool):
    with pytest.raises(TypeError, match="expected an nn.Module"):
        tool(lambda x: x)
    model = cnn()
    instance = tool(model)
    with instance:
        with pytest.raises(RuntimeError, match="already in use; make a new one"):
            instance.__enter__()
    assert_no_hooks(model)


@pytest.mark.parametrize("norm_type", [0, -1.0, math.nan])
def test_gradient_recorder_refuses_a_norm_that_is_not_positive(norm_type):
    with pytest.raises(ValueError, match="norm_type must be positive"):
        GradientRecorder(cnn(), norm_type=norm_type)


@pytest.mark.parametrize("tool", [ForwardRecorder, GradientRecorder, FiniteCheck, DeviceCheck])
def test_every_tool_removes_its_hooks_when_the_block_raises_and_can_be_reused(tool):
    model, x = cnn(), torch.randn(2, 1, 8, 8)
    instance = tool(model)
    with pytest.raises(ZeroDivisionError):
        with instance:
            model(x).sum().backward()
            1 / 0
    assert_no_hooks(model)
    assert not instance.active
    with instance:  # a fresh block after a failed one works and starts from scratch
        model(x).sum().backward()
    assert_no_hooks(model)


def test_recorders_start_empty_in_each_block_and_remove_ends_early():
    model, x = cnn(), torch.randn(2, 1, 8, 8)
    rec = ForwardRecorder(model)
    with rec:
        model(x)
    with rec:
        model(x[:1])
    assert len(rec.records) == 5 and rec.record("4").output_shapes == [(1, 10)]
    grads = GradientRecorder(model)
    with grads:
        model(x).sum().backward()
        grads.remove()  # hooks off inside the block: the next pass is not recorded
        first = dict(grads.param_norms)
        model(3 * x).sum().backward()
    assert grads.param_norms == first and not grads.active
    assert all(len(v) == 1 for v in grads.param_history.values())
    assert_no_hooks(model)


def test_layer_record_defaults_and_errors_carry_the_module_name():
    record = LayerRecord("fc", "Linear", [(2, 4)])
    assert (record.output_shapes, record.mean, record.output) == (None, None, None)
    assert "output=" not in repr(record), "the kept tensor is left out of the repr"
    for error in (NonFiniteError("boom", "net.3"), DeviceMismatchError("boom", "net.3")):
        assert isinstance(error, RuntimeError) and error.module_name == "net.3"
        assert str(error) == "boom"
