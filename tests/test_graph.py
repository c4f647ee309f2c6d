import pytest
import torch
from torch import nn

from utils import graph


def test_draw_graph_names_parameters_and_operations():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
    out = model(torch.randn(2, 4)).sum()
    dot = graph.draw_graph(out, params=dict(model.named_parameters()))
    text = dot.source
    for name in ("0.weight", "0.bias", "2.weight", "ReluBackward0", "SumBackward0"):
        assert name in text
    assert graph.graphviz_available(), "`make setup` installs Graphviz; the book needs it"
    svg = dot.pipe(format="svg")
    assert svg.startswith(b"<?xml") and b"ReluBackward0" in svg


def test_draw_graph_errors(monkeypatch):
    with pytest.raises(TypeError, match="must be a tensor"):
        graph.draw_graph([1.0])
    with pytest.raises(ValueError, match="no autograd graph"):
        graph.draw_graph(torch.ones(2).sum())
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    assert not graph.graphviz_available()
    x = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        graph.draw_graph((x * 2).sum())
