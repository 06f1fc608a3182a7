"""The tutorial, exactly, and useful in the first minute: per-class --num_images, the shipped models,
readable logs, a library that never imports the story, and a model told nothing of classes."""

import io
import json
import zipfile

import h5py
import numpy as np
import pytest
from conftest import REPO, assert_one_line_error, run_script

import config
import util
from rnn_draw.library import datasets, folders
from rnn_draw.commands import trained

TINY = ["--target_size", "4", "--max_intensity", "3", "--units", "8", "--epochs", "1", "--batch_size", "32"]


def test_num_images_is_per_class_as_in_the_tutorial(tmp_path):
    result = run_script("train_mnist.py", "--digit=0", "--num_images=100", "--data", "mnist-mini", "--models_dir", tmp_path, *TINY)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((tmp_path / "model_0.json").read_text())["train_counts"] == {"0": 100}


def test_num_images_is_per_class_for_a_conditional_model_too(tmp_path):
    result = run_script("train_mnist.py", "--all_digits", "--conditional", "--num_images", "30", "--data", "mnist-mini",
                        "--models_dir", tmp_path, *TINY)
    assert result.returncode == 0, result.stderr[-2000:]
    counts = json.loads((tmp_path / "model_all.json").read_text())["train_counts"]
    assert counts == {str(digit): 30 for digit in range(10)}


def test_the_tutorials_command_trains_on_every_image_it_selects(tmp_path):
    """As the tutorial's `model.fit(xs, ys)`: no validation split unless asked for, so 100 images at
    batch 32 are 4 steps an epoch (a 10% hold-out would leave 3), and nothing to classify as held out."""
    result = run_script("train_mnist.py", "--digit=0", "--num_images=100", "--data", "mnist-mini", "--models_dir", tmp_path,
                        *TINY[:-4], "--epochs", "2", "--batch_size", "32")
    assert result.returncode == 0, result.stderr[-2000:]
    assert [line.split(" - ")[0] for line in result.stdout.splitlines() if " - loss: " in line] == ["4/4", "4/4"]
    record = json.loads((tmp_path / "model_0.json").read_text())
    kept = {"loss", "seconds", "learning_rate"}  # loss, training-time count, step size; no val_loss without a split
    assert record["validation_split"] == 0 and set(record["history"]) == kept
    assert_one_line_error(run_script("classification.py", "--split", "validation", "--models_dir", tmp_path),
                          "held out no images")
    assert_one_line_error(run_script("train_mnist.py", "--digit", "0", "--early_stopping", "2"),
                          "--early_stopping needs --validation_split above 0")


def test_early_stopping_on_a_class_too_small_to_hold_any_out_is_a_note_not_a_warning(tmp_path):
    result = run_script("train_mnist.py", "--digit", "3", "--data", "mnist-mini", "--num_images", "5", "--validation_split",
                        "0.1", "--early_stopping", "1", "--models_dir", tmp_path, *TINY)
    assert result.returncode == 0 and result.stderr == "", result.stderr[-2000:]
    assert "class 3 has too few images to hold any out" in result.stdout and (tmp_path / "model_3.keras").is_file()


def test_a_class_with_fewer_images_uses_all_of_them_with_a_note(tmp_path):
    result = run_script("train_cifar.py", "--label", "3", "--data", "cifar10-mini", "--num_images", "5000",
                        "--models_dir", tmp_path, *TINY)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "class cat has 100 training images, fewer than --num_images 5000" in result.stdout
    assert json.loads((tmp_path / "model_3.json").read_text())["train_counts"] == {"3": 100}


def test_the_first_images_of_each_class_in_the_data_sets_order():
    mini = datasets.load_dataset("mnist-mini")
    images, labels, short = datasets.first_of_each_class(mini.x_train, mini.y_train, [7, 2], 3)
    expected = [row for label in (2, 7) for row in (mini.y_train == label).nonzero()[0][:3]]
    assert labels.tolist() == mini.y_train[sorted(expected)].tolist() and short == {}
    assert (images == mini.x_train[sorted(expected)]).all()


def test_short_classes_are_one_note_however_many():
    names = datasets.MNIST_CLASS_NAMES
    assert datasets.short_classes_note({3: 6131}, names, 60000) == (
        "note: class 3 has 6131 training images, fewer than --num_images 60000; using all of them")
    assert datasets.short_classes_note({0: 5923, 1: 6742}, names, 60000).endswith("classes 0, 1 have; each uses all of "
                                                                             "its images (5923 to 6742)")
    assert datasets.short_classes_note({0: 1000, 1: 1000}, names, 5000).endswith("(1000 each)")


# --- the shipped models --------------------------------------------------------------------------

SHIPPED = [config.MNIST_MODELS_DIR, config.CONDITIONAL_MODELS_DIR]


def true_class_nats(manifest, models, images, labels):
    """-log p(x | its class) in nats (N,): each image scored by its own class's model only."""
    tokens, nats = util.tokens_for(manifest, images), np.empty(len(images))
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        nats[rows] = -util.log_likelihood(models[label], tokens[rows], np.full(len(rows), label) if manifest["conditional"]
                                          else None)[0]
    return nats


@pytest.mark.parametrize("folder", SHIPPED)
def test_shipped_models_load_pass_the_checks_and_carry_their_record(folder):
    manifest, models = trained.load_models(REPO / folder)
    assert sorted(models) == list(range(10)) and manifest["target_size"] == 10 and manifest["levels"] == 7
    measured = json.loads((REPO / folder / "classification.json").read_text())
    for record_path in (REPO / folder).glob("model_*.json"):
        record = json.loads(record_path.read_text())
        assert record["command"].startswith("python train_mnist.py") and record["data"]
        assert len(record["history"]["loss"]) == record["epochs"]  # the epochs it counts are the epochs it trained
        assert record["settings"]["keras_version"] and "accuracy" not in record  # classification.py measured it
    assert measured["split"] == "test"
    for model_path in (REPO / folder).glob("model_*.keras"):  # weights only, no optimizer state: a third of the size
        with zipfile.ZipFile(model_path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as weights:
            assert "optimizer" not in weights, model_path


@pytest.mark.parametrize("folder", SHIPPED)
def test_the_shipped_records_nll_is_what_the_models_give(folder):
    """The subset's 1,000 test images (the first 100 of each digit of the same test set) score, under their true
    class, the mean NLL recorded on the whole test set, within 4 standard errors of their mean."""
    manifest, models = trained.load_models(REPO / folder)
    recorded = json.loads((REPO / folder / "classification.json").read_text())["nll_true_class_nats"]
    mini = datasets.load_dataset("mnist-mini")
    nats = true_class_nats(manifest, models, mini.x_test, mini.y_test)
    tolerance = 4 * nats.std() / np.sqrt(len(nats))  # about 1.5 nats, half the gap between the two folders' figures
    assert abs(nats.mean() - recorded) < tolerance, (nats.mean(), recorded, tolerance)


@pytest.mark.skipif(datasets.local_copy("mnist") is None, reason="the full MNIST is not here (config.DATASETS['mnist'])")
@pytest.mark.parametrize("folder", SHIPPED)
def test_the_shipped_figures_count_every_image_of_the_test_set(folder):
    test_labels = datasets.load_dataset("mnist").y_test
    measured = json.loads((REPO / folder / "classification.json").read_text())
    assert measured["num_images"] == len(test_labels)  # the whole test split
    np.testing.assert_array_equal(np.sum(measured["confusion_matrix"], axis=1), np.bincount(test_labels, minlength=10))


def test_shipped_models_classify_the_shipped_subset_well(tmp_path):
    """On the subset's 1,000 test images, the accuracy recorded on the whole test set, within 4 standard errors."""
    result = run_script("classification.py", "--data", "mnist-mini", "--report", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr[-2000:]
    recorded = json.loads((REPO / config.MNIST_MODELS_DIR / "classification.json").read_text())["accuracy"]
    accuracy = json.loads((tmp_path / "r.json").read_text())["accuracy"]
    assert abs(accuracy - recorded) < 4 * np.sqrt(recorded * (1 - recorded) / 1000), (accuracy, recorded)  # 0.02


def test_generate_draws_from_the_shipped_models(tmp_path):
    result = run_script("generate.py", "--digit", "7", "--seed", "0", "--out", tmp_path / "seven.png")
    assert result.returncode == 0 and (tmp_path / "seven.png").is_file(), result.stderr[-2000:]


# --- logs, layers ----------------------------------------------------------------------------------


def test_a_log_file_gets_one_line_per_epoch_and_no_bar_fragments(tmp_path):
    result = run_script("train_mnist.py", "--digit", "4", "--data", "mnist-mini", "--num_images", "200", "--models_dir",
                        tmp_path, *TINY[:-4], "--epochs", "2", "--batch_size", "8")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "\r" not in result.stdout and "\x1b" not in result.stdout and "━" not in result.stdout
    epoch_lines = [line for line in result.stdout.splitlines() if " - loss: " in line]
    assert len(epoch_lines) == 2, result.stdout
    result = run_script("classification.py", "--data", "mnist-mini", "--num_images", "30", "--report", tmp_path / "r.json")
    assert result.returncode == 0 and "\r" not in result.stdout and "━" not in result.stdout
    assert sum("scored 30 images under class" in line for line in result.stdout.splitlines()) == 10


# --- one model told nothing of classes -------------------------------------------------------------


@pytest.fixture(scope="module")
def unconditional_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unconditional")
    result = run_script("train_mnist.py", "--all_digits", "--unconditional", "--num_images", "40", "--data", "mnist-mini",
                        "--models_dir", folder, *TINY)
    assert result.returncode == 0, result.stderr[-2000:]
    return folder


def test_an_unconditional_model_is_one_model_without_a_class_input(unconditional_dir):
    manifest, models = trained.load_models(unconditional_dir)
    assert manifest["unconditional"] and list(models) == [None]
    assert util.num_classes_of(models[None]) == 0
    assert json.loads((unconditional_dir / "model_all.json").read_text())["train_counts"] == {str(d): 40 for d in range(10)}


def test_an_unconditional_model_samples_and_completes_without_a_class(unconditional_dir, tmp_path):
    result = run_script("generate.py", "--models_dir", unconditional_dir, "--grid_size", "2", "--out", tmp_path / "any.png")
    assert result.returncode == 0 and (tmp_path / "any.png").is_file(), result.stderr[-2000:]
    result = run_script("generate.py", "--models_dir", unconditional_dir, "--complete", "--keep", "9", "--num_images", "3",
                        "--data", "mnist-mini", "--out", tmp_path / "done.png")
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.glob("done_*.png")) == ["done_0.png", "done_1.png", "done_2.png"]
    result = run_script("generate.py", "--models_dir", unconditional_dir, "--complete", "--digit", "5", "--keep", "9",
                        "--num_images", "1", "--data", "mnist-mini", "--out", tmp_path / "five.png")
    assert result.returncode == 0 and (tmp_path / "five.png").is_file(), result.stderr[-2000:]


def test_an_unconditional_model_refuses_to_classify_or_to_draw_a_chosen_class(unconditional_dir):
    assert_one_line_error(run_script("classification.py", "--models_dir", unconditional_dir, "--data", "mnist-mini"),
                          "cannot compare classes")
    assert_one_line_error(run_script("generate.py", "--models_dir", unconditional_dir, "--digit", "3"),
                          "told nothing of classes")


# --- choosing between runs on the images their training held out ------------------------------


@pytest.fixture(scope="module")
def held_out_runs(tmp_path_factory):
    """Digits 3 and 5 trained one model each, and one conditional model, with held-out images."""
    folders = {"per_class": tmp_path_factory.mktemp("per_class"), "conditional": tmp_path_factory.mktemp("conditional")}
    common = ["--data", "mnist-mini", "--num_images", "60", "--validation_split", "0.25", "--seed", "4", *TINY]
    for extra, folder in ((["--digit", "3"], "per_class"), (["--digit", "5"], "per_class"),
                          (["--all_digits", "--conditional"], "conditional")):
        result = run_script("train_mnist.py", *extra, "--models_dir", folders[folder], *common)
        assert result.returncode == 0, result.stderr[-2000:]
    return folders


@pytest.mark.parametrize("kind", ["per_class", "conditional"])
def test_held_out_images_are_the_ones_training_validated_on(held_out_runs, kind):
    """Their mean log-loss under each model is the validation loss Keras reported while training."""
    folder = held_out_runs[kind]
    mini = datasets.load_dataset("mnist-mini")
    manifest, models = trained.load_models(folder)
    for run in folders.training_runs(folder):
        images, labels = datasets.held_out_images(mini.x_train, mini.y_train, [run])
        classes = sorted(int(k) for k in run["train_counts"])
        assert len(images) == int(60 * len(classes) * 0.25) and set(labels.tolist()) == set(classes)
        model = models[classes[0]]
        nats, _ = util.log_likelihood(model, util.tokens_for(manifest, images), labels if manifest["conditional"] else None)
        per_sub_pixel = -nats.mean() / 16
        assert per_sub_pixel == pytest.approx(run["history"]["val_loss"][-1], rel=1e-4)


def test_classification_on_the_held_out_images(held_out_runs, tmp_path):
    folder = held_out_runs["per_class"]
    result = run_script("classification.py", "--split", "validation", "--models_dir", folder)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "classifying the 30 training images" in result.stdout
    report = json.loads((folder / "classification_validation.json").read_text())
    assert report["num_images"] == 30 and not (folder / "classification.json").exists()


def test_held_out_images_need_a_record_that_says_which(held_out_runs, tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    for path in held_out_runs["per_class"].iterdir():
        record = json.loads(path.read_text()) if path.suffix == ".json" else None
        if record and "seed" in record:
            del record["seed"]
        (folder / path.name).write_bytes(json.dumps(record).encode() if record else path.read_bytes())
    assert_one_line_error(run_script("classification.py", "--split", "validation", "--models_dir", folder),
                          "does not say which images its training held out")
    assert_one_line_error(run_script("classification.py", "--split", "validation", "--models_dir", folder, folder),
                          "--split validation takes one --models_dir")


def test_the_shipped_models_scores_are_those_of_the_one_hot_path():
    """log p(x | k) of real digits under every shipped tutorial model, through the compiled integer path,
    equal the float64 numpy log-softmax of one-hot forward passes to 1e-3 nats per image."""
    import numpy as np
    import reference

    import util

    manifest, models = trained.load_models(REPO / config.MNIST_MODELS_DIR)
    tokens = util.tokens_for(manifest, datasets.load_dataset("mnist-mini").x_test[::25])
    for model in models.values():
        np.testing.assert_allclose(util.log_likelihood(model, tokens)[0], reference.log_likelihood(model, tokens), atol=1e-3)
