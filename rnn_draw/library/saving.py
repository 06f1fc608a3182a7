"""Keras files: models loaded in safe mode, finished models saved without optimizer state, and epoch
checkpoints that keep everything `--resume` needs (weights, optimizer state, training state) in one file.
"""

import io
import json
import tempfile
from pathlib import Path

import numpy as np

import config
from rnn_draw.library import UserError, atomic_write, quiet, shapes

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
        return keras.saving.load_model(path, safe_mode=True, compile=False)
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


def save_checkpoint(path, weights, optimizer, state, write=True, best_weights=None):
    """Write one checkpoint file atomically: the network's `weights` (a list of arrays), the
    `optimizer`'s variables and `state` (JSON: epochs done, history, ...), and `best_weights`, those
    of an earlier epoch with a lower validation loss, if any. A crash mid-write leaves the previous
    checkpoint as it was."""
    store = {}
    optimizer.save_own_variables(store)
    arrays = {f"weights/{index}": array for index, array in enumerate(weights)}
    arrays.update({f"best/{index}": array for index, array in enumerate(best_weights or [])})
    arrays.update({f"optimizer/{key}": np.asarray(value) for key, value in store.items()})
    arrays["state"] = np.array(json.dumps(state))
    if write:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write(path, lambda tmp: Path(tmp).write_bytes(buffer.getvalue()))


def read_checkpoint(path):
    """(weights, optimizer variables {str(index): array}, state) of a checkpoint, checked."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        state = shapes.checked(path, json.loads(str(arrays.pop("state"))), "checkpoint")
    except UserError:
        raise
    except (OSError, ValueError, KeyError) as error:
        raise UserError(f"{path}: not a readable checkpoint ({type(error).__name__}); delete it to start over") from None

    def numbered(prefix):
        found = {name[len(prefix):]: array for name, array in arrays.items() if name.startswith(prefix)}
        return [found[str(index)] for index in range(len(found))]

    return numbered("weights/"), dict(enumerate(numbered("optimizer/"))), state


def read_best_weights(path):
    """The weights of the best epoch a checkpoint kept apart from its last, or None when its last is its best."""
    with np.load(path, allow_pickle=False) as stored:
        count = sum(name.startswith("best/") for name in stored.files)
        return [stored[f"best/{index}"] for index in range(count)] or None


def restore_optimizer(model, variables, path):
    """Give the compiled `model`'s optimizer the `variables` {index: array} a checkpoint saved."""
    model.optimizer.build(model.trainable_variables)
    if len(variables) != len(model.optimizer.variables):
        raise UserError(f"{path}: its optimizer state does not fit this model; delete it to start over")
    model.optimizer.load_own_variables({str(index): value for index, value in variables.items()})
