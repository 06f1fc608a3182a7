"""The Fréchet distance and its feature network: the distance's known values, level images brought to
the native size, and a small CNN that learns a separable problem in seconds."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from rnn_draw.library import frechet


def gaussian(count, dims, mean=0.0, seed=0):
    """(count, dims) samples of a Gaussian with a fixed, correlated covariance and the given mean."""
    mixing = np.random.default_rng(99).normal(size=(dims, dims)) / np.sqrt(dims)
    return np.random.default_rng(seed).normal(size=(count, dims)) @ mixing + mean


def test_a_set_is_at_zero_from_itself_and_further_the_more_it_is_shifted():
    points = gaussian(500, 16)
    scale = np.trace(np.cov(points, rowvar=False))
    assert frechet.frechet_distance(points, points) < 1e-6 * scale
    distances = [frechet.frechet_distance(points, points + shift) for shift in (0.1, 0.5, 1, 2, 4)]
    assert (np.diff(distances) > 0).all(), distances
    assert distances[-1] == pytest.approx(16 * 4**2)  # a shift moves the mean only: ||shift||^2


def test_dead_units_leave_the_distance_finite_and_exact():
    points = np.maximum(gaussian(500, 32), 0)
    points[:, :10] = 0  # ten units that never fire: singular covariances
    assert frechet.frechet_distance(points, points) < 1e-6
    assert frechet.frechet_distance(points, points + 0.5) == pytest.approx(32 * 0.5**2)


def test_the_distance_is_symmetric():
    a, b = gaussian(400, 8, seed=1), 1.5 * gaussian(300, 8, mean=0.3, seed=2)
    assert frechet.frechet_distance(a, b) == pytest.approx(frechet.frechet_distance(b, a), rel=1e-6)


def test_gaussians_of_one_covariance_are_apart_by_the_squared_distance_of_their_means():
    mean = np.array([3.0, -1.0, 0.0, 2.0])
    distance = frechet.frechet_distance(gaussian(20_000, 4, seed=3), gaussian(20_000, 4, mean=mean, seed=4))
    assert distance == pytest.approx(mean @ mean, abs=0.2)  # 14, give or take the samples' noise


def bilinear(size_in, size_out):
    """(size_out, size_in): the weights of a bilinear resize along one axis, pixel centres aligned
    (output pixel i sits at (i + 0.5) * size_in / size_out - 0.5 of the input), the edge pixels held beyond."""
    at = np.clip((np.arange(size_out) + 0.5) * size_in / size_out - 0.5, 0, size_in - 1)
    low = np.floor(at).astype(int)
    weights = np.zeros((size_out, size_in))
    np.add.at(weights, (np.arange(size_out), low), 1 - (at - low))
    np.add.at(weights, (np.arange(size_out), np.minimum(low + 1, size_in - 1)), at - low)
    return weights


@pytest.mark.parametrize("channels", [(), (3,)])
def test_level_images_become_uint8_images_at_the_native_size(channels):
    levels = np.random.default_rng(0).integers(0, 7, size=(5, 10, 10, *channels))
    levels[1], levels[2] = 6, 3  # constant images, between others: the batch axis must not blend them
    native = frechet.to_native(levels, max_intensity=6, size=28)
    assert native.shape == (5, 28, 28, *channels) and native.dtype == np.uint8
    assert (native[1] == 255).all() and (native[2] == 128).all()  # 3 of 6 levels: 127.5, rounded
    # Each image alone, resized bilinearly along height and width (never across images or channels), in grey values.
    resize = bilinear(10, 28)
    expected = np.einsum("hi,nij...,wj->nhw...", resize, levels * (255 / 6), resize)
    assert np.abs(native - expected).max() <= 0.5 + 1e-3, np.abs(native - expected).max()  # rounded to the nearest grey


@pytest.fixture(scope="module")
def halves():
    """200 16x16 grey images, class 0 bright in the top half, class 1 in the bottom half, with noise."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=200)
    images = rng.integers(0, 60, size=(200, 16, 16))
    rows = np.arange(16)[None, :, None]
    bright = (rows < 8) == (labels[:, None, None] == 0)
    return np.where(bright, images + 180, images).astype(np.uint8), labels


def test_the_feature_network_gives_class_probabilities_and_128_features():
    images = np.random.default_rng(0).integers(0, 256, size=(6, 32, 32, 3), dtype=np.uint8)
    model = frechet.feature_network((32, 32, 3), 10)
    assert model.predict(images, verbose=0).shape == (6, 10)
    found = frechet.features(model, images)
    assert found.shape == (6, 128) and found.dtype == np.float64
    # The features are what the class layer reads: the probabilities are their softmax through its weights.
    weights, bias = model.get_layer("classes").get_weights()
    logits = found @ weights + bias
    expected = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(model.predict(images, verbose=0), expected / expected.sum(1, keepdims=True), atol=1e-5)
    assert model.count_params() * 4 < 1_000_000  # float32 weights, well under a megabyte


def test_the_feature_network_learns_a_separable_problem(halves):
    images, labels = halves
    model = frechet.train_feature_network(images, labels, 2, epochs=3)
    assert frechet.accuracy(model, images, labels) >= 0.95
    assert frechet.features(model, images[:10]).shape == (10, 128)  # grey images get their channel axis


def test_the_network_is_trained_once_saved_with_its_record_and_then_loaded(halves, tmp_path, capsys):
    images, labels = halves
    data = SimpleNamespace(name="halves", class_names=["top", "bottom"], x_train=images[:150], y_train=labels[:150],
                           x_test=images[150:], y_test=labels[150:])
    path = tmp_path / "frechet" / "halves.keras"
    trained = frechet.feature_network_for(data, path)
    assert "test accuracy" in capsys.readouterr().out
    record = json.loads(path.with_suffix(".json").read_text())
    recorded_keys = {"dataset", "epochs", "test_accuracy", "seconds"}  # what the record holds, not how long it took
    assert set(record) == recorded_keys and record["dataset"] == "halves"
    loaded = frechet.feature_network_for(data, path)
    assert capsys.readouterr().out == ""  # loaded, not trained again
    np.testing.assert_allclose(frechet.features(loaded, images[:8]), frechet.features(trained, images[:8]), rtol=1e-5)
    # The floor: the first 50 real test images against the first 50 training images, apart (two samples of the
    # data, not one set against itself) but nearer than training images with more and more noise are.
    test_features, floor = frechet.reference(loaded, data.x_test[:50], data.x_train)
    train = data.x_train[:50].astype(float)
    assert floor == pytest.approx(frechet.frechet_distance(test_features, frechet.features(loaded, data.x_train[:50])))
    noise = np.random.default_rng(1).normal(size=train.shape)
    noisier = [frechet.frechet_distance(test_features, frechet.features(loaded, np.clip(train + strength * noise, 0, 255)
                                                                        .astype(np.uint8))) for strength in (20, 40, 80)]
    assert 0 < floor < noisier[0] < noisier[1] < noisier[2], (floor, noisier)
