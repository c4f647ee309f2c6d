import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from utils import plot  # noqa: E402


def teardown_function():
    plt.close("all")


def test_plot_history_draws_one_labelled_line_per_curve():
    ax = plot.plot_history({"train_loss": [1.0, 0.5, 0.2], "val_loss": [1.2, 0.8, 0.7]}, log_y=True)
    assert [line.get_label() for line in ax.get_lines()] == ["train loss", "val loss"]
    assert list(ax.get_lines()[1].get_xdata()) == [1, 2, 3]
    assert ax.get_xlabel() == "epoch" and ax.get_yscale() == "log"


def test_plot_history_selected_keys_and_errors():
    ax = plot.plot_history({"train_loss": [1.0], "val_accuracy": [0.5]}, keys=["val_accuracy"])
    assert len(ax.get_lines()) == 1
    with pytest.raises(KeyError, match="it holds: train_loss"):
        plot.plot_history({"train_loss": [1.0]}, keys=["val_loss"])
    with pytest.raises(KeyError, match="nothing"):
        plot.plot_history({})


@pytest.mark.parametrize("shape", [(5, 8, 8), (5, 1, 8, 8), (5, 3, 8, 8)])
def test_show_images_accepts_the_usual_layouts(shape):
    fig = plot.show_images(torch.rand(shape), labels=list("abcde"), ncols=3, title="t")
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 6 and len(shown) == 5
    assert shown[4].get_title() == "e"
    assert shown[0].images[0].get_array().shape[:2] == (8, 8)


def test_show_images_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"\(N, H, W\).*got \(8, 8\)"):
        plot.show_images(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="got 2 images but 3 labels"):
        plot.show_images(np.zeros((2, 4, 4)), labels=[1, 2, 3])
    with pytest.raises(ValueError, match="no images"):
        plot.show_images(np.zeros((0, 4, 4)))


def test_show_images_labels_rows():
    fig = plot.show_images(torch.rand(6, 8, 8), ncols=3, row_labels=["real", "fake"])
    firsts = [ax for ax in fig.axes if ax.images][::3]
    assert [ax.get_ylabel() for ax in firsts] == ["real", "fake"]
    with pytest.raises(ValueError, match="make 2 rows, but got 3 row labels"):
        plot.show_images(torch.rand(6, 8, 8), ncols=3, row_labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="ncols must be at least 1"):
        plot.show_images(torch.rand(6, 8, 8), ncols=0)


def test_show_images_shares_one_colour_range_when_asked():
    images = torch.stack([torch.full((4, 4), 0.2), torch.full((4, 4), 0.8)])
    own = [ax.images[0].get_clim() for ax in plot.show_images(images).axes if ax.images]
    shared = [ax.images[0].get_clim() for ax in
              plot.show_images(images, vmin=0, vmax=1).axes if ax.images]
    assert own[0] != own[1] and shared == [(0, 1), (0, 1)]
    with pytest.raises(ValueError, match="vmin must be below vmax"):
        plot.show_images(images, vmin=1, vmax=0)
