"""Checkpointing, all of it: the one file per model that `--resume` continues from (the network's
weights, the optimizer's state, the training state and the best validation epoch's weights), the
callback that writes it every epoch, the time budget that reads it, and `fit_checkpointed`, which
runs any model's epochs (pixel RNNs, text, the GAN) through them and saves the finished model."""

import io
import json
import math
import time
import zipfile
from collections import namedtuple
from pathlib import Path

import numpy as np

import config
from rnn_draw.commands import trained
from rnn_draw.library import UserError, atomic_write, folders, quiet, saving, shapes, write_json

with quiet.backend_import():  # imported already by util; quietly, in any case
    import keras

# What a checkpoint file holds: the network's weights (a list of arrays), the optimizer's variables
# {index: array}, the training state (epochs done, history, best epoch...) and the best epoch's weights
# when they are not the last's (else None).
Checkpoint = namedtuple("Checkpoint", "weights optimizer state best")


def checkpoint_path(models_dir, label):
    """The one file of a class's last epoch checkpoint: weights, optimizer state and training state."""
    return Path(models_dir) / f"{folders.model_name(label)}.ckpt.npz"


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
    """The `Checkpoint` in the file at `path`, checked; a file cut short, or anything but a
    checkpoint, is a UserError naming it."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        state = shapes.checked(path, json.loads(str(arrays.pop("state"))), "checkpoint")
    except UserError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:  # cut short: BadZipFile or EOFError
        raise UserError(f"{path}: not a readable checkpoint ({type(error).__name__}: cut short or not one); "
                        "delete it to start over") from None

    def numbered(prefix):
        found = {name[len(prefix):]: array for name, array in arrays.items() if name.startswith(prefix)}
        return [found[str(index)] for index in range(len(found))]

    return Checkpoint(numbered("weights/"), dict(enumerate(numbered("optimizer/"))), state, numbered("best/") or None)


def restore_optimizer(model, variables, path):
    """Give the compiled `model`'s optimizer the `variables` {index: array} a checkpoint saved."""
    model.optimizer.build(model.trainable_variables)
    if len(variables) != len(model.optimizer.variables):
        raise UserError(f"{path}: its optimizer state does not fit this model; delete it to start over")
    model.optimizer.load_own_variables({str(index): value for index, value in variables.items()})


class EpochCheckpoint(keras.callbacks.Callback):
    """After every epoch, writes the network's weights, the fitted model's optimizer state and the
    history so far into one file, atomically: what `--resume` continues from. The history also
    counts the training seconds so far (`seconds`: for curves of loss against time) and the epoch's
    learning rate. Epochs whose loss or weights are not finite numbers are never checkpointed:
    training stops and the last good one stays.

    Where a validation loss is reported, the weights of the epoch with the lowest one are kept too
    (`best_weights`, `best_epoch`, counting from 1), in the checkpoint as well, so a resumed run still
    knows them: the model written at the end is the best epoch's, not the last's. `resumed` is the
    `Checkpoint` a resumed run starts from, else None."""

    def __init__(self, path, network, resumed=None, write=True):
        super().__init__()
        self.path, self.network, self.write = path, network, write  # write False: not the job's writer
        state = resumed.state if resumed else {}
        self.history = {key: list(values) for key, values in state.get("history", {}).items()}
        self.best_epoch, self.best_val_loss = state.get("best_epoch"), state.get("best_val_loss")
        self.best_weights = (resumed.best or resumed.weights) if self.best_epoch else None
        self.went_nan = False
        self.started = None

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        logs = {key: float(value) for key, value in (logs or {}).items()}
        weights = self.network.get_weights()
        if not all(map(math.isfinite, logs.values())) or not saving.all_finite(weights):
            self.went_nan = True
            self.model.stop_training = True
            return
        so_far = (self.history.get("seconds") or [0.0])[-1]
        logs["seconds"] = round(so_far + time.monotonic() - self.started, 2)
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))  # this epoch's
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        if "val_loss" in logs and (self.best_val_loss is None or logs["val_loss"] < self.best_val_loss):
            self.best_epoch, self.best_val_loss, self.best_weights = epoch + 1, logs["val_loss"], weights
        state = {"epochs_done": epoch + 1, "history": self.history}
        if self.best_epoch:
            state.update(best_epoch=self.best_epoch, best_val_loss=self.best_val_loss)
        best_apart = self.best_weights if self.best_epoch and self.best_epoch != epoch + 1 else None
        save_checkpoint(self.path, weights, self.model.optimizer, state, self.write, best_apart)


class TimeLimit(keras.callbacks.Callback):
    """Stops training after the epoch past which another epoch would exceed `minutes` of training
    (the checkpoint's count of seconds, resumed runs included): a budget of time, not of epochs."""

    def __init__(self, minutes, checkpoint):
        super().__init__()
        self.seconds, self.checkpoint = minutes * 60, checkpoint

    def on_epoch_end(self, epoch, logs=None):
        done = self.checkpoint.history.get("seconds", [])
        last = done[-1] - (done[-2] if len(done) > 1 else 0) if done else 0
        if done and done[-1] + last > self.seconds:
            print(f"time limit: {done[-1] / 60:.1f} of {self.seconds / 60:g} minutes trained; another epoch would "
                  "pass the limit, so training stops here", flush=True)
            self.model.stop_training = True


def start_of(models_dir, label, setup, network, resume, init_from):
    """(resumed, prepare) for a class's training: the `Checkpoint` it resumes (else None) and a function that gives the
    fitted model its optimizer state (`--resume`), or a fresh start, from `init_from`'s finished
    model of the class if given (fine-tuning)."""
    path = checkpoint_path(models_dir, label)
    if resume and path.is_file():
        resumed = read_checkpoint(path)
        network.set_weights(resumed.weights)
        return resumed, lambda fitted: restore_optimizer(fitted, resumed.optimizer, path)
    if init_from:
        folders.check_settings(Path(init_from) / config.MANIFEST, folders.read_manifest(init_from), setup)
        start = trained.load_checked(folders.model_path(init_from, label), setup)
        network.set_weights(start.get_weights())
    return None, None


def fit_checkpointed(models_dir, label, setup, network, fit, counts, what, resume=False, callbacks=(), record=None,
                     init_from=None, write=True, max_minutes=None, saved=None):
    """Run `fit(initial_epoch, callbacks, prepare)`, which trains `network` (any model's weights), with
    every epoch checkpointed (`EpochCheckpoint`), then save `saved` (default: the network) with its
    record (`record` and the class counts `counts` (K,) joined) and remove the checkpoint.

    With `resume`, a checkpoint there is continued (optimizer state included) up to the requested
    epochs, and a model already done is skipped. `max_minutes` is a budget of training time
    (`TimeLimit`). `init_from` is a models folder of the same settings whose finished model gives the
    starting weights (fine-tuning). A model whose weights stop being finite numbers is never saved:
    the file already there stays. With `write` False (every process of a multi-process job but the
    first) nothing is written. `what` says in the first progress line what it trains on.
    """
    name = folders.label_name(setup, label)
    checkpoint_file, model_file = checkpoint_path(models_dir, label), folders.model_path(models_dir, label)
    if resume and not checkpoint_file.is_file() and model_file.is_file():
        print(f"{name}: already trained, skipped (--resume)", flush=True)
        return
    resumed, prepare = start_of(models_dir, label, setup, network, resume, init_from)
    done = resumed.state["epochs_done"] if resumed else 0
    print(f"{name}: {what}" + (f", resuming after epoch {done}" if resumed else ""), flush=True)
    checkpoint = EpochCheckpoint(checkpoint_file, network, resumed, write)
    guards = [checkpoint, keras.callbacks.TerminateOnNaN()] + ([TimeLimit(max_minutes, checkpoint)] if max_minutes else [])
    try:
        fit(done, guards + list(callbacks), prepare)
    except KeyboardInterrupt:
        done = read_checkpoint(checkpoint_file).state["epochs_done"] if checkpoint_file.is_file() else 0
        print(f"\ninterrupted: {name} has {done} epoch(s) saved in {checkpoint_file}; "
              "run the same command with --resume to continue", flush=True)
        raise
    if checkpoint.went_nan or not saving.all_finite(network.get_weights()):
        kept = f"; {model_file} was left as it was" if model_file.is_file() else ""
        last = f"; the last good epoch is in {checkpoint_file}" if checkpoint_file.is_file() else ""
        raise UserError(f"{name}: training diverged (the loss or the weights became NaN or infinite), so nothing was "
                        f"saved{kept}{last}. Try a smaller --learning_rate or --clipnorm 1")
    if checkpoint.best_weights is not None:  # the epoch with the lowest validation loss, not the last
        network.set_weights(checkpoint.best_weights)
    saving.save_model(network if saved is None else saved, model_file, write)
    if write:
        write_json(folders.record_path(models_dir, label), {
            **(record or {}),
            **({"best_epoch": checkpoint.best_epoch} if checkpoint.best_epoch else {}),
            "train_counts": {str(k): int(n) for k, n in enumerate(counts) if n},
            "history": checkpoint.history,
            "settings": setup,
        })
        checkpoint_file.unlink(missing_ok=True)
