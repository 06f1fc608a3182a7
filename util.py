"""RNNs as generative models of images: the library behind the scripts.

An image is shrunk, its intensities quantized to a few levels, and its pixels read in raster order
as a sequence of tokens. A recurrent network with a per-step softmax learns
p(pixel_t | pixels_<t); one network per class. With those networks we can

1. sample new images, pixel by pixel,
2. score an image: log p(x | class), in nats, or bits per dimension,
3. classify by Bayes' rule: argmax_k [log p(x | k) + log p(k)].

The file reads top to bottom in that order: data -> preprocess -> model -> train -> save/load ->
sample -> score -> classify, with the command-line helpers the scripts share at the end.
Everything is Keras 3 and backend-agnostic: set KERAS_BACKEND to tensorflow, jax or torch.
"""

import argparse
import functools
import gzip
import json
import math
import os
import struct
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off the terminal

import numpy as np

import keras
from keras import layers, ops

import config

REPO_DIR = Path(__file__).resolve().parent
DATA_DIR = REPO_DIR / "data"
MNIST_CLASS_NAMES = [str(digit) for digit in range(10)]
MANIFEST = "manifest.json"


class UserError(Exception):
    """A problem with the user's input or files: the scripts print it as one line and exit 2."""


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------

# Data sets selectable by name with --data; anything else is taken as a path.
DATASETS = {
    "mnist": "MNIST: a local copy from config.MNIST_LOCAL_COPIES, else keras.datasets.mnist (download)",
    "mnist-mini": "500 training and 100 test images per digit, shipped in data/mnist-mini.npz",
}

MNIST_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def load_mnist(data=config.MNIST_DATA):
    """Return ((x_train, y_train), (x_test, y_test)): uint8 images (N, 28, 28) and uint8 labels (N,).

    `data` is a name from DATASETS, a keras-layout `.npz`, or a folder of LeCun IDX files
    (`train-images-idx3-ubyte[.gz]` and friends).
    """
    if data == "mnist-mini":
        return _split(load_npz_dataset(DATA_DIR / "mnist-mini.npz"))
    if data == "mnist":
        local = _first_existing(config.MNIST_LOCAL_COPIES)
        return _split(load_npz_dataset(local)) if local else _download_mnist()
    path = Path(data).expanduser()
    if path.is_dir():
        return _split(load_idx_folder(path))
    if path.is_file():
        return _split(load_npz_dataset(path))
    raise UserError(f"{data}: no such file or folder (--data takes {', '.join(DATASETS)} or a path)")


def _first_existing(paths):
    """The first of `paths` (relative to the repository) that is a file, else None."""
    for path in paths:
        candidate = REPO_DIR / Path(path).expanduser()
        if candidate.is_file():
            return candidate
    return None


def _download_mnist():
    try:
        return keras.datasets.mnist.load_data()
    except Exception as error:  # any network failure: keras raises plain Exception for these
        raise UserError(
            "MNIST is not available offline and could not be downloaded "
            f"({type(error).__name__}); pass --data PATH to a keras-layout mnist.npz or a folder of IDX files"
        ) from None


def _split(arrays):
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def load_npz_dataset(path):
    """Read a keras-layout `.npz` (x_train, y_train, x_test, y_test) into a dict of arrays."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in MNIST_NPZ_KEYS if key not in archive.files]
            if missing:
                raise UserError(f"{path}: not a dataset .npz (missing {', '.join(missing)})")
            arrays = {key: archive[key] for key in MNIST_NPZ_KEYS}
    except UserError:
        raise
    except Exception as error:  # zipfile, pickle-refusal and truncation errors all land here
        raise UserError(f"{path}: cannot read as .npz ({type(error).__name__}: {error})") from None
    _check_images_and_labels(path, arrays)
    return arrays


def load_idx_folder(folder):
    """Read the four LeCun IDX files (optionally gzipped) in `folder` into a dict of arrays."""
    arrays = {}
    for key, name in IDX_FILES.items():
        path = next((folder / (name + ext) for ext in (".gz", "") if (folder / (name + ext)).is_file()), None)
        if path is None:
            raise UserError(f"{folder}: no {name}[.gz] (expected a folder of MNIST IDX files)")
        arrays[key] = read_idx(path)
    _check_images_and_labels(folder, arrays)
    return arrays


def read_idx(path):
    """Parse one IDX file: a big-endian header (magic, dims) then uint8 data. Returns a uint8 array."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as file:
            raw = file.read()
        zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
        if zero != 0 or dtype_code != 0x08 or ndim not in (1, 3):
            raise ValueError("bad magic number")
        shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
        data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
        return data.reshape(shape)
    except (OSError, EOFError, ValueError, struct.error) as error:
        raise UserError(f"{path}: not a uint8 IDX file ({error})") from None


def _check_images_and_labels(source, arrays):
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels) or len(images) == 0:
            raise UserError(
                f"{source}: x_{split} {images.shape} and y_{split} {labels.shape} are not N images and N labels"
            )


def first_images(images, labels, num_images=None):
    """The first `num_images` images and labels (all when None), in the data set's own order."""
    if num_images is not None:
        images, labels = images[:num_images], labels[:num_images]
    return images, labels


# ------------------------------------------------------------------------------------------------
# Preprocess: images -> quantized levels -> token sequences
# ------------------------------------------------------------------------------------------------


def shrink(image, target_size):
    """Resize one image (H, W) of any dtype to (target_size, target_size) floats in [0, 1]."""
    return shrink_all(image[None], target_size)[0]


def shrink_all(images, target_size, chunk=8192):
    """Resize images (N, H, W) to floats in [0, 1] of shape (N, target_size, target_size).

    Anti-aliased (scikit-image), so small targets average the strokes instead of dropping them.
    Works in chunks to keep float64 temporaries small.
    """
    from skimage.transform import resize  # imported here: scikit-image is slow to import

    images = np.asarray(images)
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    out = np.empty((len(images), target_size, target_size), dtype=np.float32)
    for start in range(0, len(images), chunk):
        part = images[start : start + chunk].astype(np.float32) / scale
        if part.shape[1:] == (target_size, target_size):
            out[start : start + chunk] = part
        else:
            out[start : start + chunk] = resize(part, (len(part), target_size, target_size), anti_aliasing=True)
    return out


def quantize(images, max_intensity):
    """Map floats in [0, 1] to integer levels 0..max_intensity (uint8), rounding to the nearest."""
    return np.rint(np.clip(images, 0.0, 1.0) * max_intensity).astype(np.uint8)


def dequantize(levels, max_intensity):
    """Map integer levels 0..max_intensity back to uint8 grey values 0..255."""
    return np.rint(np.asarray(levels, dtype=np.float32) * (255.0 / max_intensity)).astype(np.uint8)


def to_tokens(images, target_size, max_intensity):
    """Images (N, H, W) -> token sequences (N, target_size**2) of uint8 levels in raster order.

    This compact form is what training and scoring stream; one-hot vectors are made per batch.
    """
    return quantize(shrink_all(images, target_size), max_intensity).reshape(len(images), -1)


def tokens_to_images(tokens, target_size):
    """Token sequences (N, T) -> level images (N, target_size, target_size)."""
    return np.asarray(tokens).reshape(len(tokens), target_size, target_size)


def one_hot_inputs(tokens, levels):
    """Network inputs for token sequences (N, T): one-hot float32 (N, T, levels), shifted right by one.

    Step t sees pixel t-1; step 0 sees the all-zero start vector. So the output at step t is
    p(pixel_t | pixels_<t), and the targets are simply the tokens themselves.
    """
    tokens = np.asarray(tokens)
    inputs = np.zeros(tokens.shape + (levels,), dtype=np.float32)
    np.put_along_axis(inputs[:, 1:], tokens[:, :-1, None].astype(np.intp), 1.0, axis=-1)
    return inputs


def pre_process(images, target_size=config.TARGET_SIZE, max_intensity=config.MAX_INTENSITY):
    """The tutorial's contract: one-hot sequences (N, T + 1, levels) with a zero start vector in front.

    `seq[:, :-1]` are the network inputs and `seq[:, 1:]` the one-hot targets. Kept for readers of the
    tutorial; training streams `to_tokens` instead, which is levels-times smaller and integer.
    """
    tokens = to_tokens(images, target_size, max_intensity)
    levels = max_intensity + 1
    sequences = np.zeros((len(tokens), tokens.shape[1] + 1, levels), dtype=np.float32)
    np.put_along_axis(sequences[:, 1:], tokens[..., None].astype(np.intp), 1.0, axis=-1)
    return sequences


class TokenBatches(keras.utils.PyDataset):
    """Streams (one-hot inputs (B, T, levels) float32, integer targets (B, T)) batches from uint8 tokens.

    Memory stays proportional to the batch: the data set is held once, as uint8 tokens.
    """

    def __init__(self, tokens, levels, batch_size, shuffle=True, seed=config.SEED):
        super().__init__()
        self.tokens, self.levels, self.batch_size, self.shuffle = tokens, levels, batch_size, shuffle
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(tokens)) if shuffle else np.arange(len(tokens))

    def __len__(self):
        return math.ceil(len(self.tokens) / self.batch_size)

    def __getitem__(self, index):
        batch = self.tokens[np.sort(self.order[index * self.batch_size : (index + 1) * self.batch_size])]
        return one_hot_inputs(batch, self.levels), batch.astype(np.int32)

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(len(self.tokens))


# ------------------------------------------------------------------------------------------------
# Model
# ------------------------------------------------------------------------------------------------


def create_model(one_hot_len, units=config.UNITS, learning_rate=config.LEARNING_RATE):
    """GRU(units, return_sequences) -> Dense(one_hot_len) at every step -> softmax, compiled.

    Input (batch, steps, one_hot_len) one-hot vectors of any length; output (batch, steps,
    one_hot_len): at every step a distribution over the next pixel's levels. The softmax is its own
    layer so that scoring can read the logits and take a numerically stable log-softmax.
    """
    model = keras.Sequential(
        [
            keras.Input((None, one_hot_len)),
            layers.GRU(units, return_sequences=True, name="gru"),
            # A Dense on (batch, steps, units) acts on each step: the tutorial's TimeDistributed(Dense).
            # Not TimeDistributed itself: on the TensorFlow backend (Keras 3.15) a compiled model
            # wrapping it returns wrong shapes once called with a second sequence length.
            layers.Dense(one_hot_len, name="logits"),
            layers.Activation("softmax", name="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy")
    return model


def levels_of(model):
    """Number of intensity levels a model predicts over."""
    return model.input_shape[-1]


# ------------------------------------------------------------------------------------------------
# Train
# ------------------------------------------------------------------------------------------------


def train_model(
    model,
    tokens,
    epochs=config.EPOCHS,
    batch_size=config.BATCH_SIZE,
    validation_split=config.VALIDATION_SPLIT,
    seed=config.SEED,
    verbose=1,
    callbacks=(),
):
    """Fit `model` to token sequences (N, T): the target at step t is token t (inputs shifted by one).

    Adam and cross-entropy (compiled in `create_model`). The last `validation_split` of a seeded
    shuffle is held out. Returns the history dict: per-epoch `loss` (and `val_loss`), in nats per pixel.
    """
    levels = levels_of(model)
    order = np.random.default_rng(seed).permutation(len(tokens))
    num_val = int(len(tokens) * validation_split) if len(tokens) > 1 else 0
    train, val = tokens[order[num_val:]], tokens[order[:num_val]]
    history = model.fit(
        TokenBatches(train, levels, batch_size, seed=seed),
        validation_data=TokenBatches(val, levels, max(batch_size, 256), shuffle=False) if num_val else None,
        epochs=epochs,
        verbose=verbose,
        callbacks=list(callbacks),
    )
    return {name: [float(value) for value in values] for name, values in history.history.items()}


# ------------------------------------------------------------------------------------------------
# Save and load: one `.keras` file per class plus a JSON manifest in the models folder
# ------------------------------------------------------------------------------------------------


def model_path(models_dir, label):
    return Path(models_dir) / f"model_{label}.keras"


def atomic_write(path, write):
    """Call write(tmp_path) on a temporary file beside `path`, then rename it over `path`.

    A crash or Ctrl-C mid-write leaves the previous file intact, never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_model(model, models_dir, label):
    atomic_write(model_path(models_dir, label), model.save)


def load_model(path):
    """Load one `.keras` model (safe mode: no arbitrary code), with a one-line error if it is not one."""
    if not Path(path).is_file():
        raise UserError(f"{path}: no such model file")
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as error:
        raise UserError(f"{path}: not a loadable .keras model ({type(error).__name__})") from None


def read_manifest(models_dir):
    """The models folder's manifest as a dict, or {} when there is none yet."""
    path = Path(models_dir) / MANIFEST
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: unreadable manifest ({error})") from None


def write_json(path, data):
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1) + "\n"))


def new_manifest(dataset, class_names, target_size, max_intensity, units):
    """What sampling and scoring need to know about the models in a folder."""
    return {
        "dataset": dataset,
        "class_names": list(class_names),
        "target_size": target_size,
        "max_intensity": max_intensity,
        "levels": max_intensity + 1,
        "channels": 1,
        "units": units,
        "keras_version": keras.__version__,
        "train_counts": {},
        "history": {},
    }


SETTINGS_THAT_MUST_MATCH = ("dataset", "class_names", "target_size", "max_intensity", "units")


def open_manifest(models_dir, wanted):
    """The folder's manifest, created from `wanted` if absent; an error if it holds other settings."""
    manifest = read_manifest(models_dir)
    for key in SETTINGS_THAT_MUST_MATCH:
        if manifest and manifest.get(key) != wanted[key]:
            raise UserError(
                f"{Path(models_dir) / MANIFEST}: models here have {key}={manifest.get(key)}, not "
                f"{wanted[key]}; train into another --models_dir"
            )
    return manifest or wanted


def train_classes(
    images,
    labels,
    classes,
    models_dir,
    dataset,
    class_names,
    target_size=config.TARGET_SIZE,
    max_intensity=config.MAX_INTENSITY,
    units=config.UNITS,
    **train_options,
):
    """Train and save one model per class in `classes`; returns the manifest written to `models_dir`.

    Each model is saved as soon as it is trained, so an interruption loses at most the class in
    progress. `train_options` go to `train_model`.
    """
    wanted = new_manifest(dataset, class_names, target_size, max_intensity, units)
    manifest = open_manifest(models_dir, wanted)
    for label in classes:
        class_images = images[labels == label]
        if len(class_images) == 0:
            raise UserError(f"no training images of class {class_names[label]} in the data")
        print(f"class {class_names[label]}: {len(class_images)} images", flush=True)
        tokens = to_tokens(class_images, target_size, max_intensity)
        model = create_model(max_intensity + 1, units)
        history = train_model(model, tokens, **train_options)
        save_model(model, models_dir, label)
        manifest = read_manifest(models_dir) or manifest  # another process may have added classes
        manifest["train_counts"][str(label)] = int(len(class_images))
        manifest["history"][str(label)] = history
        write_json(Path(models_dir) / MANIFEST, manifest)
    return manifest


def load_models(models_dir):
    """(manifest, {label: model}) for every class model in `models_dir`."""
    manifest = read_manifest(models_dir)
    if not manifest:
        raise UserError(f"{models_dir}: no trained models here (no {MANIFEST}); run train_mnist.py first")
    labels = sorted(int(label) for label in manifest["train_counts"])
    return manifest, {label: load_model(model_path(models_dir, label)) for label in labels}


# ------------------------------------------------------------------------------------------------
# Sample: one recurrent step per pixel for the whole batch, carrying the state
# ------------------------------------------------------------------------------------------------


class Sampler(keras.Model):
    """Draws a batch of pixel sequences in one compiled call: a scan over time steps of the trained cell.

    Inputs: uniforms (B, T) in [0, 1), start state (B, units), start pixel (B, levels) (the zero start
    vector for new images). Each pixel is the inverse CDF of its distribution at its uniform, so a
    seeded numpy generator makes samples reproducible on every backend. Outputs: tokens (B, T) int
    and probs (B, T, levels), the distribution each pixel was drawn from (before temperature).
    It shares the trained layers' weights: its distributions equal a full forward pass's.
    """

    def __init__(self, model, temperature=1.0):
        super().__init__()
        self.cell, self.dense = model.get_layer("gru").cell, model.get_layer("logits")
        self.levels, self.temperature = levels_of(model), temperature

    def step(self, carry, uniform):
        pixel, _, state = carry
        output, new_state = self.cell(pixel, [state])
        logits = self.dense(output)
        tempered = ops.cumsum(ops.softmax(logits / self.temperature), axis=-1)
        token = ops.minimum(ops.sum(ops.cast(tempered < uniform[:, None], "int32"), axis=-1), self.levels - 1)
        carry = (ops.one_hot(token, self.levels), ops.softmax(logits), new_state[0])
        # Keras's TensorFlow scan needs per-step outputs shaped like the carry, so the carry is the output.
        return carry, carry

    def call(self, inputs):
        uniforms, state, pixel = inputs
        _, (drawn, probs, _) = ops.scan(self.step, (pixel, ops.zeros_like(pixel), state), ops.transpose(uniforms))
        return ops.transpose(ops.argmax(drawn, axis=-1)), ops.transpose(probs, (1, 0, 2))


@functools.lru_cache(maxsize=16)
def sampler_for(model, temperature):
    """The Sampler of `model` at `temperature`, built once: later calls skip the tracing (~0.1 s on CPU)."""
    return Sampler(model, temperature)


def sample_tokens(model, num_images, steps, temperature=1.0, seed=None):
    """Draw `num_images` sequences of `steps` tokens from the model, as one batch, one step per pixel.

    Every pixel is drawn, the first included, starting from the zero start vector used in training.
    Returns (tokens (N, steps) uint8, probs (N, steps, levels) float32): probs[:, t] is the
    distribution pixel t was drawn from (before temperature).
    """
    levels = levels_of(model)
    uniforms = np.random.default_rng(seed).random((num_images, steps), dtype=np.float32)
    state = np.zeros((num_images, model.get_layer("gru").units), dtype=np.float32)
    start = np.zeros((num_images, levels), dtype=np.float32)
    tokens, probs = sampler_for(model, temperature).predict_on_batch([uniforms, state, start])
    return np.asarray(tokens, dtype=np.uint8), np.asarray(probs, dtype=np.float32)


def sample(model, num_images, target_size, temperature=1.0, seed=None):
    """Sample `num_images` new images: level images (N, target_size, target_size) uint8."""
    tokens, _ = sample_tokens(model, num_images, target_size * target_size, temperature, seed)
    return tokens_to_images(tokens, target_size)


def save_grid(images, path, max_intensity, output_size=config.OUTPUT_SIZE, border=2):
    """Write level images (N, S, S) as a square PNG grid, each cell enlarged to output_size pixels."""
    from PIL import Image

    count = len(images)
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    cell = output_size + border
    canvas = np.full((rows * cell + border, columns * cell + border), 128, dtype=np.uint8)
    for index, image in enumerate(dequantize(images, max_intensity)):
        big = np.asarray(Image.fromarray(image).resize((output_size, output_size), Image.NEAREST))
        top, left = border + (index // columns) * cell, border + (index % columns) * cell
        canvas[top : top + output_size, left : left + output_size] = big
    atomic_write(path, lambda tmp: Image.fromarray(canvas).save(tmp, format="PNG"))


# ------------------------------------------------------------------------------------------------
# Score: exact log-likelihoods from one forward pass
# ------------------------------------------------------------------------------------------------


def logits_model(model):
    """The model without its final softmax: (B, T, levels) one-hot -> (B, T, levels) logits."""
    return keras.Model(model.inputs, model.get_layer("logits").output)


def log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def log_likelihood(model, tokens, batch_size=config.SCORE_BATCH_SIZE, verbose=0):
    """Per-image log p(x) under `model` for token sequences (N, T) (or level images (N, S, S)).

    Returns (nats (N,) float64, bits per dimension (N,) float64). A sum of log-probabilities read
    off the logits: never a product of probabilities, which underflows after a few hundred pixels.
    """
    tokens = np.asarray(tokens).reshape(len(tokens), -1)
    levels, steps = levels_of(model), tokens.shape[1]
    logits_of = logits_model(model)
    nats = np.empty(len(tokens), dtype=np.float64)
    progress = keras.utils.Progbar(len(tokens), unit_name="image") if verbose else None
    for start in range(0, len(tokens), batch_size):
        batch = tokens[start : start + batch_size]
        logp = log_softmax(np.asarray(logits_of.predict_on_batch(one_hot_inputs(batch, levels)), np.float64))
        nats[start : start + len(batch)] = np.take_along_axis(logp, batch[..., None].astype(np.intp), -1).sum((1, 2))
        if progress:
            progress.update(start + len(batch))
    return nats, -nats / (steps * math.log(2))


# ------------------------------------------------------------------------------------------------
# Classify: Bayes' rule over the class models
# ------------------------------------------------------------------------------------------------


def log_priors(manifest, labels):
    """log p(k) for `labels` from the manifest's training counts; uniform when counts are missing."""
    counts = np.array([manifest.get("train_counts", {}).get(str(label), 0) for label in labels], dtype=np.float64)
    if counts.sum() == 0 or (counts == 0).any():
        return np.full(len(labels), -math.log(len(labels)))
    return np.log(counts / counts.sum())


def classify(models_dir, images, priors=None, batch_size=config.SCORE_BATCH_SIZE, verbose=0):
    """Classify raw images (N, H, W) with the class models in `models_dir` by Bayes' rule.

    Returns (predicted labels (N,), log-likelihood matrix (N, K) of log p(x | k) in nats, labels (K,)).
    `priors`: class probabilities (K,); None takes them from the training counts, uniform if unknown.
    """
    manifest, models = load_models(models_dir)
    tokens = to_tokens(images, manifest["target_size"], manifest["max_intensity"])
    return classify_tokens(manifest, models, tokens, priors, batch_size, verbose)


def classify_tokens(manifest, models, tokens, priors=None, batch_size=config.SCORE_BATCH_SIZE, verbose=0):
    """`classify` for already preprocessed tokens (N, T) and loaded `models` {label: model}."""
    labels = np.array(sorted(models))
    scores = np.empty((len(tokens), len(labels)), dtype=np.float64)
    for column, label in enumerate(labels):
        if verbose:
            print(f"scoring under class {manifest['class_names'][label]}", flush=True)
        scores[:, column] = log_likelihood(models[label], tokens, batch_size, verbose)[0]
    prior = log_priors(manifest, labels) if priors is None else np.log(np.asarray(priors, dtype=np.float64))
    return labels[np.argmax(scores + prior, axis=1)], scores, labels


def classification_report(manifest, truth, predictions, scores, classes):
    """Accuracy, per-class accuracy, confusion matrix and the test NLL under the true class, as a dict."""
    from sklearn.metrics import accuracy_score, confusion_matrix

    names = [manifest["class_names"][label] for label in classes]
    matrix = confusion_matrix(truth, predictions, labels=classes)
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    column = {label: index for index, label in enumerate(classes)}
    scored = np.array([label in column for label in truth])
    true_nats = -scores[scored.nonzero()[0], [column[label] for label in truth[scored]]]
    steps = manifest["target_size"] ** 2 * manifest.get("channels", 1)
    return {
        "num_images": int(len(truth)),
        "accuracy": float(accuracy_score(truth, predictions)),
        "per_class_accuracy": {name: float(value) for name, value in zip(names, per_class)},
        "class_names": names,
        "confusion_matrix": matrix.tolist(),
        "nll_true_class_nats": float(true_nats.mean()) if len(true_nats) else None,
        "bits_per_dim_true_class": float(true_nats.mean() / (steps * math.log(2))) if len(true_nats) else None,
        "levels": manifest["levels"],
        "target_size": manifest["target_size"],
    }


def format_report(report):
    """The report as the text the classification script prints."""
    names = report["class_names"]
    width = max(5, *(len(name) for name in names))
    lines = [
        f"accuracy: {report['accuracy']:.4f} on {report['num_images']} images",
        f"test NLL under the true class: {report['nll_true_class_nats']:.2f} nats "
        f"({report['bits_per_dim_true_class']:.4f} bits/dim, {report['levels']} levels)",
        "per-class accuracy: " + "  ".join(f"{n}: {a:.3f}" for n, a in report["per_class_accuracy"].items()),
        "confusion matrix (rows: true class, columns: predicted):",
        " " * width + "".join(f"{name:>{width + 1}}" for name in names),
    ]
    lines += [f"{name:>{width}}" + "".join(f"{count:>{width + 1}}" for count in row) for name, row in zip(names, report["confusion_matrix"])]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# Command-line helpers shared by the scripts
# ------------------------------------------------------------------------------------------------


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line on stderr and exits 2 (no usage dump)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def str2bool(text):
    """Parse the tutorial's `--all_digits=True` / `=False` spellings (argparse's type=bool gets False wrong)."""
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "y", "on"):
        return True
    if value in ("0", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def positive(kind):
    """An argparse type: `kind` (int or float) that must be greater than zero."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than zero, got {text}")
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse


def run_cli(main):
    """Run a script's main(): user errors become one line on stderr and exit code 2."""
    prog = Path(sys.argv[0]).name
    try:
        main()
    except UserError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted; everything finished before now is saved", file=sys.stderr)
        sys.exit(130)
