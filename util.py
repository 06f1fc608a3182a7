"""RNNs as generative models of images: the library behind the scripts.

An image is shrunk, its intensities quantized to a few levels, and its pixels read in raster order
as a sequence of tokens (colour pixels as R, G, B sub-pixels, as PixelRNN does). A recurrent
network with a per-step softmax learns p(pixel_t | pixels_<t); one network per class, or one for
all classes with the class as an extra input. With those networks we can

1. sample new images pixel by pixel, or complete images whose lower part is hidden,
2. score an image: log p(x | class) in nats, or bits per dimension,
3. classify by Bayes' rule: argmax_k [log p(x | k) + log p(k)].

The file reads top to bottom in that order: data -> preprocess -> model -> train -> save/load ->
sample -> score -> classify. Data loading, picture writing and command-line plumbing live in the
`rnn_draw` package and are re-exported here, so `import util` is all a script needs.
Everything is Keras 3 and backend-agnostic: set KERAS_BACKEND to tensorflow, jax or torch.
"""

import contextlib
import functools
import math
import shlex
import sys
from pathlib import Path

import numpy as np

import config
from rnn_draw import UserError, atomic_write, quiet, read_json, sizes, write_json  # noqa: F401  (re-exported)

with quiet.backend_import():  # TensorFlow prints notices on import that no log level silences
    import keras
    from keras import layers, ops
quiet.quiet_loggers()

from rnn_draw.datasets import (  # noqa: E402, F401
    CIFAR10_CLASS_NAMES,
    DATASETS,
    MNIST_CLASS_NAMES,
    Dataset,
    first_images,
    first_of_each_class,
    held_out_images,
    held_out_rows,
    load_dataset,
    num_held_out,
    read_picture,
    short_classes_note,
    to_grayscale,
)
from rnn_draw import hybrid  # noqa: E402
from rnn_draw.distribute import Parallel, data_parallel, feed, save_once, use_mixed_precision  # noqa: E402, F401
from rnn_draw.pictures import (  # noqa: E402, F401
    check_fits,
    drawing_frames,
    hide_after,
    save_confusion_png,
    save_gif,
    save_grid,
    save_png,
    save_strip,
    tile,
)

MANIFEST = config.MANIFEST

# ------------------------------------------------------------------------------------------------
# Data: `load_dataset(name_or_path)` (rnn_draw/datasets.py) gives uint8 images (N, H, W) or
# (N, H, W, 3), integer labels and class names, from a name (mnist, mnist-mini, cifar10,
# cifar10-mini) or a local file in any of the usual formats.
# ------------------------------------------------------------------------------------------------


# ------------------------------------------------------------------------------------------------
# Preprocess: images -> quantized levels -> token sequences
# ------------------------------------------------------------------------------------------------


def shrink(image, target_size):
    """Resize one image (H, W) or (H, W, C) to (target_size, target_size[, C]) floats in [0, 1]."""
    return shrink_all(image[None], target_size)[0]


def shrink_all(images, target_size, chunk=4096):
    """Resize images (N, H, W[, C]) to floats in [0, 1] of shape (N, target_size, target_size[, C]).

    Anti-aliased (scikit-image), so small targets average the strokes instead of dropping them.
    Works in chunks to keep float64 temporaries small.
    """
    from skimage.transform import resize  # imported here: scikit-image is slow to import

    images = np.asarray(images)
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    shape = (target_size, target_size) + images.shape[3:]
    out = np.empty((len(images),) + shape, dtype=np.float32)
    for start in range(0, len(images), chunk):
        part = images[start : start + chunk].astype(np.float32) / scale
        if part.shape[1:] == shape:
            out[start : start + chunk] = part
        else:
            out[start : start + chunk] = resize(part, (len(part),) + shape, anti_aliasing=True)
    return out


def quantize(images, max_intensity):
    """Map floats in [0, 1] to integer levels 0..max_intensity (uint8), rounding to the nearest.

    max_intensity=1 is binarisation at the threshold 0.5.
    """
    return np.rint(np.clip(images, 0.0, 1.0) * max_intensity).astype(np.uint8)


def dequantize(levels, max_intensity):
    """Map integer levels 0..max_intensity back to uint8 grey values 0..255."""
    return np.rint(np.asarray(levels, dtype=np.float32) * (255.0 / max_intensity)).astype(np.uint8)


def sequence_shape(target_size, channels=1, mode="pixel"):
    """(steps, width): a pixel-mode sequence has one sub-pixel per step (width 1); a row-mode one
    has one image row per step, its target_size * channels sub-pixels side by side."""
    if mode == "row":
        return target_size, target_size * channels
    return target_size * target_size * channels, 1


def to_tokens(images, target_size, max_intensity, mode="pixel"):
    """Images (N, H, W[, C]) -> uint8 levels in raster order, R, G, B per pixel for colour.

    Pixel mode: (N, target_size**2 * C). Row mode: (N, target_size, target_size * C).
    This compact form is what training and scoring stream; one-hot vectors are made per batch.
    """
    channels = 1 if np.ndim(images) == 3 else np.shape(images)[-1]
    levels = quantize(shrink_all(images, target_size), max_intensity)
    steps, width = sequence_shape(target_size, channels, mode)
    return levels.reshape((len(levels), steps, width) if mode == "row" else (len(levels), steps))


def tokens_to_images(tokens, target_size, channels=1):
    """Token sequences of either mode -> level images (N, S, S) or (N, S, S, C)."""
    shape = (target_size, target_size) + ((channels,) if channels > 1 else ())
    return np.asarray(tokens).reshape((len(tokens),) + shape)


def as_steps(tokens, width):
    """Tokens (N, T) or (N, steps, width) viewed as (N, steps, width)."""
    tokens = np.asarray(tokens)
    return tokens.reshape(len(tokens), -1, width)


def one_hot_inputs(tokens, levels, conditions=None):
    """Network inputs for tokens (N, T) or (N, steps, width): float32 (N, steps, width * levels [+ K]).

    Each step holds the one-hot vectors of the previous step's sub-pixels, side by side; step 0
    holds the all-zero start vector. So the output at step t is p(step t | steps < t) and the
    targets are the tokens themselves. `conditions` (N, K), if given, is appended to every step.
    """
    tokens = np.asarray(tokens)
    steps = tokens.reshape(len(tokens), tokens.shape[1], -1)
    one_hot = np.zeros(steps.shape + (levels,), dtype=np.float32)
    np.put_along_axis(one_hot[:, 1:], steps[:, :-1, :, None].astype(np.intp), 1.0, axis=-1)
    inputs = one_hot.reshape(steps.shape[0], steps.shape[1], -1)
    if conditions is None:
        return inputs
    repeated = np.broadcast_to(conditions[:, None, :], (len(inputs), inputs.shape[1], conditions.shape[1]))
    return np.concatenate([inputs, repeated.astype(np.float32)], axis=-1)


def pre_process(images, target_size=config.TARGET_SIZE, max_intensity=config.MAX_INTENSITY):
    """The tutorial's contract: one-hot sequences (N, T + 1, levels) with a zero start vector in front.

    `seq[:, :-1]` are the network inputs and `seq[:, 1:]` the one-hot targets. Kept for readers of the
    tutorial; training streams `to_tokens` instead, which is levels-times smaller and integer.
    """
    one_hot = np.eye(max_intensity + 1, dtype=np.float32)[to_tokens(images, target_size, max_intensity)]
    return np.concatenate([np.zeros_like(one_hot[:, :1]), one_hot], axis=1)


def class_one_hot(labels, num_classes):
    """Labels (N,) -> float32 one-hot (N, num_classes): the condition of a class-conditional model."""
    return np.eye(num_classes, dtype=np.float32)[np.asarray(labels, dtype=np.intp)]


class TokenBatches(keras.utils.PyDataset):
    """Streams (one-hot inputs float32, integer targets) batches from uint8 tokens (N, T[, width]).

    Memory stays proportional to the batch: the data set is held once, as uint8 tokens. With
    `labels` and `num_classes`, each image's class one-hot is appended to its inputs. With
    `width` (hybrid training), batches are (tokens (B, steps, width) int32, labels (B,) int32).
    `shard` (index, count): this process takes rows index, index + count, ... of every batch of
    `batch_size` (several processes training one model; a last batch too small to share is dropped).
    """

    def __init__(self, tokens, levels, batch_size, shuffle=True, seed=config.SEED, labels=None, num_classes=0, width=None,
                 shard=(0, 1)):
        super().__init__()
        self.tokens, self.levels, self.batch_size, self.shuffle = tokens, levels, batch_size, shuffle
        self.labels, self.num_classes, self.width, self.shard = labels, num_classes, width, shard
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(tokens)) if shuffle else np.arange(len(tokens))

    def __len__(self):
        return math.ceil(len(self.tokens) / self.batch_size) - (0 < len(self.tokens) % self.batch_size < self.shard[1])

    def __getitem__(self, index):
        rows = np.sort(self.order[index * self.batch_size : (index + 1) * self.batch_size])
        rows = rows[: len(rows) - len(rows) % self.shard[1]][self.shard[0] :: self.shard[1]]
        batch = self.tokens[rows]
        if self.width:
            return as_steps(batch, self.width).astype(np.int32), self.labels[rows].astype(np.int32)
        conditions = class_one_hot(self.labels[rows], self.num_classes) if self.num_classes else None
        return one_hot_inputs(batch, self.levels, conditions), batch.astype(np.int32)

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(len(self.tokens))


# ------------------------------------------------------------------------------------------------
# Model
# ------------------------------------------------------------------------------------------------

CELLS = {"gru": layers.GRU, "lstm": layers.LSTM, "simple": layers.SimpleRNN}


def create_model(
    one_hot_len,
    units=config.UNITS,
    cell=config.CELL,
    num_layers=config.LAYERS,
    dropout=config.DROPOUT,
    width=1,
    num_classes=0,
    learning_rate=config.LEARNING_RATE,
    clipnorm=None,
):
    """The tutorial's model, generalised: RNN(units) x num_layers -> Dense at every step -> softmax.

    Defaults: GRU(256, return_sequences) -> Dense(one_hot_len) -> softmax, the tutorial's design.
    Input (batch, steps, width * one_hot_len + num_classes) of any length: the previous step's
    one-hot sub-pixels (and the class one-hot of a conditional model). Output: a distribution over
    the one_hot_len levels for each sub-pixel of the step, (batch, steps, one_hot_len) when
    width == 1, else (batch, steps, width, one_hot_len) (row mode). The softmax is its own layer so
    that scoring reads the logits and takes a numerically stable log-softmax. Compiled (Adam).
    """
    inputs = keras.Input((None, width * one_hot_len + num_classes))
    hidden = inputs
    for index in range(num_layers):
        name = cell if num_layers == 1 else f"{cell}_{index}"
        hidden = CELLS[cell](units, return_sequences=True, name=name)(hidden)
        if dropout:
            hidden = layers.Dropout(dropout)(hidden)
    # A Dense on (batch, steps, units) acts on each step: the tutorial's TimeDistributed(Dense).
    # Not TimeDistributed itself: on the TensorFlow backend (Keras 3.15) a compiled model wrapping
    # it returns wrong shapes once called with a second sequence length.
    # float32 whatever the precision policy: softmax and loss stay exact under mixed precision.
    logits = layers.Dense(width * one_hot_len, name="logits", dtype="float32")(hidden)
    if width > 1:
        logits = layers.Reshape((-1, width, one_hot_len), dtype="float32")(logits)
    model = keras.Model(inputs, layers.Activation("softmax", name="softmax", dtype="float32")(logits))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=clipnorm), loss="sparse_categorical_crossentropy"
    )
    return model


def recurrent_layers(model):
    return [layer for layer in model.layers if isinstance(layer, layers.RNN)]


def levels_of(model):
    """Number of intensity levels a model predicts over."""
    return model.output_shape[-1]


def width_of(model):
    """Sub-pixels per step: 1 in pixel mode, a row's worth in row mode."""
    return model.output_shape[2] if len(model.output_shape) == 4 else 1


def num_classes_of(model):
    """Size of the class one-hot a conditional model takes at every step (0 for a per-class model)."""
    return model.input_shape[-1] - width_of(model) * levels_of(model)


# ------------------------------------------------------------------------------------------------
# Train
# ------------------------------------------------------------------------------------------------


def progress_verbosity():
    """Keras's `verbose`: live bars in a terminal, one line per epoch in a log file or a pipe."""
    return 1 if sys.stdout.isatty() else 2


def train_model(
    model,
    tokens,
    labels=None,
    epochs=config.EPOCHS,
    batch_size=config.BATCH_SIZE,
    validation_split=config.VALIDATION_SPLIT,
    seed=config.SEED,
    verbose=None,
    callbacks=(),
    initial_epoch=0,
    discriminative_weight=0.0,
    log_prior=None,
    shard=(0, 1),
):
    """Fit `model` to tokens (N, T[, width]): the target at step t is step t (inputs shifted by one).

    `labels` (N,) are needed by a conditional model. Adam and cross-entropy (compiled in
    `create_model`). A seeded shuffle's first `validation_split` is held out. `verbose` None picks
    `progress_verbosity()`. A conditional model with `discriminative_weight` W > 0 is trained on its
    generative loss plus W times the cross-entropy of the Bayes posterior with `log_prior` (K,)
    (rnn_draw/hybrid.py; K times the compute). With several processes, each feeds its `shard` of
    every global batch (`TokenBatches`) and all get the same global losses. Returns the history:
    per-epoch `loss` (and `val_loss`), in nats per sub-pixel.
    """
    levels, num_classes, width = levels_of(model), num_classes_of(model), width_of(model)
    fitted = model
    if discriminative_weight:
        fitted = hybrid.bayes_model(model, logits_model(model), levels, width, num_classes, discriminative_weight,
                                    log_prior, dims=tokens[0].size)
    train, val = held_out_rows(len(tokens), validation_split, seed)

    def batches(rows, size, shuffle):
        return lambda: TokenBatches(tokens[rows], levels, size, shuffle, seed, None if labels is None else labels[rows],
                                    num_classes, width if discriminative_weight else None, shard)

    data, steps = feed(batches(train, batch_size, True))
    validation, validation_steps = feed(batches(val, max(batch_size, 256), False)) if len(val) else (None, None)
    history = fitted.fit(
        data,
        validation_data=validation,
        steps_per_epoch=steps,
        validation_steps=validation_steps,
        epochs=epochs,
        initial_epoch=initial_epoch,
        shuffle=False,  # TokenBatches shuffles with its own seeded generator; Keras would reorder batches too
        verbose=progress_verbosity() if verbose is None else verbose,
        callbacks=list(callbacks),
    )
    return {name: [float(value) for value in values] for name, values in history.history.items()}


# ------------------------------------------------------------------------------------------------
# Save and load: per model a `.keras` file and a small JSON (training count, history); per folder
# a manifest of the settings every model in it shares. Separate files per class let several
# processes train different classes into one folder at once.
# ------------------------------------------------------------------------------------------------

SETTINGS_THAT_MUST_MATCH = (
    "dataset", "class_names", "target_size", "max_intensity", "channels", "mode", "conditional",
    "unconditional", "cell", "units", "layers",
)
# Settings added after some folders were written, with the value those folders implicitly had.
SETTINGS_ADDED_LATER = {"unconditional": False}


def settings(
    dataset,
    class_names,
    target_size=config.TARGET_SIZE,
    max_intensity=config.MAX_INTENSITY,
    channels=1,
    mode="pixel",
    conditional=False,
    cell=config.CELL,
    units=config.UNITS,
    num_layers=config.LAYERS,
    dropout=config.DROPOUT,
    grayscale=False,
    unconditional=False,
):
    """The settings shared by all models of a folder: what sampling and scoring need to know.

    `conditional`: one model told the class at every step; `unconditional`: one model for all the
    classes trained, told nothing of them (it samples and completes, but cannot classify); neither:
    one model per class, the tutorial's way."""
    return {
        "dataset": dataset,
        "class_names": list(class_names),
        "target_size": target_size,
        "max_intensity": max_intensity,
        "levels": max_intensity + 1,
        "channels": channels,
        "mode": mode,
        "conditional": conditional,
        "unconditional": unconditional,
        "cell": cell,
        "units": units,
        "layers": num_layers,
        "dropout": dropout,
        "grayscale": grayscale,
        "keras_version": keras.__version__,
    }


def model_name(label):
    """File stem of a class's model: model_3, or model_all for a conditional or unconditional model."""
    return "model_all" if label is None else f"model_{label}"


def model_path(models_dir, label):
    return Path(models_dir) / f"{model_name(label)}.keras"


def all_finite(model):
    """True when every weight of `model` is a finite number (training that diverged leaves NaN or inf)."""
    return all(np.isfinite(weights).all() for weights in model.get_weights())


def save_model(model, models_dir, label, write=True):
    """Write a finished model: weights and architecture, not the optimizer's state (a third of the
    size; checkpoints keep it for --resume). A model with non-finite weights is never written.
    `write` False: a process of a job other than the first (`save_once`)."""
    if not all_finite(model):
        raise UserError(f"{model_path(models_dir, label)}: not saved, its weights are not all finite numbers")
    save_once(model_path(models_dir, label), keras.Model(model.input, model.output).save, write)


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
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as error:
        raise UserError(f"{path}: not a loadable .keras model ({type(error).__name__})") from None


def open_manifest(models_dir, wanted, write=True):
    """Write `wanted` as the folder's manifest (if `write`), or check that the one there holds the same settings."""
    path = Path(models_dir) / MANIFEST
    manifest = read_json(path)
    manifest = {**SETTINGS_ADDED_LATER, **manifest} if manifest else manifest
    for key in SETTINGS_THAT_MUST_MATCH:
        if manifest and manifest.get(key) != wanted[key]:
            raise UserError(
                f"{path}: models here have {key}={manifest.get(key)}, not {wanted[key]}; "
                "train into another --models_dir"
            )
    if not manifest and write:
        write_json(path, wanted)
    return manifest or wanted


class EpochCheckpoint(keras.callbacks.Callback):
    """After every epoch, saves the model (optimizer state included) and the history so far, atomically,
    as MODEL.ckpt.keras and MODEL.ckpt.json: what `--resume` continues from."""

    def __init__(self, models_dir, label, history, target, write=True):
        super().__init__()
        self.target = target  # the model to save: not the one fitted when that one wraps it (hybrid training)
        self.write = write  # False in every process of a job but the first: one writer
        self.paths = checkpoint_paths(models_dir, label)
        self.history = {key: list(values) for key, values in history.items()}
        self.went_nan = False

    def on_epoch_end(self, epoch, logs=None):
        logs = {key: float(value) for key, value in (logs or {}).items()}
        if not all(map(math.isfinite, logs.values())) or not all_finite(self.target):
            self.went_nan = True  # never checkpoint such weights: the last good epoch stays
            self.model.stop_training = True
            return
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        save_once(self.paths[0], self.target.save, self.write)
        if not self.write:
            return
        write_json(self.paths[1], {"epochs_done": epoch + 1, "history": self.history})


def checkpoint_paths(models_dir, label):
    """(model, state) paths of a class's last checkpoint."""
    stem = Path(models_dir) / f"{model_name(label)}.ckpt"
    return Path(f"{stem}.keras"), Path(f"{stem}.json")


def train_classes(
    images, labels, classes, models_dir, setup, model_options=None, resume=False, early_stopping=None,
    callbacks=(), record=None, init_from=None, write=True, **train_options,
):
    """Train and save a model per class in `classes` (or one conditional or unconditional model for all of them).

    images (N, H, W[, C]) uint8 and labels (N,) are the training split; `setup` is `settings(...)`.
    Every epoch is checkpointed; each model is saved when done, and its checkpoint removed. With
    `resume`, a class with a checkpoint continues from it (optimizer state included) up to the
    requested epochs, and a class already done is skipped. `early_stopping` is a patience in epochs
    on the validation loss. `model_options` go to `create_model`, `train_options` to `train_model`;
    `record` (the command, say) joins each model's JSON record. `init_from` is a models folder of
    the same settings whose finished models give each new model its starting weights (fine-tuning).
    A model whose weights stop being finite numbers is never saved: the file already there stays.
    With `write` False (every process of a multi-process job but the first) nothing is written.
    Returns the folder's manifest.
    """
    manifest = open_manifest(models_dir, setup, write)
    steps, width = sequence_shape(setup["target_size"], setup["channels"], setup["mode"])
    num_classes = len(setup["class_names"]) if setup["conditional"] else 0
    model_options = dict(
        units=setup["units"], cell=setup["cell"], num_layers=setup["layers"], dropout=setup["dropout"],
        width=width, num_classes=num_classes, **(model_options or {}),
    )
    batch_size = train_options.get("batch_size", config.BATCH_SIZE)
    sizes.require(
        sizes.training_bytes(setup["cell"], setup["units"], setup["layers"], width * setup["levels"] + num_classes,
                             width * setup["levels"], batch_size, steps),
        f"training {setup['cell'].upper()}({setup['units']}) x {setup['layers']} layer(s) at batch {batch_size}",
    )
    one_model = setup["conditional"] or setup["unconditional"]
    groups = [(None, np.isin(labels, list(classes)))] if one_model else [(k, labels == k) for k in classes]
    for label, chosen in groups:
        name = "all classes" if label is None else f"class {setup['class_names'][label]}"
        if not chosen.any():
            raise UserError(f"no training images of {name} in the data")
        ckpt_model, ckpt_state = checkpoint_paths(models_dir, label)
        if resume and not ckpt_state.is_file() and model_path(models_dir, label).is_file():
            print(f"{name}: already trained, skipped (--resume)", flush=True)
            continue
        state = read_json(ckpt_state) if resume else {}
        model = load_model(ckpt_model) if state else create_model(setup["levels"], **model_options)
        if init_from and not state:
            check_settings(Path(init_from) / MANIFEST, read_json(Path(init_from) / MANIFEST), manifest)
            start = load_model(model_path(init_from, label))
            check_structure(model_path(init_from, label), start, manifest)
            model.set_weights(start.get_weights())
        print(f"{name}: {chosen.sum()} images" + (f", resuming after epoch {state['epochs_done']}" if state else ""), flush=True)
        tokens = to_tokens(images[chosen], setup["target_size"], setup["max_intensity"], setup["mode"])
        checkpoint = EpochCheckpoint(models_dir, label, state.get("history", {}), model, write)
        guards = [checkpoint, keras.callbacks.TerminateOnNaN()]
        if early_stopping and not num_held_out(len(tokens), train_options.get("validation_split", config.VALIDATION_SPLIT)):
            print(f"note: {name} has too few images to hold any out at this --validation_split; "
                  "--early_stopping is off for it", flush=True)
        elif early_stopping:
            guards.append(keras.callbacks.EarlyStopping(patience=early_stopping, restore_best_weights=True))
        counts = np.bincount(labels[chosen], minlength=len(setup["class_names"]))
        try:
            train_model(
                model, tokens, labels[chosen] if num_classes else None, initial_epoch=state.get("epochs_done", 0),
                callbacks=guards + list(callbacks), log_prior=np.log(np.maximum(counts, 1) / counts.sum()),
                **train_options,
            )
        except KeyboardInterrupt:
            done = read_json(ckpt_state).get("epochs_done", 0)
            print(f"\ninterrupted: {name} has {done} epoch(s) saved in {ckpt_model}; "
                  "run the same command with --resume to continue", flush=True)
            raise
        if checkpoint.went_nan or not all_finite(model):
            kept = f"; {model_path(models_dir, label)} was left as it was" if model_path(models_dir, label).is_file() else ""
            last = f"; the last good epoch is in {ckpt_model}" if ckpt_model.is_file() else ""
            raise UserError(f"{name}: training diverged (the loss or the weights became NaN or infinite), so nothing was "
                            f"saved{kept}{last}. Try a smaller --learning_rate or --clipnorm 1")
        save_model(model, models_dir, label, write)
        if not write:
            continue
        write_json(Path(models_dir) / f"{model_name(label)}.json", {
            **(record or {}),
            "train_counts": {str(k): int(n) for k, n in enumerate(counts) if n},
            "history": checkpoint.history,
            "settings": setup,
        })
        ckpt_model.unlink(missing_ok=True)
        ckpt_state.unlink(missing_ok=True)
    return manifest


def train_from_flags(args, classes, dataset):
    """Train what a training script's parsed flags ask for on `dataset` (its training split): the
    first --num_images images of each class in `classes`, as the tutorial takes them."""
    with quiet.backend_import():
        quiet.tensorflow_too(keras.backend.backend())  # else Keras imports it, loudly, inside fit
    # Then the engines, which must set up before the backend computes anything.
    parallel = data_parallel(args.batch_size, args.learning_rate, Path(sys.argv[0]).name) if args.distribute else None
    images, labels, short = first_of_each_class(dataset.x_train, dataset.y_train, classes, args.num_images)
    if short:
        print(short_classes_note(short, dataset.class_names, args.num_images), flush=True)
    if args.grayscale:
        images = to_grayscale(images)
    channels = 1 if images.ndim == 3 else images.shape[-1]
    setup = settings(
        dataset.name, dataset.class_names, args.target_size, args.max_intensity, channels, args.mode,
        args.conditional, args.cell, args.units, args.layers, args.dropout, args.grayscale, args.unconditional,
    )
    keras.utils.set_random_seed(args.seed)
    if args.mixed_precision:
        use_mixed_precision()
    with parallel.context if parallel else contextlib.nullcontext():
        train_classes(
            images, labels, classes, args.models_dir, setup,
            model_options={"learning_rate": args.learning_rate, "clipnorm": args.clipnorm},
            resume=args.resume, early_stopping=args.early_stopping, epochs=args.epochs,
            batch_size=args.batch_size, validation_split=args.validation_split, seed=args.seed,
            discriminative_weight=args.discriminative_weight, init_from=args.init_from, record={
                "command": shlex.join(["python", Path(sys.argv[0]).name, *sys.argv[1:]]), "data": args.data,
                "epochs": args.epochs, "discriminative_weight": args.discriminative_weight,
                "seed": args.seed, "validation_split": args.validation_split,
            },
            **({"shard": parallel.shard, "write": parallel.writer} if parallel else {}),
        )
    print(f"models written to {args.models_dir}/")


def load_models(models_dir):
    """(manifest, {label: model}) for the models in `models_dir`, each checked against the manifest.

    The manifest gains `train_counts` {label: images} merged from the per-model files. A
    conditional folder maps every trained label to its one model; an unconditional folder has one
    model under the key None. Any mismatch (settings recorded with a model, its levels, row width
    or class input) is a UserError naming the file.
    """
    folder = Path(models_dir)
    manifest = read_json(folder / MANIFEST)
    if not manifest:
        raise UserError(f"{models_dir}: no trained models here (no {MANIFEST}); train some first")
    manifest = {**SETTINGS_ADDED_LATER, **manifest, "train_counts": {}}
    stems = sorted(p.name[: -len(".json")] for p in folder.glob("model_*.json") if ".ckpt" not in p.name)
    models = {}
    for stem in stems:
        record = read_json(folder / f"{stem}.json")
        check_settings(folder / f"{stem}.json", record.get("settings", {}), manifest)
        model = load_model(folder / f"{stem}.keras")
        check_structure(folder / f"{stem}.keras", model, manifest)
        manifest["train_counts"].update(record.get("train_counts", {}))
        if manifest["unconditional"]:
            models[None] = model
        else:
            models.update({int(label): model for label in record.get("train_counts", {})})
    if not models:
        raise UserError(f"{models_dir}: no finished models here yet (only checkpoints?)")
    return manifest, models if manifest["unconditional"] else dict(sorted(models.items()))


def training_runs(models_dir):
    """The records of the finished models in `models_dir` (command, data, train_counts, seed,
    validation_split, ...): what `held_out_images` needs to find the images their training held out."""
    paths = sorted(p for p in Path(models_dir).glob("model_*.json") if ".ckpt" not in p.name)
    runs = [read_json(path) for path in paths]
    for path, run in zip(paths, runs):
        if "seed" not in run or "validation_split" not in run:
            raise UserError(f"{path}: the record does not say which images its training held out (no seed or "
                            "validation_split: trained before records kept them)")
    if not runs:
        raise UserError(f"{models_dir}: no finished models here")
    return runs


def check_settings(path, recorded, manifest):
    """A model's recorded settings must be the folder's: mixed settings in one folder are an error."""
    for key in SETTINGS_THAT_MUST_MATCH:
        if key in recorded and recorded[key] != manifest.get(key):
            raise UserError(f"{path}: trained with {key}={recorded[key]}, but {MANIFEST} says {manifest.get(key)}")


def check_structure(path, model, manifest):
    """The network itself must fit the manifest: its levels, row width and class input."""
    _, width = sequence_shape(manifest["target_size"], manifest["channels"], manifest["mode"])
    expected = {
        "levels": (levels_of(model), manifest["levels"]),
        "sub-pixels per step": (width_of(model), width),
        "class inputs": (num_classes_of(model), len(manifest["class_names"]) if manifest["conditional"] else 0),
    }
    for what, (found, wanted) in expected.items():
        if found != wanted:
            raise UserError(f"{path}: the model has {found} {what}, {MANIFEST} implies {wanted}")


def tokens_for(manifest, images, source="the data"):
    """Raw images (N, H, W[, C]) as the models' tokens, after checking they are the kind they were
    trained on (colour models cannot score grey images; grey-trained ones score colour as grey)."""
    channels = 1 if images.ndim == 3 else images.shape[-1]
    if channels != manifest["channels"]:
        if manifest["channels"] != 1:
            raise UserError(f"{source}: images have {channels} channel(s) but the models were trained on {manifest['channels']}")
        images = to_grayscale(images)
    return to_tokens(images, manifest["target_size"], manifest["max_intensity"], manifest["mode"])


def levels_for(manifest, images, source="the data"):
    """Raw images (N, H, W[, C]) as the models see them: level images (N, S, S[, C]) uint8."""
    return tokens_to_images(tokens_for(manifest, images, source), manifest["target_size"], manifest["channels"])


# ------------------------------------------------------------------------------------------------
# Sample: one recurrent step per pixel for the whole batch, carrying the state, in one compiled call
# ------------------------------------------------------------------------------------------------


class Sampler(keras.Model):
    """Draws a batch of token sequences in one compiled call: a scan over steps of the trained cells.

    Inputs: uniforms (B, steps, width) in [0, 1), forced tokens (B, steps, width) and keep
    (B, steps, width) (1 where the forced token is used instead of a draw: a completion's given
    prefix), and for a conditional model the class one-hot (B, K). Each drawn sub-pixel is the
    inverse CDF of its distribution at its uniform, so a seeded numpy generator makes samples
    reproducible on every backend. Outputs: tokens (B, steps, width) and probs (B, steps, width,
    levels), the distribution each sub-pixel came from (before temperature). The first step sees the
    zero start vector, as in training. Sharing the trained layers, its distributions equal a full
    forward pass's.
    """

    def __init__(self, model, temperature=1.0):
        super().__init__()
        self.cells = [layer.cell for layer in recurrent_layers(model)]
        self.dense = model.get_layer("logits")
        self.levels, self.width, self.num_classes = levels_of(model), width_of(model), num_classes_of(model)
        self.temperature = temperature

    def call(self, inputs):
        uniforms, forced, keep = inputs[:3]
        condition = inputs[3] if self.num_classes else None
        batch = ops.shape(uniforms)[0]

        def step(carry, xs):
            pixels, _, *states = carry
            uniform, given, kept = xs
            hidden = ops.concatenate([pixels, condition], axis=-1) if self.num_classes else pixels
            new_states = []
            for cell, state in zip(self.cells, self._split(states)):
                hidden, new_state = cell(hidden, state)
                new_states += list(new_state)
            logits = ops.reshape(self.dense(hidden), (-1, self.width, self.levels))
            cumulative = ops.cumsum(ops.softmax(logits / self.temperature), axis=-1)
            drawn = ops.minimum(ops.sum(ops.cast(cumulative < uniform[..., None], "int32"), -1), self.levels - 1)
            token = ops.where(kept > 0, ops.cast(given, "int32"), drawn)
            pixels = ops.reshape(ops.one_hot(token, self.levels), (-1, self.width * self.levels))
            carry = (pixels, ops.softmax(logits), *new_states)
            # Keras's TensorFlow scan needs per-step outputs shaped like the carry: output the carry.
            return carry, carry

        start = (
            ops.zeros((batch, self.width * self.levels)),
            ops.zeros((batch, self.width, self.levels)),
            *[ops.zeros((batch, size)) for cell in self.cells for size in self._state_sizes(cell)],
        )
        steps_first = [ops.moveaxis(x, 1, 0) for x in (uniforms, forced, keep)]
        _, (pixels, probs, *_) = ops.scan(step, start, steps_first)
        tokens = ops.argmax(ops.reshape(pixels, (-1, batch, self.width, self.levels)), axis=-1)
        return ops.moveaxis(tokens, 0, 1), ops.moveaxis(probs, 0, 1)

    @staticmethod
    def _state_sizes(cell):
        size = cell.state_size
        return list(size) if isinstance(size, (list, tuple)) else [size]

    def _split(self, flat_states):
        """Flat list of state tensors -> one list per cell (h for GRU and simple RNN, [h, c] for LSTM)."""
        per_cell, start = [], 0
        for cell in self.cells:
            count = len(self._state_sizes(cell))
            per_cell.append(flat_states[start : start + count])
            start += count
        return per_cell


@functools.lru_cache(maxsize=16)
def sampler_for(model, temperature):
    """The Sampler of `model` at `temperature`, built once: later calls skip the tracing (~0.1 s on CPU)."""
    return Sampler(model, temperature)


def sample_tokens(model, num_images, steps, temperature=1.0, seed=None, label=None, prefix=None, keep=0, with_probs=False):
    """Draw `num_images` token sequences of `steps` steps from `model`, in as few compiled calls as
    fit `sizes.CHUNK_BYTES` (one for the tutorial's 5x5 grid; memory stays bounded for any number).

    Every sub-pixel is drawn, the first included, starting from the zero start vector used in training.
    A conditional model needs the class `label`. For completion, `prefix` (num_images, steps, width)
    gives tokens of which the first `keep` sub-pixels (raster order) are used as they are; the rest is
    drawn conditioned on them. Returns tokens (N, steps, width) uint8; `with_probs` adds probs
    (N, steps, width, levels) float32, the distribution each sub-pixel came from (before temperature).
    """
    width, levels, num_classes = width_of(model), levels_of(model), num_classes_of(model)
    if num_classes and label is None:
        raise UserError("this is a class-conditional model: say which class to sample")
    sizes.require(num_images * steps * width * (2 + (4 * levels if with_probs else 0)), f"drawing {num_images} images")
    rng = np.random.default_rng(seed)
    kept = (np.arange(steps * width).reshape(1, steps, width) < keep).astype(np.float32)
    tokens = np.empty((num_images, steps, width), np.uint8)
    probs = np.empty((num_images, steps, width, levels) if with_probs else (0,), np.float32)
    # What the scan keeps per image and step, float32: its carry (a one-hot and a distribution per
    # sub-pixel, the cells' states), once as output and once in flight.
    sampler = sampler_for(model, temperature)
    state_floats = sum(size for cell in sampler.cells for size in Sampler._state_sizes(cell))
    chunk = sizes.per_call(2 * 4 * steps * (2 * width * levels + state_floats), num_images)
    for start in range(0, num_images, chunk):
        count = min(chunk, num_images - start)
        shape = (count, steps, width)
        forced = np.zeros(shape, np.int32) if prefix is None else np.asarray(prefix[start : start + count], np.int32).reshape(shape)
        inputs = [rng.random(shape, dtype=np.float32), forced, kept.repeat(count, 0)]
        if num_classes:
            inputs.append(class_one_hot(np.full(count, label), num_classes))
        drawn, their_probs = sampler.predict_on_batch(inputs)
        tokens[start : start + count] = np.asarray(drawn)
        if with_probs:
            probs[start : start + count] = np.asarray(their_probs)
    return (tokens, probs) if with_probs else tokens


def sample(model, num_images, manifest, temperature=1.0, seed=None, label=None):
    """Sample `num_images` new images: level images (N, S, S) or (N, S, S, C), uint8."""
    steps, _ = sequence_shape(manifest["target_size"], manifest["channels"], manifest["mode"])
    tokens = sample_tokens(model, num_images, steps, temperature, seed, label)
    return tokens_to_images(tokens, manifest["target_size"], manifest["channels"])


def complete(model, images, keep_pixels, num_completions, manifest, temperature=1.0, seed=None, label=None):
    """Complete each image from its first `keep_pixels` pixels (raster order), `num_completions` times.

    images: level images (N, S, S[, C]). Returns level images (N, num_completions, S, S[, C]) whose
    first keep_pixels pixels are the given ones, exactly, and the rest drawn given them.
    """
    steps, width = sequence_shape(manifest["target_size"], manifest["channels"], manifest["mode"])
    sizes.require(len(images) * num_completions * steps * width * 3, f"{len(images)} x {num_completions} completions")
    prefix = np.repeat(np.asarray(images).reshape(len(images), steps, width), num_completions, axis=0)
    keep = keep_pixels * manifest["channels"]
    tokens = sample_tokens(model, len(prefix), steps, temperature, seed, label, prefix, keep)
    out = tokens_to_images(tokens, manifest["target_size"], manifest["channels"])
    return out.reshape((len(images), num_completions) + out.shape[1:])


# ------------------------------------------------------------------------------------------------
# Score: exact log-likelihoods from one forward pass
# ------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def logits_model(model):
    """The model without its final softmax: one-hot inputs -> (B, steps, width * levels) logits.

    Built once per model: a conditional model is scored once per class, and each new Model traces anew.
    """
    return keras.Model(model.inputs, model.get_layer("logits").output)


def log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def log_likelihood(model, tokens, labels=None, batch_size=config.SCORE_BATCH_SIZE, verbose=0):
    """Per-image log p(x) under `model` for tokens (N, T) or (N, steps, width) or level images.

    A conditional model scores log p(x | label) and needs `labels` (N,). Returns (nats (N,)
    float64, bits per dimension (N,) float64, dimensions being sub-pixels). A sum of
    log-probabilities read off the logits: never a product of probabilities, which underflows after
    a few hundred pixels.
    """
    levels, width, num_classes = levels_of(model), width_of(model), num_classes_of(model)
    tokens = as_steps(tokens, width)
    logits_of = logits_model(model)
    # float32 inputs and logits, float64 log-probabilities: about 24 bytes per sub-pixel and level.
    batch_size = sizes.per_call(24 * tokens[0].size * levels, batch_size)
    nats = np.empty(len(tokens), dtype=np.float64)
    progress = keras.utils.Progbar(len(tokens), unit_name="image") if verbose == 1 else None
    for start in range(0, len(tokens), batch_size):
        batch = tokens[start : start + batch_size]
        conditions = class_one_hot(labels[start : start + batch_size], num_classes) if num_classes else None
        logits = np.asarray(logits_of.predict_on_batch(one_hot_inputs(batch, levels, conditions)), np.float64)
        logp = log_softmax(logits.reshape(batch.shape + (levels,)))
        nats[start : start + len(batch)] = np.take_along_axis(logp, batch[..., None].astype(np.intp), -1).sum((1, 2, 3))
        if progress:
            progress.update(start + len(batch))
    return nats, -nats / (tokens[0].size * math.log(2))


# ------------------------------------------------------------------------------------------------
# Classify: Bayes' rule over the class models
# ------------------------------------------------------------------------------------------------


def log_priors(manifest, labels):
    """log p(k) for `labels` from the manifest's training counts; uniform when counts are missing."""
    counts = np.array([manifest.get("train_counts", {}).get(str(label), 0) for label in labels], dtype=np.float64)
    if counts.sum() == 0 or (counts == 0).any():
        return np.full(len(labels), -math.log(len(labels)))
    return np.log(counts / counts.sum())


def class_log_likelihoods(manifest, models, tokens, batch_size=config.SCORE_BATCH_SIZE, verbose=0):
    """log p(x | k) in nats for every image and class: (scores (N, K) float64, labels (K,))."""
    labels = np.array(sorted(models))
    scores = np.empty((len(tokens), len(labels)), dtype=np.float64)
    for column, label in enumerate(labels):
        name = manifest["class_names"][label]
        if verbose == 1:
            print(f"scoring under class {name}", flush=True)
        given = np.full(len(tokens), label) if manifest["conditional"] else None
        scores[:, column] = log_likelihood(models[label], tokens, given, batch_size, verbose)[0]
        if verbose == 2:  # a log: one line per class instead of a bar
            print(f"scored {len(tokens)} images under class {name}: mean log-likelihood "
                  f"{scores[:, column].mean():.2f} nats", flush=True)
    return scores, labels


def classify(models_dir, images, priors=None, batch_size=config.SCORE_BATCH_SIZE, verbose=0):
    """Classify raw images (N, H, W[, C]) with the models in `models_dir` by Bayes' rule.

    Returns (predicted labels (N,), log-likelihood matrix (N, K) of log p(x | k) in nats, labels (K,)).
    `priors`: class probabilities (K,); None takes them from the training counts, uniform if unknown.
    """
    manifest, models = load_models(models_dir)
    return classify_tokens(manifest, models, tokens_for(manifest, images), priors, batch_size, verbose)


def classify_tokens(manifest, models, tokens, priors=None, batch_size=config.SCORE_BATCH_SIZE, verbose=0):
    """`classify` for already preprocessed tokens and loaded `models` {label: model}."""
    scores, labels = class_log_likelihoods(manifest, models, tokens, batch_size, verbose)
    prior = log_priors(manifest, labels) if priors is None else np.log(np.asarray(priors, dtype=np.float64))
    return bayes_rule(scores, labels, prior), scores, labels


def bayes_rule(scores, labels, log_prior):
    """argmax_k [log p(x | k) + log p(k)] for scores (N, K) in nats: the predicted labels (N,)."""
    return labels[np.argmax(scores + log_prior, axis=1)]


def wilson_interval(successes, trials, z=1.959964):
    """95% Wilson score interval (low, high) for a proportion such as an accuracy."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return centre - half, centre + half


def classification_report(manifest, truth, predictions, scores, classes):
    """Accuracy (with a 95% interval), per-class accuracy, confusion matrix and the test NLL under
    the true class (nats per image and bits per dimension), as a dict."""
    from sklearn.metrics import confusion_matrix

    names = [manifest["class_names"][label] for label in classes]
    matrix = confusion_matrix(truth, predictions, labels=classes)
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    column = {label: index for index, label in enumerate(classes)}
    scored = np.array([label in column for label in truth])
    true_nats = -scores[scored.nonzero()[0], [column[label] for label in truth[scored]]]
    dims = manifest["target_size"] ** 2 * manifest["channels"]
    correct = int((truth == predictions).sum())
    return {
        "num_images": int(len(truth)),
        "accuracy": correct / len(truth),
        "accuracy_95ci": list(wilson_interval(correct, len(truth))),
        "per_class_accuracy": {name: float(value) for name, value in zip(names, per_class)},
        "class_names": names,
        "confusion_matrix": matrix.tolist(),
        "nll_true_class_nats": float(true_nats.mean()) if len(true_nats) else None,
        "bits_per_dim_true_class": float(true_nats.mean() / (dims * math.log(2))) if len(true_nats) else None,
        "levels": manifest["levels"],
        "target_size": manifest["target_size"],
        "channels": manifest["channels"],
    }


def format_report(report):
    """The report as the text the classification script prints."""
    names = report["class_names"]
    width = max(5, *(len(name) for name in names))
    low, high = report["accuracy_95ci"]
    lines = [f"accuracy: {report['accuracy']:.4f} on {report['num_images']} images (95% CI {low:.4f}-{high:.4f})"]
    for member in report.get("members", [report]):  # an ensemble: each member's own figures
        source = f" ({member['models_dir']} alone: accuracy {member['accuracy']:.4f})" if "models_dir" in member else ""
        lines.append(f"{report.get('split', 'test')} NLL under the true class: {member['nll_true_class_nats']:.2f} nats per image "
                     f"({member['bits_per_dim_true_class']:.4f} bits/dim, {member['levels']} levels){source}")
    lines += [
        "per-class accuracy: " + "  ".join(f"{n}: {a:.3f}" for n, a in report["per_class_accuracy"].items()),
        "confusion matrix (rows: true class, columns: predicted):",
        " " * width + "".join(f"{name:>{width + 1}}" for name in names),
    ]
    lines += [f"{name:>{width}}" + "".join(f"{n:>{width + 1}}" for n in row) for name, row in zip(names, report["confusion_matrix"])]
    return "\n".join(lines)
