"""Ensembles of models folders: classification.py adds the folders' log-likelihoods per class."""

import json

import numpy as np
import pytest
from conftest import TINY_TRAINING, assert_one_line_error, run_script

import util
from rnn_draw.library import UserError, datasets, ensemble
from rnn_draw.commands import trained


@pytest.fixture(scope="module")
def row_models_dir(tmp_path_factory):
    """Digits 0 and 1 in row mode at 5x5: other models and other preprocessing than tiny_models_dir."""
    folder = tmp_path_factory.mktemp("row")
    for digit in ("0", "1"):
        result = run_script("train_mnist.py", "--digit", digit, "--num_images", "300", "--mode", "row", "--models_dir",
                            folder, *TINY_TRAINING[:2], "--target_size", "5", *TINY_TRAINING[4:])
        assert result.returncode == 0, result.stderr[-2000:]
    return folder


def test_the_ensemble_scores_are_the_sum_of_each_folders_log_likelihoods(tiny_models_dir, row_models_dir):
    images = datasets.load_dataset("mnist-mini").x_test[:40]
    folders = [trained.load_models(tiny_models_dir), trained.load_models(row_models_dir)]
    _, scores, classes, _, members = util.classify(folders, images, batch_size=16)
    expected = sum(util.class_log_likelihoods(m, models, util.tokens_for(m, images))[0] for m, models in folders)
    np.testing.assert_allclose(scores, expected, rtol=1e-9)
    assert classes.tolist() == [0, 1] and len(members) == 2
    assert not np.allclose(members[0], members[1])  # the folders really are different experts


def test_product_of_experts_refuses_members_of_different_classes():
    with pytest.raises(UserError, match="different classes"):
        ensemble.product_of_experts([(np.zeros((2, 2)), np.array([0, 1])), (np.zeros((2, 2)), np.array([0, 2]))])


def test_classification_with_two_folders_reports_the_ensemble_and_each_member(tiny_models_dir, row_models_dir, tmp_path):
    result = run_script("classification.py", "--models_dir", tiny_models_dir, row_models_dir, "--data", "mnist-mini",
                        "--only_trained_classes", "--report", tmp_path / "ensemble.json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "ensemble.json").read_text())
    assert [m["models_dir"] for m in report["members"]] == [str(tiny_models_dir), str(row_models_dir)]
    assert report["num_images"] == 200 and report["accuracy"] >= 0.8
    # No NLL for the ensemble (a sum of two folders' log-likelihoods is no likelihood); each member's is its own
    # models' -log p(x | true class), averaged over the 200 test 0s and 1s, in bits over its own image size.
    assert report["nll_true_class_nats"] is None
    mini = datasets.load_dataset("mnist-mini")
    chosen = np.isin(mini.y_test, [0, 1])
    images, labels = mini.x_test[chosen], mini.y_test[chosen]
    for member, folder in zip(report["members"], (tiny_models_dir, row_models_dir)):
        manifest, models = trained.load_models(folder)
        scores, classes = util.class_log_likelihoods(manifest, models, util.tokens_for(manifest, images))
        nats = -scores[np.arange(len(labels)), np.searchsorted(classes, labels)].mean()
        assert member["nll_true_class_nats"] == pytest.approx(nats, rel=1e-5), (folder, nats)
        dims = manifest["target_size"] ** 2  # 36 and 25
        assert member["bits_per_dim_true_class"] == pytest.approx(nats / (dims * np.log(2)), rel=1e-5)
    assert f"{row_models_dir} alone: accuracy" in result.stdout


def test_an_ensemble_of_folders_with_other_classes_is_refused(tiny_models_dir, tmp_path):
    result = run_script("train_cifar.py", "--class_name", "cat", "--data", "cifar10-mini", "--models_dir", tmp_path,
                        "--units", "4", "--epochs", "1", "--target_size", "4")
    assert result.returncode == 0, result.stderr[-2000:]
    assert_one_line_error(run_script("classification.py", "--models_dir", tiny_models_dir, tmp_path), "same classes")


@pytest.mark.parametrize("script, recipe, data", [("train_mnist.py", "best-mnist-cpu", "mnist-mini"),
                                                  ("train_cifar.py", "best-cifar-cpu", "cifar10-mini")])
def test_the_best_cpu_recipes_run_tiny(script, recipe, data, tmp_path):
    result = run_script(script, "--all_digits", "--recipe", recipe, "--data", data, "--num_images", "5", "--epochs", "1",
                        "--units", "8", "--target_size", "4", "--models_dir", tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads((tmp_path / "model_all.json").read_text())
    assert record["settings"]["conditional"] and record["epochs"] == 1 and sum(record["train_counts"].values()) == 50
