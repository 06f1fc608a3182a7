"""The scripts end to end on a tiny configuration (their one-line errors: tests/test_errors.py)."""

import json

import pytest
from conftest import TINY_TRAINING as TINY
from conftest import run_script
from PIL import Image


@pytest.fixture
def models_dir(tiny_models_dir):
    return tiny_models_dir


def test_train_writes_models_and_a_manifest(models_dir):
    manifest = json.loads((models_dir / "manifest.json").read_text())
    assert manifest["target_size"] == 6 and manifest["levels"] == 4 and manifest["channels"] == 1
    assert manifest["mode"] == "pixel" and manifest["cell"] == "gru" and not manifest["conditional"]
    zero = json.loads((models_dir / "model_0.json").read_text())
    assert zero["train_counts"] == {"0": 400}  # the first 400 zeros: --num_images counts per class
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
    result = run_script("classification.py", "--data", "mnist-mini", "--models_dir", models_dir, "--report", report_path,
                        "--only_trained_classes")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "accuracy:" in result.stdout and "confusion matrix" in result.stdout
    report = json.loads(report_path.read_text())
    assert report["num_images"] == 200  # only the test images of the two trained digits
    assert report["accuracy"] > 0.8  # zeros and ones are easy even for tiny models
    assert sum(map(sum, report["confusion_matrix"])) == 200


def test_completion_writes_strips_and_gifs(models_dir, tmp_path):
    out = tmp_path / "done.png"
    result = run_script("generate.py", "--digit", "0", "--complete", "--gif", "--keep", "20", "--num_images", "2",
                        "--completions", "3", "--output_size", "8", "--data", "mnist-mini", "--seed", "0",
                        "--models_dir", models_dir, "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    for index in (0, 1):
        with Image.open(tmp_path / f"done_{index}.png") as strip:
            assert strip.size == ((3 + 2) * 10 + 2, 12)  # masked | 3 completions | truth
        with Image.open(tmp_path / f"done_{index}.gif") as gif:
            assert gif.n_frames == 6 - 20 // 6 + 1  # one frame per row, from the first incomplete row


def test_sample_grid_gif_has_a_frame_per_row(models_dir, tmp_path):
    result = run_script("generate.py", "--digit", "1", "--gif", "--grid_size", "2", "--output_size", "8",
                        "--models_dir", models_dir, "--out", tmp_path / "g.png")
    assert result.returncode == 0, result.stderr[-3000:]
    with Image.open(tmp_path / "g.gif") as gif:
        assert gif.n_frames == 6 + 1 and gif.size == (22, 22)


def test_colour_models_train_sample_rgb_and_classify(tmp_path):
    folder = tmp_path / "cifar"
    tiny = ["--data", "cifar10-mini", "--target_size", "4", "--max_intensity", "3", "--units", "16",
            "--epochs", "2", "--models_dir", folder]
    for name in ("ship", "frog"):
        result = run_script("train_cifar.py", "--class_name", name, *tiny)
        assert result.returncode == 0, result.stderr[-3000:]
    result = run_script("generate.py", "--class_name", "frog", "--grid_size", "2", "--output_size", "4",
                        "--models_dir", folder, "--out", tmp_path / "frogs.png")
    assert result.returncode == 0, result.stderr[-3000:]
    with Image.open(tmp_path / "frogs.png") as grid:
        assert grid.mode == "RGB" and grid.size == (14, 14)
    result = run_script("classification.py", "--models_dir", folder, "--data", "cifar10-mini", "--only_trained_classes")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((folder / "classification.json").read_text())
    assert report["num_images"] == 40 and report["channels"] == 3
    assert (folder / "classification.png").is_file()


def test_one_conditional_model_for_all_digits(tmp_path):
    folder = tmp_path / "conditional"
    result = run_script("train_mnist.py", "--all_digits", "--conditional", "--num_images", "600", "--models_dir", folder, *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in folder.glob("*.keras")) == ["model_all.keras"]
    result = run_script("generate.py", "--digit", "4", "--grid_size", "2", "--models_dir", folder, "--out", tmp_path / "f.png")
    assert result.returncode == 0, result.stderr[-3000:]
    result = run_script("classification.py", "--models_dir", folder, "--data", "mnist-mini", "--num_images", "50")
    assert result.returncode == 0 and "accuracy:" in result.stdout, result.stderr[-3000:]


def test_a_recipe_sets_defaults_and_explicit_flags_win(tmp_path):
    result = run_script("train_mnist.py", "--recipe", "demo", "--digit", "3", "--epochs", "1", "--units", "8",
                        "--target_size", "4", "--models_dir", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((tmp_path / "model_3.json").read_text())
    assert record["train_counts"] == {"3": 1000}  # the recipe's data: the shipped subset
    assert len(record["history"]["loss"]) == 1  # the command line's --epochs, not the recipe's
