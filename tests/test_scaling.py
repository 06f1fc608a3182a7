"""Past one device: data-parallel training equals single-device training on the same global batch;
several processes can train different classes into one folder at once; mixed precision trains."""

import json
import math
import re
import subprocess
import sys

import keras
import pytest
from conftest import REPO, TINY_TRAINING, run_script

from rnn_draw.library import UserError, distribute, saving
from rnn_draw.commands import trained


@pytest.mark.skipif(keras.backend.backend() == "torch",
                    reason="data parallelism is not offered on PyTorch (refused: test_data_parallel_training_is_refused_on_pytorch)")
def test_data_parallel_training_on_two_cpu_devices_matches_one_device():
    # TensorFlow: two logical CPU devices, made by the script. JAX (as `make test` runs it):
    # XLA_FLAGS=--xla_force_host_platform_device_count=2 KERAS_BACKEND=jax python tests/data_parallel_check.py
    result = run_script("tests/data_parallel_check.py")
    assert result.returncode == 0, result.stderr[-3000:]
    replicas, moved, difference = re.search(r"replicas (\d+) moved (\S+) max_difference (\S+)", result.stdout).groups()
    assert int(replicas) == 2
    assert float(moved) > 1e-2  # training really changed the weights...
    assert float(difference) < 1e-5  # ...and both runs changed them the same way


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="PyTorch only; the other backends train in parallel above")
def test_data_parallel_training_is_refused_on_pytorch():
    # Rather than silently training on one device.
    with pytest.raises(UserError, match="not supported on the torch backend"):
        distribute.data_parallel(8, 0.01)


def test_two_processes_train_different_classes_into_one_folder(tmp_path):
    folder = tmp_path / "models"
    command = [sys.executable, "train_mnist.py", "--models_dir", str(folder), *TINY_TRAINING[:-4], "--epochs", "2"]
    processes = [subprocess.Popen(command + ["--digit", digit], cwd=REPO, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for digit in ("4", "9")]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-3000:]
    manifest, models = trained.load_models(folder)
    assert sorted(models) == [4, 9] and manifest["train_counts"] == {"4": 1000, "9": 1000}
    assert json.loads((folder / "manifest.json").read_text())["target_size"] == 6


def test_mixed_precision_trains_bfloat16_cells_under_a_float32_softmax(tmp_path):
    result = run_script("train_mnist.py", "--digit", "3", "--mixed_precision", "--models_dir", tmp_path,
                        "--num_images", "1000", *TINY_TRAINING[:-4], "--epochs", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    model = saving.load_model(tmp_path / "model_3.keras")
    assert model.get_layer("gru").compute_dtype == "bfloat16"
    assert model.get_layer("logits").compute_dtype == "float32" and model.output.dtype == "float32"
    losses = json.loads((tmp_path / "model_3.json").read_text())["history"]["loss"]
    assert all(map(math.isfinite, losses)) and losses[1] < losses[0]  # it learns, in nats per sub-pixel
