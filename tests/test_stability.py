"""Training that lands: the model written is the best epoch's on the validation split (across --resume
too), the learning rate is cut when the validation loss stalls, and --deterministic repeats a run."""

import json
import math

import keras
import numpy as np
import pytest
from conftest import TINY_TRAINING, run_script
from scripted import run_in_process
from test_failures import InterruptAfter

from rnn_draw.library import datasets, folders, saving
from rnn_draw.commands import checkpoints, training

HELD_OUT = 0.2


class SpikeFrom(keras.callbacks.Callback):
    """At the start of epoch `epoch`, noise as large as the weights themselves is added to them: that
    epoch and the next end worse than the one before, as a run that wandered off does."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            rng = np.random.default_rng(0)
            self.model.set_weights([w + 2 * rng.standard_normal(w.shape).astype(w.dtype) for w in self.model.get_weights()])


def train_spiking(folder, callbacks, resume=False, lr_patience=None):
    mini = datasets.load_dataset("mnist-mini")
    setup = folders.settings("mnist", datasets.MNIST_CLASS_NAMES, target_size=6, max_intensity=3, units=16)
    keras.utils.set_random_seed(0)
    training.train_classes(
        mini.x_train, mini.y_train, [1], folder, setup, epochs=3, batch_size=16, learning_rate=3e-3, verbose=0,
        validation_split=HELD_OUT, resume=resume, callbacks=callbacks, lr_patience=lr_patience,
        record={"data": "mnist-mini", "seed": 0, "validation_split": HELD_OUT},
    )


def validation_nats_per_pixel(folder, tmp_path):
    code, out, err = run_in_process("classification.py", ["--split", "validation", "--models_dir", folder,
                                                          "--only_trained_classes", "--report", tmp_path / "r.json"], tmp_path)
    assert code == 0, err[-2000:]
    return json.loads((tmp_path / "r.json").read_text())["bits_per_dim_true_class"] * math.log(2)


def test_the_best_epoch_is_written_when_the_last_is_worse_also_across_resume(tmp_path):
    folder = tmp_path / "models"
    with pytest.raises(KeyboardInterrupt):  # epochs 2 and 3 spike; stop after epoch 2, resume for epoch 3
        train_spiking(folder, [SpikeFrom(1), InterruptAfter(1)])
    state = checkpoints.read_checkpoint(folder / "model_1.ckpt.npz")[2]
    assert state["best_epoch"] == 1 and checkpoints.read_checkpoint(folder / "model_1.ckpt.npz").best is not None
    train_spiking(folder, [], resume=True)
    record = json.loads((folder / "model_1.json").read_text())
    losses = record["history"]["val_loss"]
    assert len(losses) == 3 and record["best_epoch"] == 1 and min(losses[1:]) > losses[0] * 1.02, losses  # it spiked
    assert validation_nats_per_pixel(folder, tmp_path) == pytest.approx(losses[0], rel=0.01)


def test_without_a_validation_split_the_last_epoch_is_written(tmp_path):
    mini = datasets.load_dataset("mnist-mini")
    setup = folders.settings("mnist", datasets.MNIST_CLASS_NAMES, target_size=6, max_intensity=3, units=16)
    training.train_classes(mini.x_train[:300], mini.y_train[:300], [1], tmp_path, setup, epochs=2, batch_size=16,
                           validation_split=0, verbose=0, callbacks=[SpikeFrom(1)])
    record = json.loads((tmp_path / "model_1.json").read_text())
    assert "best_epoch" not in record and "val_loss" not in record["history"]


def test_the_learning_rate_is_cut_when_the_validation_loss_stalls(tmp_path):
    train_spiking(tmp_path, [SpikeFrom(1)], lr_patience=1)
    rates = json.loads((tmp_path / "model_1.json").read_text())["history"]["learning_rate"]
    assert rates == pytest.approx([3e-3, 3e-3, 3e-3 * 0.5])  # epoch 2 did not improve: the rate was halved after it


def test_two_deterministic_runs_with_one_seed_write_the_same_weights(tmp_path):
    weights = []
    for run in ("first", "second"):
        result = run_script("train_mnist.py", "--digit", "1", "--num_images", "200", *TINY_TRAINING, "--seed", "5",
                            "--deterministic", "--models_dir", tmp_path / run)
        assert result.returncode == 0, result.stderr[-2000:]
        weights.append(saving.load_model(tmp_path / run / "model_1.keras").get_weights())
        assert json.loads((tmp_path / run / "model_1.json").read_text())["deterministic"] is True
    assert all(np.array_equal(a, b) for a, b in zip(*weights))
