"""Nothing lost, nothing unsafe: atomic saves, checkpoints and resume, compatibility checks, and
loaders that fail cleanly on any bytes. The one-line error for each kind of bad command line (exit
code 2, no traceback, nothing overwritten) is tried in tests/test_errors.py."""

import json
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from conftest import REPO, TINY_TRAINING, run_script
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import util
from rnn_draw.library import UserError, datasets, folders, read_json, saving
from rnn_draw.commands import checkpoints, trained, training

# --- atomic saves --------------------------------------------------------------------------------


def test_a_crash_mid_save_leaves_the_previous_model_loadable(tmp_path, tiny_model, monkeypatch):
    saving.save_model(tiny_model, tmp_path / "model_0.keras")
    before = [w.copy() for w in saving.load_model(tmp_path / "model_0.keras").get_weights()]

    def crash_mid_write(self, path, *args, **kwargs):
        with open(path, "wb") as file:
            file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # as if Ctrl-C landed in the middle of writing

    monkeypatch.setattr(keras.Model, "save", crash_mid_write)
    with pytest.raises(KeyboardInterrupt):
        saving.save_model(tiny_model, tmp_path / "model_0.keras")
    after = saving.load_model(tmp_path / "model_0.keras").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert [p.name for p in tmp_path.iterdir()] == ["model_0.keras"]  # no temporary file left behind


# --- checkpoints and resume ----------------------------------------------------------------------


class InterruptAfter(keras.callbacks.Callback):
    """Raises KeyboardInterrupt at the end of epoch `epoch` (after the checkpoint is written)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_resume_continues_from_the_checkpoint_to_the_requested_epochs(tmp_path):
    mini = datasets.load_dataset("mnist-mini")
    setup = folders.settings("mnist", datasets.MNIST_CLASS_NAMES, target_size=5, max_intensity=2, units=8)
    options = dict(epochs=4, batch_size=64, verbose=0)
    with pytest.raises(KeyboardInterrupt):
        training.train_classes(mini.x_train, mini.y_train, [1], tmp_path, setup, callbacks=[InterruptAfter(1)], **options)
    checkpoint = checkpoints.read_checkpoint(tmp_path / "model_1.ckpt.npz")
    assert checkpoint.state["epochs_done"] == 2 and not (tmp_path / "model_1.keras").exists()
    # Adam: step count, rate, two moments per weight
    assert checkpoint.optimizer[0] > 0 and len(checkpoint.optimizer) == 2 + 2 * len(checkpoint.weights)
    training.train_classes(mini.x_train, mini.y_train, [1], tmp_path, setup, resume=True, **options)
    record = json.loads((tmp_path / "model_1.json").read_text())
    assert len(record["history"]["loss"]) == 4  # as many epochs as an uninterrupted run
    assert not list(tmp_path.glob("*.ckpt.*"))
    assert trained.load_models(tmp_path)[1].keys() == {1}


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(tmp_path):
    folder = tmp_path / "models"
    command = [sys.executable, "train_mnist.py", "--digit", "2", "--models_dir", str(folder), *TINY_TRAINING[:-4],
               "--epochs", "200", "--batch_size", "16"]
    # Python turns SIGINT into KeyboardInterrupt only if it inherits the default disposition; a suite run in
    # the background of a script (`cmd &`) inherits it ignored, as the user's Ctrl-C never is.
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while not (folder / "model_2.ckpt.npz").exists() and time.time() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert "--resume" in stdout and "Traceback" not in stderr
    state = checkpoints.read_checkpoint(folder / "model_2.ckpt.npz")[2]
    done = state["epochs_done"]
    # The message counts what the checkpoint holds: as many epochs as its history has losses.
    assert f"has {done} epoch(s) saved in {folder / 'model_2.ckpt.npz'}" in stdout, stdout[-2000:]
    assert len(state["history"]["loss"]) == done
    result = run_script("train_mnist.py", "--digit", "2", "--models_dir", folder, *TINY_TRAINING[:-4],
                        "--epochs", str(done + 1), "--batch_size", "16", "--resume")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"resuming after epoch {done}" in result.stdout
    losses = json.loads((folder / "model_2.json").read_text())["history"]["loss"]
    assert len(losses) == done + 1 and losses[:done] == state["history"]["loss"]  # the interrupted epochs kept


# --- compatibility -------------------------------------------------------------------------------


@pytest.fixture
def models_copy(tiny_models_dir, tmp_path):
    return shutil.copytree(tiny_models_dir, tmp_path / "models")


def test_a_model_with_other_settings_in_the_folder_is_named(models_copy):
    record = json.loads((models_copy / "model_1.json").read_text())
    record["settings"]["max_intensity"] = 6
    (models_copy / "model_1.json").write_text(json.dumps(record))
    with pytest.raises(UserError, match="model_1.json: trained with max_intensity=6"):
        trained.load_models(models_copy)


def test_a_model_whose_network_disagrees_with_the_manifest_is_named(models_copy):
    saving.save_model(util.create_model(7, units=4), models_copy / "model_0.keras")  # 7 levels where the folder has 4
    with pytest.raises(UserError, match="model_0.keras: the model has 7 levels"):
        trained.load_models(models_copy)


def test_colour_models_refuse_grey_images(tmp_path):
    setup = folders.settings("cifar10", datasets.CIFAR10_CLASS_NAMES, target_size=4, max_intensity=3, channels=3, units=8)
    mini = datasets.load_dataset("cifar10-mini")
    training.train_classes(mini.x_train, mini.y_train, [0], tmp_path, setup, epochs=1, verbose=0)
    with pytest.raises(UserError, match="1 channel"):
        util.classify([trained.load_models(tmp_path)], datasets.load_dataset("mnist-mini").x_test[:5])


# --- more asked for than there is ----------------------------------------------------------------


def test_more_images_than_exist_are_clamped_with_a_note(tiny_models_dir, tmp_path):
    result = run_script("classification.py", "--models_dir", tiny_models_dir, "--data", "mnist-mini",
                        "--num_images", "99999", "--only_trained_classes", "--report", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "the test set has 1000 images" in result.stdout


# --- every loader, fed random bytes and truncations: a clean UserError or a result, never a crash ---

LOADERS = {
    "npz": lambda path: datasets.load_npz(path, "mnist"),
    "idx": datasets.read_idx,
    "idx.gz": datasets.read_idx,
    "cifar batch": lambda path: datasets.read_cifar_batch(path.name, path.read_bytes()),
    "tar.gz": lambda path: datasets.load_path(path, "cifar10"),
    "png": lambda path: datasets.read_picture(path, 1),
    "keras": saving.load_model,
    "json": read_json,
}


def valid_bytes(kind, tmp_path):
    """A valid file of each kind, for truncation."""
    if kind == "npz":
        np.savez(tmp_path / "v.npz", x_train=np.ones((2, 4, 4), np.uint8), y_train=np.zeros(2, np.uint8),
                 x_test=np.ones((2, 4, 4), np.uint8), y_test=np.zeros(2, np.uint8))
        return (tmp_path / "v.npz").read_bytes()
    if kind.startswith("idx"):
        import gzip
        import struct

        raw = struct.pack(">HBBIII", 0, 8, 3, 2, 4, 4) + bytes(32)
        return gzip.compress(raw) if kind.endswith("gz") else raw
    if kind == "cifar batch":
        import pickle

        return pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]}, protocol=2)
    if kind == "keras":
        util.create_model(3, units=2).save(tmp_path / "v.keras")
        return (tmp_path / "v.keras").read_bytes()
    if kind == "json":
        return b'{"dataset": "mnist"}'
    if kind == "png":
        from PIL import Image

        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "v.png")
        return (tmp_path / "v.png").read_bytes()
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("train/cat/0.png")
        png = valid_bytes("png", tmp_path)
        info.size = len(png)
        archive.addfile(info, io.BytesIO(png))
    return buffer.getvalue()


SUFFIX = {"idx.gz": ".gz", "cifar batch": "", "tar.gz": ".tar.gz"}


@pytest.mark.parametrize("kind", list(LOADERS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_loaders_fail_cleanly_on_random_and_truncated_bytes(kind, data, tmp_path):
    valid = valid_bytes(kind, tmp_path)
    cut = st.floats(0, 1, exclude_max=True).map(lambda share: valid[: int(share * len(valid))])
    raw = data.draw(st.one_of(st.binary(max_size=2000), cut))
    path = tmp_path / ("fuzz" + SUFFIX.get(kind, "." + kind))
    path.write_bytes(raw)
    try:
        LOADERS[kind](path)
    except UserError as error:
        assert "\n" not in str(error)
