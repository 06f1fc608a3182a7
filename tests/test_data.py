import gzip
import struct

import keras
import numpy as np
import pytest

import config
from rnn_draw.library import UserError, datasets


def write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as file:
        file.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def mini_arrays():
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 20, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 5, dtype=np.uint8),
    }


def test_shipped_mini_set_has_1000_and_100_images_per_digit():
    mini = datasets.load_dataset("mnist-mini")
    x_train, y_train, x_test, y_test = mini.x_train, mini.y_train, mini.x_test, mini.y_test
    assert mini.class_names == datasets.MNIST_CLASS_NAMES and mini.channels == 1
    assert x_train.shape == (10000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert np.bincount(y_train).tolist() == [1000] * 10 and np.bincount(y_test).tolist() == [100] * 10


def test_npz_and_idx_folder_load_the_same_arrays(tmp_path, mini_arrays):
    np.savez(tmp_path / "mnist.npz", **mini_arrays)
    for key, name in datasets.IDX_FILES.items():
        write_idx(tmp_path / (name + (".gz" if key.startswith("x") else "")), mini_arrays[key])
    from_npz, from_idx = datasets.load_dataset(str(tmp_path / "mnist.npz")), datasets.load_dataset(str(tmp_path))
    for split in ("train", "test"):
        (images_a, labels_a), (images_b, labels_b) = from_npz.split(split), from_idx.split(split)
        np.testing.assert_array_equal(images_a, mini_arrays[f"x_{split}"])
        np.testing.assert_array_equal(images_a, images_b)
        np.testing.assert_array_equal(labels_a, labels_b)


def test_npz_with_wrong_keys_names_the_missing_ones(tmp_path, mini_arrays):
    np.savez(tmp_path / "bad.npz", images=mini_arrays["x_train"])
    with pytest.raises(UserError, match="missing x_train, y_train, x_test, y_test"):
        datasets.load_dataset(str(tmp_path / "bad.npz"))


def test_truncated_npz_is_a_user_error(tmp_path, mini_arrays):
    np.savez(tmp_path / "good.npz", **mini_arrays)
    raw = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(UserError, match="cut.npz"):
        datasets.load_dataset(str(tmp_path / "cut.npz"))


def test_idx_folder_missing_a_file_names_it(tmp_path, mini_arrays):
    write_idx(tmp_path / "train-images-idx3-ubyte", mini_arrays["x_train"])
    with pytest.raises(UserError, match="train-labels-idx1-ubyte"):
        datasets.load_dataset(str(tmp_path))


def test_missing_path_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        datasets.load_dataset(str(tmp_path / "nowhere.npz"))


def test_offline_without_a_local_copy_names_the_flag(monkeypatch):
    monkeypatch.setitem(config.DATASETS, "mnist", {**config.DATASETS["mnist"], "copies": ()})

    def offline():
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(UserError, match="--data"):
        datasets.load_dataset("mnist")


def test_a_download_is_used_when_there_is_no_local_copy(monkeypatch, mini_arrays):

    monkeypatch.setitem(config.DATASETS, "cifar10", {**config.DATASETS["cifar10"], "copies": ()})
    colour = {key: (np.repeat(value[..., None], 3, -1) if key.startswith("x") else value[:, None]) for key, value in mini_arrays.items()}
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", lambda: ((colour["x_train"], colour["y_train"]), (colour["x_test"], colour["y_test"])))
    dataset = datasets.load_dataset("cifar10")
    assert dataset.class_names == datasets.CIFAR10_CLASS_NAMES and dataset.channels == 3
    assert dataset.y_train.dtype == np.int64 and dataset.y_train.shape == (20,)


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_the_shipped_subsets_are_what_data_make_mini_makes_from_the_full_data_set(name, tmp_path):
    """data/make_mini.py, run on the full data set, writes exactly the shipped subset's images and labels."""
    import subprocess
    import sys

    if datasets.local_copy(name) is None:
        pytest.skip(f"no local copy of {name} (config.DATASETS); the shipped subset cannot be remade here")
    out = tmp_path / f"{name}-mini.npz"
    result = subprocess.run([sys.executable, str(config.REPO_DIR / "data" / "make_mini.py"), name, "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    with np.load(out) as made, np.load(config.REPO_DIR / "data" / f"{name}-mini.npz") as shipped:
        for key in ("x_train", "y_train", "x_test", "y_test"):
            assert np.array_equal(made[key], shipped[key]), key
