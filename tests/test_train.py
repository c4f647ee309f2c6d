import io

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import utils
from utils import train


def blobs(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) * 0.5 + (y[:, None] * 2.0 - 1.0) * 2.0
    return TensorDataset(x, y)


def test_fit_learns_and_records_history():
    utils.seed_everything(0)
    model = nn.Linear(2, 2)
    loader = DataLoader(blobs(), batch_size=32, shuffle=True)
    val = DataLoader(blobs(seed=1), batch_size=64)
    history = train.fit(model, loader, loss_fn=nn.CrossEntropyLoss(), epochs=5, device="cpu",
                        optimizer=torch.optim.SGD(model.parameters(), lr=0.5), val_loader=val,
                        progress_bar=False)
    assert set(history) == {"train_loss", "val_loss", "val_accuracy"}
    assert all(len(v) == 5 for v in history.values())
    assert history["train_loss"][-1] < history["train_loss"][0] / 2
    assert history["val_accuracy"][-1] > 0.95


def test_fit_without_validation_only_tracks_training_loss():
    model = nn.Linear(2, 1)
    data = TensorDataset(torch.randn(20, 2), torch.randn(20, 1))
    history = train.fit(model, DataLoader(data, batch_size=5), loss_fn=nn.MSELoss(), epochs=2,
                        optimizer=torch.optim.SGD(model.parameters(), lr=0.01), device="cpu",
                        progress_bar=False)
    assert list(history) == ["train_loss"] and len(history["train_loss"]) == 2


def test_restore_best_loads_the_best_epoch():
    utils.seed_everything(0)
    model = nn.Linear(2, 2)
    loader = DataLoader(blobs(), batch_size=200)
    val = DataLoader(blobs(seed=1), batch_size=200)
    # Gradient ascent (maximize=True) makes every epoch worse than the one before.
    history = train.fit(model, loader, loss_fn=nn.CrossEntropyLoss(), epochs=4, val_loader=val,
                        optimizer=torch.optim.SGD(model.parameters(), lr=0.5, maximize=True), device="cpu",
                        progress_bar=False, restore_best=True)
    final = train.evaluate(model, val, nn.CrossEntropyLoss(), device="cpu")["loss"]
    assert final == pytest.approx(min(history["val_loss"]), rel=1e-5)
    assert history["val_loss"] == sorted(history["val_loss"])  # the first epoch was best
    assert min(history["val_loss"]) < history["val_loss"][-1]


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(epochs=0), ValueError, "at least 1"),
    (dict(epochs=True), TypeError, "whole number"),
    (dict(epochs=2.0), TypeError, "whole number"),
    (dict(epochs=1, restore_best=True), ValueError, "needs a val_loader"),
    (dict(epochs=1, val_loader=[1]), TypeError, "val_loader must be a torch.utils.data.DataLoader"),
    (dict(epochs=1, scheduler_step="step"), ValueError, "'epoch' or 'batch'"),
    (dict(epochs=1, scheduler=3), TypeError, "lr_scheduler"),
    (dict(epochs=1, frozen=[3]), TypeError, "frozen must be a module"),
    (dict(epochs=1, frozen=nn.Linear(2, 2)), ValueError, "part of the model"),
])
def test_fit_errors(kwargs, error, match):
    model = nn.Linear(2, 2)
    with pytest.raises(error, match=match):
        train.fit(model, DataLoader(blobs()), loss_fn=nn.CrossEntropyLoss(),
                  optimizer=torch.optim.SGD(model.parameters(), lr=0.1), device="cpu", **kwargs)


def test_fit_rejects_a_dataset_in_place_of_a_loader():
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="wrap the data set: DataLoader"):
        train.fit(model, blobs(), loss_fn=nn.CrossEntropyLoss(), epochs=1,
                  optimizer=torch.optim.SGD(model.parameters(), lr=0.1))


def test_evaluate_counts_accuracy_and_restores_mode():
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[-1.0, -1.0], [1.0, 1.0]]))
        model.bias.zero_()
    model.train()
    x = torch.tensor([[1.0, 1.0], [-1.0, -1.0], [2.0, 0.0], [0.0, -3.0]])
    y = torch.tensor([1, 0, 0, 0])  # the third is wrong: 3 of 4 right
    scores = train.evaluate(model, DataLoader(TensorDataset(x, y), batch_size=3), nn.CrossEntropyLoss(), "cpu")
    assert scores["accuracy"] == pytest.approx(0.75)
    with torch.no_grad():
        expected = float(nn.CrossEntropyLoss()(model(x), y))
    assert scores["loss"] == pytest.approx(expected, rel=1e-6)
    assert model.training


def test_evaluate_regression_has_no_accuracy_and_empty_loader_is_explained():
    data = TensorDataset(torch.randn(4, 3), torch.randn(4, 1))
    scores = train.evaluate(nn.Linear(3, 1), DataLoader(data), device="cpu")
    assert scores == {"loss": None, "accuracy": None}
    empty = TensorDataset(torch.empty(0, 3), torch.empty(0, 1))
    with pytest.raises(ValueError, match="no batches"):
        train.evaluate(nn.Linear(3, 1), DataLoader(empty), device="cpu")


def test_progress_bar_reaches_the_end(monkeypatch):
    monkeypatch.delenv("BOOK_PROGRESS", raising=False)
    out = io.StringIO()
    assert sum(utils.progress(range(4), desc="demo", file=out, mininterval=0)) == 6
    assert "demo: 100%" in out.getvalue() and "4/4" in out.getvalue()


def test_progress_bar_prints_only_its_last_state_for_the_website(monkeypatch):
    monkeypatch.setenv("BOOK_PROGRESS", "last")
    out = io.StringIO()
    for _ in utils.progress(range(50), desc="demo", file=out, mininterval=0):
        pass
    text = out.getvalue()
    assert "\r" not in text and text.count("\n") == 1 and "demo: 100%" in text


def test_fit_labels_its_progress_bar(monkeypatch, capsys):
    monkeypatch.setenv("BOOK_PROGRESS", "last")
    model = nn.Linear(2, 2)
    train.fit(model, DataLoader(blobs(40), batch_size=20), loss_fn=nn.CrossEntropyLoss(), epochs=3,
              optimizer=torch.optim.SGD(model.parameters(), lr=0.1), device="cpu", desc="ResNet")
    out = capsys.readouterr().out
    assert out.startswith("ResNet: 100%") and "3/3" in out and out.count("\n") == 1



def test_fit_accepts_numpy_integers():
    model = nn.Linear(2, 2)
    history = train.fit(model, DataLoader(blobs(40), batch_size=20), loss_fn=nn.CrossEntropyLoss(),
                        epochs=np.int64(2), progress_bar=False,
                        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert len(history["train_loss"]) == 2


def test_fit_on_an_empty_loader_says_so():
    model = nn.Linear(2, 2)
    empty = DataLoader(TensorDataset(torch.empty(0, 2), torch.empty(0, dtype=torch.long)))
    with pytest.raises(ValueError, match="train_loader yielded no batches"):
        train.fit(model, empty, loss_fn=nn.CrossEntropyLoss(), epochs=1, progress_bar=False,
                  optimizer=torch.optim.SGD(model.parameters(), lr=0.1))


def make_opt(model, lr=1.0):
    return torch.optim.SGD(model.parameters(), lr=lr)


def test_scheduler_steps_per_batch_or_per_epoch():
    loader = DataLoader(blobs(40), batch_size=10)  # 4 batches an epoch
    for step, expected in (("epoch", [1.0, 0.5, 0.25]), ("batch", [1.0, 0.0625, 0.00390625])):
        model = nn.Linear(2, 2)
        opt = make_opt(model)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        history = train.fit(model, loader, loss_fn=nn.CrossEntropyLoss(), optimizer=opt,
                            epochs=3, scheduler=sched, scheduler_step=step, progress_bar=False)
        assert history["lr"] == pytest.approx(expected), step


def test_plateau_scheduler_reads_the_validation_loss():
    model = nn.Linear(2, 2)
    opt = make_opt(model, lr=0.5)
    loader = DataLoader(blobs(40), batch_size=40)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.1, patience=0)
    # gradient ascent: the validation loss rises every epoch after the first, so each cuts
    opt.param_groups[0]["maximize"] = True
    history = train.fit(model, loader, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=3,
                        scheduler=sched, val_loader=loader, progress_bar=False)
    assert history["lr"] == pytest.approx([0.5, 0.5, 0.05])  # best first, then cut
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        train.fit(model, loader, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=1,
                  scheduler=sched, progress_bar=False)


def test_scheduler_of_another_optimizer_is_refused():
    model = nn.Linear(2, 2)
    other = torch.optim.lr_scheduler.StepLR(make_opt(nn.Linear(2, 2)), step_size=1)
    with pytest.raises(ValueError, match="another optimizer"):
        train.fit(model, DataLoader(blobs(8)), loss_fn=nn.CrossEntropyLoss(), epochs=1,
                  optimizer=make_opt(model), scheduler=other, progress_bar=False)


def test_frozen_parts_stay_in_eval_mode():
    """A frozen batch-norm body keeps its running statistics; without `frozen` they move."""
    def run(frozen):
        utils.seed_everything(0)
        body, head = nn.BatchNorm1d(2), nn.Linear(2, 2)
        model = nn.Sequential(body, head)
        body.requires_grad_(False)
        before = body.running_mean.clone()
        train.fit(model, DataLoader(blobs(40), batch_size=10), loss_fn=nn.CrossEntropyLoss(),
                  optimizer=make_opt(head, 0.1), epochs=1, progress_bar=False,
                  frozen=body if frozen else ())
        return torch.equal(before, body.running_mean), body.training, model.training
    assert run(frozen=True) == (True, False, True)
    assert run(frozen=False)[0] is False


def test_batches_follow_the_model_device_by_default(monkeypatch):
    """With BOOK_DEVICE naming a device the model is not on, fit and evaluate still use the
    model's device (a wrong default would move the batches to `meta` and fail)."""
    monkeypatch.setenv("BOOK_DEVICE", "cuda" if torch.cuda.is_available() else "mps")
    model = nn.Linear(2, 2)  # on the CPU
    loader = DataLoader(blobs(20), batch_size=10)
    history = train.fit(model, loader, loss_fn=nn.CrossEntropyLoss(), epochs=1,
                        optimizer=make_opt(model, 0.1), progress_bar=False)
    assert len(history["train_loss"]) == 1
    assert train.evaluate(model, loader)["accuracy"] is not None
    meta = nn.Linear(2, 2, device="meta")
    with pytest.raises(Exception):  # a batch moved to the model's device: meta
        train.evaluate(meta, loader, nn.CrossEntropyLoss())


def test_fit_reads_the_loss_once_per_epoch(monkeypatch):
    """The per-batch losses are summed on the device: no `float()`/`.item()` per batch."""
    reads = []
    original = torch.Tensor.__float__
    monkeypatch.setattr(torch.Tensor, "__float__", lambda self: reads.append(1) or original(self))
    monkeypatch.setattr(torch.Tensor, "item", lambda self: reads.append(1) or original(self))
    model = nn.Linear(2, 2)
    train.fit(model, DataLoader(blobs(80), batch_size=10), loss_fn=nn.CrossEntropyLoss(),
              epochs=2, optimizer=make_opt(model, 0.1), progress_bar=False)
    assert len(reads) <= 2 * 2, f"{len(reads)} host reads for 2 epochs of 8 batches"
