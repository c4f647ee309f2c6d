"""utils.hooks: each tool records what it claims on models with known shapes, and leaves no
hook behind, also when the block raises."""
import math

import pytest
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from utils.hooks import (DeviceCheck, DeviceMismatchError, FiniteCheck, ForwardRecorder, GradientRecorder,
                         NonFiniteError)
from utils.memory import SavedTensorMeter, saved_bytes

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


def test_tools_refuse_bad_arguments_and_nested_reuse():
    with pytest.raises(TypeError, match="expected an nn.Module"):
        ForwardRecorder(torch.zeros(3))
    with pytest.raises(ValueError, match="norm_type must be positive"):
        GradientRecorder(cnn(), norm_type=0)
    model = cnn()
    rec = ForwardRecorder(model)
    with rec:
        with pytest.raises(RuntimeError, match="already in use"):
            rec.__enter__()
    assert_no_hooks(model)
    meter = SavedTensorMeter()
    with meter:
        with pytest.raises(RuntimeError, match="already in use"):
            meter.__enter__()


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


# --------------------------------------------------------------------------- SavedTensorMeter
def test_saved_tensor_meter_counts_shared_storage_once():
    x = torch.ones(1000, requires_grad=True)
    with SavedTensorMeter() as m:
        y = (x * x).sum()
    assert m.bytes == 4000 and m.count == 2
    assert repr(m) == "SavedTensorMeter(bytes=4,000, count=2)"
    y.backward()
    assert torch.equal(x.grad, 2 * x.detach()), "the meter does not change the gradient"


def test_saved_tensor_meter_is_linear_in_batch_and_depth_and_ignores_parameters():
    def saved(depth: int, batch: int) -> int:
        torch.manual_seed(0)
        model = nn.Sequential(*[nn.Sequential(nn.Linear(32, 32), nn.Tanh()) for _ in range(depth)])
        with SavedTensorMeter(ignore=model.parameters()) as m:
            model(torch.randn(batch, 32)).sum()
        return m.bytes

    # each Linear saves its input, each Tanh its output: depth + 1 activations of batch x 32 floats
    assert saved(4, 16) == (4 + 1) * 16 * 32 * 4
    assert saved(8, 16) == (8 + 1) * 16 * 32 * 4
    assert saved(4, 64) == 4 * saved(4, 16)
    lin = nn.Linear(32, 32)
    with SavedTensorMeter() as with_params:
        lin(torch.randn(16, 32, requires_grad=True)).sum()
    with SavedTensorMeter(ignore=lin.weight) as without:  # a single tensor is accepted too
        lin(torch.randn(16, 32, requires_grad=True)).sum()
    assert with_params.bytes - without.bytes == 32 * 32 * 4


def test_saved_tensor_meter_adds_up_passes_and_stops_at_exit():
    lin = nn.Linear(100, 100)
    with SavedTensorMeter(ignore=lin.parameters()) as m:
        for _ in range(3):
            out = torch.tanh(lin(torch.rand(10, 100)))  # the previous graph is freed here
    assert m.bytes == 3 * 2 * 10 * 100 * 4 and m.count == 6
    torch.tanh(lin(torch.rand(10, 100)))
    assert m.count == 6, "nothing is counted after the block"
    assert out.shape == (10, 100)


def test_checkpoint_saves_less_and_gives_the_same_gradient():
    torch.manual_seed(0)
    blocks = nn.ModuleList(nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh())
                           for _ in range(4))
    x = torch.randn(32, 64)

    def run(use_checkpoint: bool) -> tuple[int, list[torch.Tensor]]:
        h = x
        with SavedTensorMeter(ignore=blocks.parameters()) as m:
            for block in blocks:
                h = checkpoint(block, h, use_reentrant=False) if use_checkpoint else block(h)
        blocks.zero_grad()
        h.sum().backward()
        return m.bytes, [p.grad.clone() for p in blocks.parameters()]

    plain, g_plain = run(False)
    saved, g_saved = run(True)
    assert saved < plain / 2, (saved, plain)
    assert all(torch.allclose(a, b) for a, b in zip(g_plain, g_saved))


def test_saved_bytes_counts_activations_not_parameters():
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))
    x = torch.ones(4, 10)
    # the input (for the first Linear), the ReLU output (for itself and the second Linear): 4 x (10 + 20) floats
    assert saved_bytes(model, x) == 4 * (10 + 20) * 4
    assert saved_bytes(model, torch.ones(8, 10)) == 2 * saved_bytes(model, x)  # linear in the batch
    with torch.no_grad():
        assert saved_bytes(model, x) == 0  # nothing is saved without a graph
    with pytest.raises(TypeError, match="nn.Module"):
        saved_bytes(lambda t: t, x)

