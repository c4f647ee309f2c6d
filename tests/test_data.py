import gzip
import pickle
import struct
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
import torchvision

from utils import data


def test_load_digits_shapes_dtypes_and_range():
    train, test = data.load_digits(seed=0, test_fraction=0.25)
    assert len(train) + len(test) == 1797
    assert len(test) == 450
    x, y = train.tensors
    assert x.shape == (len(train), 1, 8, 8) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and set(y.tolist()) == set(range(10))
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0


def test_load_digits_split_is_stratified_and_seeded():
    train, test = data.load_digits(seed=3)
    again_train, _ = data.load_digits(seed=3)
    other_train, _ = data.load_digits(seed=4)
    assert torch.equal(train.tensors[0], again_train.tensors[0])
    assert not torch.equal(train.tensors[0], other_train.tensors[0])
    train_share = torch.bincount(train.tensors[1], minlength=10) / len(train)
    test_share = torch.bincount(test.tensors[1], minlength=10) / len(test)
    assert torch.allclose(train_share, test_share, atol=0.01)


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_load_digits_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        data.load_digits(test_fraction=fraction)


def test_load_dataset_digits_is_load_digits():
    train, test = data.load_dataset("Digits", seed=1, test_fraction=0.5)
    ref_train, _ = data.load_digits(seed=1, test_fraction=0.5)
    assert torch.equal(train.tensors[0], ref_train.tensors[0]) and len(test) == 899


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="unknown data set 'mnsit'; known: digits, mnist, fashion_mnist, cifar10"):
        data.load_dataset("mnsit")


def test_missing_files_without_download_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="pass download=True .* or use load_dataset\\('digits'\\)"):
        data.load_dataset("mnist", root=tmp_path)


def test_download_without_network_fails_fast_and_clearly(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="network is unreachable.*load_dataset\\('digits'\\)"):
        data.load_dataset("fashion_mnist", root=tmp_path, download=True)
    assert time.perf_counter() - start < 10


def write_idx(path, array):
    """Write an array in the IDX format MNIST ships in (magic, dims, big-endian sizes, bytes)."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_style_files_are_parsed(tmp_path, name, folder):
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = {"train": rng.integers(0, 256, (5, 28, 28)), "t10k": rng.integers(0, 256, (3, 28, 28))}
    labels = {"train": np.array([0, 1, 2, 3, 9]), "t10k": np.array([7, 8, 9])}
    for split in ("train", "t10k"):
        write_idx(raw / f"{split}-images-idx3-ubyte", images[split])
        write_idx(raw / f"{split}-labels-idx1-ubyte", labels[split])
    train, test = data.load_dataset(name, root=tmp_path)
    assert (len(train), len(test)) == (5, 3)
    x, y = train[4]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and y == 9
    assert torch.allclose(x[0], torch.from_numpy(images["train"][4] / 255).float())


def test_cifar10_files_are_parsed(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (2, 3 * 32 * 32), dtype=np.uint8)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        with open(folder / name, "wb") as f:
            pickle.dump({"data": pixels, "labels": [i % 10, 3]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{k}" for k in range(10)]}, f)
    # torchvision checks each file's checksum against the real release; these files are ours.
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda path, md5=None: True)
    train, test = data.load_dataset("cifar10", root=tmp_path)
    assert (len(train), len(test)) == (10, 2)
    x, y = test[1]
    assert x.shape == (3, 32, 32) and y == 3
    assert torch.allclose(x, torch.from_numpy(pixels[1].reshape(3, 32, 32) / 255).float())


def test_load_digits_argument_types():
    a, _ = data.load_digits(seed=np.int64(1))
    b, _ = data.load_digits(seed=1)
    assert torch.equal(a.tensors[0], b.tensors[0])
    with pytest.raises(TypeError, match="whole number"):
        data.load_digits(seed=True)
    with pytest.raises(ValueError, match="seed must be at least 0"):
        data.load_digits(seed=-1)
    with pytest.raises(TypeError, match="a number such as 0.25"):
        data.load_digits(test_fraction="0.25")
    with pytest.raises(TypeError, match="a string such as 'digits'"):
        data.load_dataset(3)
