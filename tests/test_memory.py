"""utils.memory: the saved-tensor meter counts exactly the bytes autograd keeps for
backward, on models whose saved tensors can be counted by hand."""
import pytest
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from utils.memory import SavedTensorMeter, saved_bytes


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
            x_last = torch.rand(10, 100)
            out = torch.tanh(lin(x_last))  # the previous graph is freed here
    assert m.bytes == 3 * 2 * 10 * 100 * 4 and m.count == 6
    torch.tanh(lin(torch.rand(10, 100)))
    assert m.count == 6, "nothing is counted after the block"
    out.sum().backward()  # the graph built inside the block still runs backward, unchanged
    metered = [p.grad.clone() for p in lin.parameters()]
    lin.zero_grad()
    torch.manual_seed(1)
    torch.tanh(lin(x_last)).sum().backward()
    assert all(torch.equal(a, p.grad) for a, p in zip(metered, lin.parameters()))


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



def test_saved_tensor_meter_refuses_nested_reuse_and_can_be_used_again():
    meter = SavedTensorMeter()
    with meter:
        with pytest.raises(RuntimeError, match="already in use; make a new one"):
            meter.__enter__()
    x = torch.ones(10, requires_grad=True)
    with meter:  # a second block after the first has ended
        (x * x).sum()
    assert meter.bytes == 40


def test_saved_tensor_meter_stops_counting_when_the_block_raises():
    x = torch.ones(10, requires_grad=True)
    meter = SavedTensorMeter()
    with pytest.raises(ZeroDivisionError):
        with meter:
            (x * x).sum()
            1 / 0
    count = meter.count
    (x.exp() * x).sum()  # after the failed block: no hook left behind
    assert count == 2 and meter.count == 2


def test_saved_tensor_meter_does_not_see_the_recomputation_under_checkpoint():
    """It counts what is saved inside the block; the activations a checkpointed segment
    rebuilds during backward come later and are not counted, nor is their peak."""
    torch.manual_seed(0)
    segment = nn.Sequential(nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh())
    calls = []
    handle = segment[0].register_forward_hook(lambda *args: calls.append(1))
    x = torch.randn(8, 16, requires_grad=True)
    with SavedTensorMeter(ignore=segment.parameters()) as meter:
        out = checkpoint(segment, x, use_reentrant=False)
    kept, count = meter.bytes, meter.count
    assert kept == 8 * 16 * 4, "only the segment's input is kept"
    with SavedTensorMeter(ignore=segment.parameters()) as during_backward:
        out.sum().backward()
    handle.remove()
    assert len(calls) == 2, "backward ran the segment's forward again"
    assert (meter.bytes, meter.count) == (kept, count)
    assert during_backward.bytes == 0, "checkpoint's own hooks take over the recomputation"
