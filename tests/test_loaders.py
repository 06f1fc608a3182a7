"""The CIFAR-10 and image-folder loaders, on small fixtures in each format, and what they refuse."""

import io
import pickle
import tarfile

import numpy as np
import pytest
from PIL import Image

import util
from rnn_draw.library import UserError, datasets


def cifar_batch(count, seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (count, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, count).tolist()
    return {b"batch_label": b"fixture", b"labels": labels, b"data": data, b"filenames": [b"x.png"] * count}


@pytest.fixture
def cifar_batches(tmp_path):
    """A cifar-10-batches-py/ folder of five tiny training batches and a test batch."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for index, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        (folder / name).write_bytes(pickle.dumps(cifar_batch(4, index), protocol=2))
    return folder


def test_cifar_batches_folder_and_tarball_load_the_same_images(cifar_batches, tmp_path):
    from_folder = datasets.load_dataset(str(cifar_batches), "cifar10")
    tarball = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(cifar_batches, arcname="cifar-10-batches-py")
    from_tar = datasets.load_dataset(str(tarball), "cifar10")
    assert from_folder.x_train.shape == (20, 32, 32, 3) and from_folder.x_test.shape == (4, 32, 32, 3)
    assert from_folder.class_names == datasets.CIFAR10_CLASS_NAMES and from_folder.channels == 3
    np.testing.assert_array_equal(from_folder.x_train, from_tar.x_train)
    np.testing.assert_array_equal(from_folder.y_test, from_tar.y_test)
    first = cifar_batch(4, 0)  # the batch layout is 1024 R, then 1024 G, then 1024 B values
    np.testing.assert_array_equal(from_folder.x_train[0, :, :, 1].ravel(), first[b"data"][0, 1024:2048])


def test_a_batch_that_pickles_anything_else_is_refused(cifar_batches):
    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    (cifar_batches / "data_batch_3").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}, protocol=2))
    with pytest.raises(UserError, match=r"data_batch_3.*refusing to load \w+\.print"):
        datasets.load_dataset(str(cifar_batches), "cifar10")


def write_tree(root, sizes=(6, 6), mode="RGB", per_class=3, classes=("cat", "ant", "bee")):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for name in classes:
            (root / split / name).mkdir(parents=True)
            for index in range(per_class):
                shape = sizes[::-1] + ((3,) if mode == "RGB" else ())
                Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(root / split / name / f"{index}.png")


def test_image_tree_folder_and_tarball(tmp_path):
    write_tree(tmp_path / "tree")
    folder = datasets.load_dataset(str(tmp_path / "tree"), "cifar10")
    assert folder.class_names == ["ant", "bee", "cat"]  # sorted folder names
    assert folder.name == "custom" and folder.x_train.shape == (9, 6, 6, 3)
    assert np.bincount(folder.y_test).tolist() == [3, 3, 3]
    tarball = tmp_path / "tree.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(tmp_path / "tree", arcname="my-images")
    from_tar = datasets.load_dataset(str(tarball), "cifar10")
    np.testing.assert_array_equal(folder.x_train, from_tar.x_train)
    assert from_tar.class_names == folder.class_names


def test_cifar_class_folders_get_the_keras_label_order(tmp_path):
    write_tree(tmp_path / "tree", per_class=1, classes=datasets.CIFAR10_CLASS_NAMES)
    dataset = datasets.load_dataset(str(tmp_path / "tree"), "cifar10")
    assert dataset.class_names == datasets.CIFAR10_CLASS_NAMES and dataset.name == "cifar10"
    assert dataset.y_train.tolist() == list(range(10))


def test_grey_trees_stay_grey_and_odd_sizes_are_resized(tmp_path):
    write_tree(tmp_path / "tree", mode="L")
    Image.fromarray(np.zeros((9, 4), np.uint8), "L").save(tmp_path / "tree" / "test" / "ant" / "odd.png")
    dataset = datasets.load_dataset(str(tmp_path / "tree"), "mnist")
    assert dataset.x_train.shape == (9, 6, 6) and dataset.x_test.shape == (10, 6, 6) and dataset.channels == 1


def test_archive_members_escaping_the_folder_are_refused(tmp_path):
    tarball = tmp_path / "evil.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        payload = b"not an image"
        info = tarfile.TarInfo("../train/cat/0.png")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    with pytest.raises(UserError, match="refusing archive member"):
        datasets.load_dataset(str(tarball), "cifar10")


def test_a_folder_without_images_or_with_an_unreadable_one_is_a_user_error(tmp_path):
    (tmp_path / "empty" / "train").mkdir(parents=True)
    with pytest.raises(UserError, match="no images found"):
        datasets.load_dataset(str(tmp_path / "empty"), "cifar10")
    write_tree(tmp_path / "tree")
    (tmp_path / "tree" / "train" / "ant" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(UserError, match="broken.png: unreadable image"):
        datasets.load_dataset(str(tmp_path / "tree"), "cifar10")


def test_shipped_cifar_subset():
    mini = datasets.load_dataset("cifar10-mini")
    assert mini.x_train.shape == (1000, 32, 32, 3) and mini.x_test.shape == (200, 32, 32, 3)
    assert mini.class_names == datasets.CIFAR10_CLASS_NAMES
    assert np.bincount(mini.y_train).tolist() == [100] * 10


def test_colour_tokens_are_rgb_sub_pixels_in_raster_order_and_round_trip():
    rng = np.random.default_rng(0)
    levels = rng.integers(0, 7, (5, 4, 4, 3), dtype=np.uint8)
    pictures = util.dequantize(levels, 6)
    tokens = util.to_tokens(pictures, 4, 6)
    assert tokens.shape == (5, 48)
    np.testing.assert_array_equal(tokens[:, :3], levels[:, 0, 0, :])  # pixel (0, 0): R, G, B
    np.testing.assert_array_equal(tokens[:, 3:6], levels[:, 0, 1, :])  # then pixel (0, 1)
    np.testing.assert_array_equal(util.tokens_to_images(tokens, 4, 3), levels)
    rows = util.to_tokens(pictures, 4, 6, mode="row")
    assert rows.shape == (5, 4, 12)
    np.testing.assert_array_equal(util.tokens_to_images(rows, 4, 3), levels)


def test_grayscale_uses_luma_weights():
    rgb = np.array([[[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]]], dtype=np.uint8)
    assert datasets.to_grayscale(rgb).tolist() == [[[76, 150, 29, 255]]]
