"""Judging samples: the independent classifier, copies, diversity, and generate.py --evaluate."""

import json

import numpy as np
import pytest
from conftest import REPO, run_script
from PIL import Image

import config
import util
from rnn_draw.library import datasets, folders, judge, pictures, saving
from rnn_draw.commands import trained, training


@pytest.fixture(scope="module")
def mini_levels():
    """The shipped subset at 10x10, 7 levels: ((train levels, labels), (test levels, labels))."""
    mini = datasets.load_dataset("mnist-mini")
    as_levels = [util.tokens_to_images(util.to_tokens(x, 10, 6), 10) for x in (mini.x_train, mini.x_test)]
    return (as_levels[0], mini.y_train), (as_levels[1], mini.y_test)


def test_the_independent_classifier_recognises_real_test_images(mini_levels):
    (train, train_labels), (test, test_labels) = mini_levels
    referee = judge.fit_judge(train, train_labels, max_intensity=6)
    assert (referee.predict(test) == test_labels).mean() >= 0.8


def test_planted_copies_of_training_images_are_counted_as_copied(mini_levels):
    (train, _), (test, _) = mini_levels
    samples = np.concatenate([train[[5, 17, 300]], test[:7]])  # 3 copies among 10
    training = judge.TrainingImages(train)
    assert training.copied(samples) == pytest.approx(0.3)
    assert training.median_nearest_distance(train[:9]) == 0


def test_identical_samples_have_no_diversity_and_different_ones_have_some(mini_levels):
    (train, _), _ = mini_levels
    assert judge.diversity(np.repeat(train[:1], 20, axis=0)) == 0
    assert judge.diversity(train[:2]) == pytest.approx(np.linalg.norm(train[0].astype(float) - train[1]))


def toy_images(rng, count):
    """A toy two-class problem at 4x4, 4 levels: class 0 has its ink on the left, class 1 on the right."""
    levels = rng.integers(0, 2, size=(count, 4, 4))
    labels = rng.integers(0, 2, size=count)
    levels[labels == 0, :, :2] += 2
    levels[labels == 1, :, 2:] += 2
    return (levels * 85).astype(np.uint8), labels


def test_samples_of_a_class_model_are_recognised_as_that_class(tmp_path):
    images, labels = toy_images(np.random.default_rng(0), 600)
    setup = folders.settings("custom", ["left", "right"], target_size=4, max_intensity=3, units=16)
    training.train_classes(images, labels, [0, 1], tmp_path, setup, epochs=8, batch_size=16, verbose=0)
    manifest, models = trained.load_models(tmp_path)
    referee = judge.fit_judge(util.tokens_to_images(util.to_tokens(images, 4, 3), 4), labels, max_intensity=3)
    for label in (0, 1):
        share, judged_as = judge.recognised(referee, util.sample(models[label], 100, manifest, seed=label), label)
        assert share > max((v for k, v in judged_as.items() if k != label), default=0.0), judged_as


def test_generate_evaluate_prints_four_lines_and_writes_a_report(tmp_path):
    """The shipped models (10x10, 7 levels) judged at their size, where a logistic regression reads digits: 0.89
    on the subset's 1,000 test images, so the judge is held to 0.8. (The bar had been lowered to 0.5 when this
    judged the suite's 6x6 models of 4 levels: there even a well-fit judge stops at 0.71.)"""
    result = run_script("generate.py", "--digit", "1", "--evaluate", "--num_samples", "40", "--data", "mnist-mini",
                        "--temperatures", "0.5,1.0", "--seed", "0", "--out", tmp_path / "ones.png")
    assert result.returncode == 0, result.stderr[-2000:]
    for start in ("recognised:", "copied:", "diversity:", "Fréchet distance"):
        assert sum(line.strip().startswith(start) for line in result.stdout.splitlines()) == 2, result.stdout
    report = json.loads((tmp_path / "ones_quality.json").read_text())
    assert set(report["temperatures"]) == {"0.5", "1.0"} and report["judge_accuracy_real_test"] > 0.8  # real digits
    figures = report["temperatures"]["1.0"]["per_class"]["1"]
    assert figures["samples"] == 40 and figures["diversity"] > 0
    overall = report["temperatures"]["1.0"]["overall"]
    assert overall["frechet"] > overall["frechet_real_test"] > 0  # 10x10 samples, blown up, are further than real 1s
    assert figures["recognised"] == figures["judged_as"].get("1", 0.0) and sum(figures["judged_as"].values()) == pytest.approx(1)
    # The pictures: the plot against temperature at its 6 x 4 inches of 100 dpi, and beside it the grid that the
    # digit-1 model draws with --seed 0 (5 x 5 samples at 32 pixels a cell), the very one drawn here.
    assert Image.open(tmp_path / "ones_quality.png").size == (600, 400)
    folder = REPO / config.MNIST_MODELS_DIR
    drawn = util.sample(saving.load_model(folder / "model_1.keras"), config.GRID_SIZE**2, folders.read_manifest(folder),
                        seed=0)
    expected = pictures.tile(util.dequantize(drawn, 6), config.GRID_SIZE, config.OUTPUT_SIZE)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "ones.png")), expected)
