"""The scripts end to end on a tiny configuration, and their one-line errors."""

import json

import pytest
from PIL import Image

from conftest import assert_one_line_error, run_script

TINY = ["--data", "mnist-mini", "--target_size", "6", "--max_intensity", "3", "--units", "16", "--epochs", "3", "--batch_size", "16"]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    """Two digit models trained by train_mnist.py on the shipped subset."""
    folder = tmp_path_factory.mktemp("models")
    for digit in ("0", "1"):
        result = run_script("train_mnist.py", "--digit", digit, "--num_images", "4000", "--models_dir", folder, *TINY)
        assert result.returncode == 0, result.stderr[-3000:]
    return folder


def test_train_writes_models_and_a_manifest(models_dir):
    manifest = json.loads((models_dir / "manifest.json").read_text())
    assert manifest["target_size"] == 6 and manifest["levels"] == 4 and manifest["channels"] == 1
    assert manifest["mode"] == "pixel" and manifest["cell"] == "gru" and not manifest["conditional"]
    zero = json.loads((models_dir / "model_0.json").read_text())
    assert zero["train_counts"] == {"0": 379}  # the 0s among the subset's first 4000 images
    assert len(json.loads((models_dir / "model_1.json").read_text())["history"]["loss"]) == 3
    assert (models_dir / "model_0.keras").is_file() and (models_dir / "model_1.keras").is_file()


def test_generate_writes_a_grid_png(models_dir, tmp_path):
    out = tmp_path / "grid.png"
    result = run_script("generate.py", "--digit", "1", "--grid_size", "3", "--output_size", "8", "--seed", "0",
                        "--models_dir", models_dir, "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    with Image.open(out) as image:
        assert image.size == (3 * (8 + 2) + 2,) * 2 and image.mode == "L"


def test_classification_prints_accuracy_and_writes_a_report(models_dir, tmp_path):
    report_path = tmp_path / "report.json"
    result = run_script("classification.py", "--data", "mnist-mini", "--models_dir", models_dir, "--report", report_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "accuracy:" in result.stdout and "confusion matrix" in result.stdout
    report = json.loads(report_path.read_text())
    assert report["num_images"] == 200  # only the test images of the two trained digits
    assert report["accuracy"] > 0.8  # zeros and ones are easy even for tiny models
    assert sum(map(sum, report["confusion_matrix"])) == 200


def test_all_digits_false_means_false():
    assert_one_line_error(run_script("train_mnist.py", "--all_digits=False"), "nothing to train")


@pytest.mark.parametrize(
    "script, args, fragment",
    [
        ("train_mnist.py", ["--digit", "12"], "--digit"),
        ("train_mnist.py", ["--digit", "3", "--epochs", "0"], "--epochs"),
        ("train_mnist.py", ["--digit", "3", "--data", "no/such/mnist.npz"], "no such file"),
        ("generate.py", ["--digit", "3", "--models_dir", "no/such/folder"], "no trained models"),
        ("generate.py", ["--digit", "3", "--temperature", "-1"], "--temperature"),
        ("classification.py", ["--models_dir", "no/such/folder"], "no trained models"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(script, args, fragment):
    assert_one_line_error(run_script(script, *args), fragment)


def test_generate_for_an_untrained_digit_is_a_user_error(models_dir):
    assert_one_line_error(run_script("generate.py", "--digit", "7", "--models_dir", models_dir), "no model for class 7")
