"""Keras files: models loaded in safe mode, finished models saved without optimizer state (epoch
checkpoints are rnn_draw/commands/checkpoints.py's)."""

import tempfile
from pathlib import Path

import numpy as np

import config
from rnn_draw.library import UserError, atomic_write, quiet
from rnn_draw.library.context import Context

with quiet.backend_import():
    import keras


def check_keras_version():
    """Refuse to load models with a Keras older than config.KERAS_FLOOR: older releases have
    published ways for a crafted .keras file to run code despite safe_mode."""
    from packaging.version import Version

    if Version(keras.__version__) < Version(config.KERAS_FLOOR):
        raise UserError(f"Keras {keras.__version__} is installed; loading models needs Keras {config.KERAS_FLOOR} or "
                        "later (older releases let a crafted .keras file run code): pip install -r requirements.txt")


def load_model(path):
    """Load one `.keras` model (safe mode: no arbitrary code), with a one-line error if it is not one."""
    check_keras_version()
    if not Path(path).is_file():
        raise UserError(f"{path}: no such model file")
    try:
        # Context: the one layer of the project's own a network may hold (a wider context), named here
        # so that loading needs no earlier import to have registered it.
        return keras.saving.load_model(path, safe_mode=True, compile=False, custom_objects={"Context": Context})
    except Exception as error:
        raise UserError(f"{path}: not a loadable .keras model ({type(error).__name__})") from None


def all_finite(weights):
    """True when every array in `weights` is finite (training that diverged leaves NaN or inf)."""
    return all(np.isfinite(array).all() for array in weights)


def save_once(path, save, write=True):
    """`atomic_write(path, save)` in the process that writes; in the job's other processes the same
    save into a scratch folder, thrown away: under TensorFlow's multi-worker strategy saving reads
    the weights through collective steps that every process must take."""
    if write:
        return atomic_write(path, save)
    with tempfile.TemporaryDirectory() as scratch:
        save(str(Path(scratch) / Path(path).name))


def save_model(model, path, write=True):
    """Write a finished model: architecture and weights, not the optimizer's state (a third of the
    size; checkpoints keep it). A model with non-finite weights is never written. `write` False:
    a process of a job other than the first."""
    if not all_finite(model.get_weights()):
        raise UserError(f"{path}: not saved, its weights are not all finite numbers")
    save_once(path, model.save, write)
