"""RNNs as generative models of images: the tutorial's story, top to bottom.

An image is shrunk, its intensities quantized to a few levels, and its pixels read in raster order
as a sequence of tokens (colour pixels as R, G, B sub-pixels, as PixelRNN does). A recurrent
network with a per-step softmax learns p(pixel_t | pixels_<t); one network per class, or one for
all classes with the class as an extra input. With those networks we can

1. sample new images pixel by pixel, or complete images whose lower part is hidden,
2. score an image: log p(x | class) in nats, or bits per dimension,
3. classify by Bayes' rule: argmax_k [log p(x | k) + log p(k)].

The file reads in that order: preprocess -> model -> train -> sample -> score -> classify. The
images come from `rnn_draw.library.datasets`; progress lines, memory sizing, folders, reports and
pictures live in their own modules of `rnn_draw.library`, and `rnn_draw.commands` (checkpoints
included) turns command-line flags into runs of what is here.
Integer tokens travel: the shift by one step, the one-hot and the log-softmax happen inside compiled
calls. Keras 3, backend-agnostic: set KERAS_BACKEND to tensorflow, jax or torch.
"""

import dataclasses
import functools
import math

import numpy as np

import config
from rnn_draw.library import UserError, batches, context, ensemble, progress, quiet, reports, sizes, text
from rnn_draw.library.datasets import to_grayscale

with quiet.backend_import():  # TensorFlow prints notices on import that no log level silences
    import keras
    from keras import layers, ops
quiet.quiet_loggers()


# ------------------------------------------------------------------------------------------------
# Preprocess: images -> quantized levels -> token sequences
# ------------------------------------------------------------------------------------------------


def shrink(image, target_size):
    """Resize one image (H, W) or (H, W, C) to (target_size, target_size[, C]) floats in [0, 1].

    The tutorial's function, kept for its readers (and tested): the scripts shrink whole arrays at once
    with `shrink_all`."""
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


def pre_process(images, target_size=config.TARGET_SIZE, max_intensity=config.MAX_INTENSITY):
    """The tutorial's contract: one-hot sequences (N, T + 1, levels) with a zero start vector in front.

    `seq[:, :-1]` are the network inputs and `seq[:, 1:]` the one-hot targets. The tutorial's function,
    kept for its readers (and tested against `network_inputs`); no script calls it: training and
    scoring stream integer `to_tokens` instead, levels times smaller, and make the same inputs inside
    the compiled model (`network_inputs`).
    """
    one_hot = np.eye(max_intensity + 1, dtype=np.float32)[to_tokens(images, target_size, max_intensity)]
    return np.concatenate([np.zeros_like(one_hot[:, :1]), one_hot], axis=1)


def tokens_for(manifest, images, source="the data"):
    """Raw images (N, H, W[, C]) as a folder's models read them: tokens, after checking the images are
    the kind they were trained on (colour models cannot score grey images; grey ones score colour as grey).
    For character models, `images` are strings: token ids (N, longest) padded with -1, each after a
    line break given as context (`text.line_tokens`)."""
    if manifest.get("kind") == "text":
        return text.padded(text.line_tokens(images, manifest["vocabulary"]))
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
# Model: the tutorial's network, and the same network reading integer tokens
# ------------------------------------------------------------------------------------------------

def create_model(levels, units=config.UNITS, cell=config.CELL, num_layers=config.LAYERS, dropout=config.DROPOUT,
                 width=1, num_classes=0, offsets=context.TUTORIAL_OFFSETS):
    """The tutorial's network, generalised: RNN(units) x num_layers -> Dense at every step -> softmax.

    Defaults: GRU(256, return_sequences) -> Dense(levels) -> softmax, the tutorial's design. Input
    (batch, steps, len(offsets) * width * levels + num_classes) of any length: the one-hot sub-pixels
    of the steps `offsets` back (the previous step alone by default; `rnn_draw.library.context`), and
    the class one-hot of a conditional model. Output: a distribution over the levels for each
    sub-pixel of the step, (batch, steps, levels) when width == 1, else (batch, steps, width, levels)
    (row mode). The layer named "logits" is what scoring reads.
    Not compiled: training compiles the token model around it (`fitting_model`).
    """
    offsets = tuple(offsets)
    inputs = keras.Input((None, len(offsets) * width * levels + num_classes))
    # A wider context is recorded in the saved model; the tutorial's network stays as it was.
    hidden = inputs if offsets == context.TUTORIAL_OFFSETS else context.Context(offsets, name="context")(inputs)
    for index in range(num_layers):
        name = cell if num_layers == 1 else f"{cell}_{index}"
        hidden = getattr(layers, config.CELLS[cell]["layer"])(units, return_sequences=True, name=name)(hidden)
        if dropout:
            hidden = layers.Dropout(dropout)(hidden)
    # A Dense on (batch, steps, units) acts on each step: the tutorial's TimeDistributed(Dense).
    # Not TimeDistributed itself: on the TensorFlow backend (Keras 3.15) a compiled model wrapping
    # it returns wrong shapes once called with a second sequence length.
    # float32 whatever the precision policy: softmax and loss stay exact under mixed precision.
    logits = layers.Dense(width * levels, name="logits", dtype="float32")(hidden)
    if width > 1:
        logits = layers.Reshape((-1, width, levels), dtype="float32")(logits)
    return keras.Model(inputs, layers.Activation("softmax", name="softmax", dtype="float32")(logits))


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
    return model.input_shape[-1] - len(context.offsets_of(model)) * width_of(model) * levels_of(model)


def one_hot_steps(tokens, levels):
    """Integer sub-pixels (B, [steps,] width) -> float32 (B, [steps,] width * levels): each step's
    sub-pixels one-hot, side by side. Inside compiled calls (keras ops): the one place it is made."""
    shape = ops.shape(tokens)
    return ops.reshape(ops.one_hot(ops.cast(tokens, "int32"), levels), (*shape[:-1], shape[-1] * levels))


def with_condition(inputs, labels, num_classes):
    """Append the class one-hot of `labels` (B,) to every step of `inputs` (B, [steps,] features),
    for a conditional network (`num_classes` > 0); inputs unchanged otherwise."""
    if not num_classes:
        return inputs
    condition = ops.one_hot(ops.cast(labels, "int32"), num_classes, dtype=inputs.dtype)
    if len(inputs.shape) == 3:
        condition = ops.broadcast_to(condition[:, None, :], (*ops.shape(inputs)[:2], num_classes))
    return ops.concatenate([inputs, condition], axis=-1)


def network_inputs(tokens, levels, labels=None, num_classes=0, offsets=context.TUTORIAL_OFFSETS):
    """Tokens (B, steps, width) -> the network's inputs (B, steps, len(offsets) * width * levels [+ K]):
    step t holds the sub-pixels of steps t - d one-hot, for each d of `offsets` (step t - 1 alone by
    default), steps before the first being the all-zero start vector; so the output at step t is
    p(step t | steps < t) and the targets are the tokens themselves. Given context (a text's tokens
    of -2 and below, `text.given`) is read as its ids; after a padded text's end (-1) inputs no longer matter."""
    pixels = one_hot_steps(ops.where(tokens <= -2, -2 - tokens, ops.maximum(tokens, 0)), levels)
    reach = max(offsets)
    padded = ops.pad(pixels, ((0, 0), (reach, 0), (0, 0)))  # start vectors before the first step
    earlier = [padded[:, reach - offset : -offset] for offset in offsets]
    return with_condition(ops.concatenate(earlier, axis=-1) if len(earlier) > 1 else earlier[0], labels, num_classes)


def sequence_log_likelihood(logits, tokens, for_gradient=False):
    """log p(x) in nats per sequence, (B,) float32, from the network's logits (B, steps, width * levels)
    and the observed tokens (B, steps, width): each sub-pixel's log-softmax at its token, summed.
    Tokens of -1 pad a shorter sequence (a text), those of -2 and below are given context: neither counts.

    The project's one likelihood: the training loss, validation, scoring, classification, ensembles
    and hybrid training all come here. A sum of logs, never a product of probabilities (which
    underflows after a few hundred pixels). The same number two ways, for what each costs least:
    `for_gradient` (training) takes the backend's fused cross-entropy, whose gradient keeps no
    (B, steps, levels) copies on TensorFlow (3.6 GB instead of 6.8 at 28x28 x 256 levels, batch
    1024); otherwise the logit at the token less the logsumexp, which computes no softmax gradient
    (scoring twice as fast there; docs/data_path.md).
    """
    tokens = ops.cast(tokens, "int32")
    logits = ops.reshape(ops.cast(logits, "float32"), (*ops.shape(tokens), -1))
    safe = ops.maximum(tokens, 0)
    if for_gradient:
        log_probs = -ops.sparse_categorical_crossentropy(safe, logits, from_logits=True)
    else:
        log_probs = ops.take_along_axis(logits, safe[..., None], axis=-1)[..., 0] - ops.logsumexp(logits, axis=-1)
    return ops.sum(ops.where(tokens >= 0, log_probs, 0.0), axis=(1, 2))


class TokenLikelihood(keras.Model):
    """The network read with integer tokens: (tokens (B, steps, width) int, labels (B,) int) ->
    log p(x [| label]) in nats (B,), or with `per_token` in nats per token (divided by each
    sequence's own count of tokens, so sequences of any length compare). It shares the network's
    layers: training it trains the network, and a per-class model ignores the labels. The one-hot
    inputs exist only inside the compiled call.
    """

    def __init__(self, network, per_token=False):
        super().__init__()
        self.network_logits = keras.Model(network.inputs, network.get_layer("logits").output)
        self.levels, self.num_classes, self.per_token = levels_of(network), num_classes_of(network), per_token
        self.offsets = context.offsets_of(network)

    def call(self, inputs, training=False):
        tokens, labels = inputs
        inputs = network_inputs(tokens, self.levels, labels, self.num_classes, self.offsets)
        logits = self.network_logits(inputs, training=training)
        nats = sequence_log_likelihood(logits, tokens, for_gradient=bool(training))
        if self.per_token:
            nats = nats / ops.maximum(ops.sum(ops.cast(tokens >= 0, "float32"), axis=(1, 2)), 1.0)
        return nats


class ClassLogLikelihoods(keras.Model):
    """Every class at once for a conditional network: (tokens (B, steps, width), labels (B,)) ->
    log p(x | k) for k = 0..K-1, (B, K). Each image is scored once per class: K times the compute."""

    def __init__(self, network):
        super().__init__()
        self.likelihood, self.num_classes = TokenLikelihood(network), num_classes_of(network)

    def call(self, inputs, training=False):
        tokens, _ = inputs
        batch = ops.shape(tokens)[0]
        every_class = ops.tile(ops.arange(self.num_classes, dtype="int32"), (batch,))  # rows b0k0, b0k1, ..., b1k0
        nats = self.likelihood((ops.repeat(tokens, self.num_classes, axis=0), every_class), training=training)
        return ops.reshape(nats, (batch, self.num_classes))


@functools.lru_cache(maxsize=16)
def likelihood_of(network):
    """The TokenLikelihood of `network`, built once: a conditional model is scored once per class,
    and every new model traces anew."""
    return TokenLikelihood(network)


# ------------------------------------------------------------------------------------------------
# Train: maximise log p(x) on batches of integer tokens
# ------------------------------------------------------------------------------------------------


class TokenBatches(batches.ShuffledBatches):
    """Streams ((tokens (B, steps, width) int32, labels (B,) int32), labels) batches from uint8
    tokens (N, T[, width]): indexing only, nothing per level on the host.

    Memory stays proportional to the batch: the data set is held once, as uint8 tokens. `labels`
    None (a per-class model) sends zeros. The order, resumable and shardable, is `ShuffledBatches`'.
    """

    def __init__(self, tokens, width, batch_size, shuffle=True, seed=config.SEED, labels=None, shard=(0, 1), epochs_done=0):
        super().__init__(len(tokens), batch_size, shuffle, seed, shard, epochs_done)
        self.tokens, self.width = tokens, width
        self.labels = np.zeros(len(tokens), np.int32) if labels is None else np.asarray(labels, np.int32)

    def __getitem__(self, index):
        rows = self.rows(index)
        labels = self.labels[rows]
        return (as_steps(self.tokens[rows], self.width).astype(np.int32), labels), labels


def generative_loss(_labels, nats_per_token):
    """loss(labels, log p(x) per sub-pixel (B,)): nats per sub-pixel, the mean cross-entropy of the per-step softmax."""
    return -nats_per_token


def hybrid_loss(weight, log_prior, dims):
    """loss(labels (B,), log p(x | k) (B, K)): the generative loss under the true class plus `weight`
    times the cross-entropy of the Bayes posterior softmax_k(log p(x | k) + log p(k))."""
    # A class without training images has a prior of 0: a large negative number, not -inf, keeps the
    # gradient of the softmax free of inf - inf.
    log_prior = ops.convert_to_tensor(np.maximum(log_prior, np.finfo(np.float32).min / 4).astype(np.float32))

    def loss(labels, log_likelihoods):
        labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
        true_class = ops.take_along_axis(log_likelihoods, labels[:, None], axis=1)[:, 0]
        posterior = keras.losses.sparse_categorical_crossentropy(labels, log_likelihoods + log_prior, from_logits=True)
        return -true_class / dims + weight * posterior

    return loss


def fitting_model(network, dims, learning_rate=config.LEARNING_RATE, clipnorm=None,
                  discriminative_weight=config.DISCRIMINATIVE_WEIGHT, log_prior=None, decay_steps=None):
    """The model `fit` trains, compiled (Adam): the network read with integer tokens, its loss the
    negative log-likelihood in nats per sub-pixel (`dims` sub-pixels per sequence). With
    `discriminative_weight` W > 0 (a conditional network: hybrid training), every class is scored and
    W times the Bayes posterior's cross-entropy with `log_prior` (K,) joins the loss. Either way the
    network's own layers are the ones trained, and the optimizer's state belongs to this model.
    With `decay_steps`, the step follows a half cosine from `learning_rate` down to
    config.COSINE_FLOOR of it over that many updates (its position is the optimizer's step count,
    so a resumed run goes on where it was)."""
    if decay_steps:
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=config.COSINE_FLOOR)
    optimizer = keras.optimizers.Adam(learning_rate, clipnorm=clipnorm)
    if discriminative_weight:
        fitted = ClassLogLikelihoods(network)
        fitted.compile(optimizer=optimizer, loss=hybrid_loss(discriminative_weight, log_prior, dims))
    else:
        fitted = TokenLikelihood(network, per_token=True)  # validation windows may be longer than training's
        fitted.compile(optimizer=optimizer, loss=generative_loss)
    return fitted


@dataclasses.dataclass(frozen=True)
class Schedule:
    """How a network is fitted, the training flags' values (defaults: config.py): passes over the data,
    batch size, Adam's step and gradient clipping, a cosine decay of the step over all epochs, the share
    of images held out for validation and the seed of that split and of the batch order, and the weight
    of the discriminative term (hybrid training, `fitting_model`)."""

    epochs: int = config.EPOCHS
    batch_size: int = config.BATCH_SIZE
    learning_rate: float = config.LEARNING_RATE
    clipnorm: float = None
    cosine_decay: bool = False
    validation_split: float = config.VALIDATION_SPLIT
    seed: int = config.SEED
    discriminative_weight: float = config.DISCRIMINATIVE_WEIGHT


def train_model(network, tokens, labels=None, schedule=Schedule(), log_prior=None, validation_tokens=None,
                initial_epoch=0, callbacks=(), prepare=None, shard=(0, 1), verbose=None):
    """Fit `network` to tokens (N, T[, width]) by maximum likelihood, as `schedule` says: the target at
    step t is step t.

    `labels` (N,) are needed by a conditional network, and `log_prior` (K,) by hybrid training. A
    seeded shuffle's first `schedule.validation_split` is held out (`held_out_rows`), unless
    `validation_tokens` (M, T) are given (a text's last 10%). `prepare(fitted)`, if given, runs on the
    compiled model before fitting (a resumed run restores its optimizer state there). `verbose` None
    picks `progress.verbosity()`. With several processes each feeds its `shard` of every global batch
    and all get the same global losses. Returns the history: per-epoch `loss` (and `val_loss`), in
    nats per sub-pixel.
    """
    from rnn_draw.library.datasets import held_out_rows
    from rnn_draw.library.distribute import feed

    width = width_of(network)
    train, val = held_out_rows(len(tokens), 0 if validation_tokens is not None else schedule.validation_split,
                                 schedule.seed)

    def batches_of(rows, size, shuffle, source=tokens):
        return lambda: TokenBatches(source[rows], width, size, shuffle, schedule.seed, None if labels is None else labels[rows],
                                    shard, initial_epoch)

    data, steps = feed(batches_of(train, schedule.batch_size, True))
    decay_steps = schedule.epochs * (steps or len(data)) if schedule.cosine_decay else None
    fitted = fitting_model(network, as_steps(tokens[:1], width)[0].size, schedule.learning_rate, schedule.clipnorm,
                           schedule.discriminative_weight, log_prior, decay_steps)
    if prepare:
        prepare(fitted)
    validation, validation_steps = (None, None)
    validation_batch = max(schedule.batch_size, config.VALIDATION_BATCH_SIZE)
    if validation_tokens is not None and len(validation_tokens):
        validation, validation_steps = feed(batches_of(np.arange(len(validation_tokens)), validation_batch, False, validation_tokens))
    elif len(val):
        validation, validation_steps = feed(batches_of(val, validation_batch, False))
    history = fitted.fit(
        data,
        validation_data=validation,
        steps_per_epoch=steps,
        validation_steps=validation_steps,
        epochs=schedule.epochs,
        initial_epoch=initial_epoch,
        shuffle=False,  # TokenBatches shuffles with its own seeded generator; Keras would reorder batches too
        verbose=progress.verbosity() if verbose is None else verbose,
        callbacks=list(callbacks),
    )
    return {name: [float(value) for value in values] for name, values in history.history.items()}


# ------------------------------------------------------------------------------------------------
# Sample: one recurrent step per pixel for the whole batch, carrying the state, in one compiled call
# ------------------------------------------------------------------------------------------------


class Sampler(keras.Model):
    """Draws a batch of token sequences in one compiled call: a scan over steps of the trained cells.

    Inputs: uniforms (B, steps, width) in [0, 1), forced tokens (B, steps, width) and keep
    (B, steps, width) (1 where the forced token is used instead of a draw: a completion's given
    prefix), and labels (B,) (read by a conditional model only). Each drawn sub-pixel is the
    inverse CDF of its distribution at its uniform, so a seeded numpy generator makes samples
    reproducible on every backend. Outputs: tokens (B, steps, width) and probs (B, steps, width,
    levels), the distribution each sub-pixel came from (before temperature). The first step sees the
    zero start vector, as in training. Sharing the trained layers, its distributions equal a full
    forward pass's. O(steps): the state is carried, the prefix never re-read; so are the last
    max(offsets) steps drawn, one-hot, which a wider context reads (`network_inputs`).
    """

    def __init__(self, model, temperature=1.0):
        super().__init__()
        self.cells = [layer.cell for layer in recurrent_layers(model)]
        self.dense = model.get_layer("logits")
        self.levels, self.width, self.num_classes = levels_of(model), width_of(model), num_classes_of(model)
        self.offsets, self.temperature = context.offsets_of(model), temperature

    def call(self, inputs):
        uniforms, forced, keep, labels = inputs
        batch = ops.shape(uniforms)[0]
        reach = max(self.offsets)

        def step(carry, xs):
            recent, _, _, *states = carry  # recent[:, reach - d]: the step d back, one-hot
            uniform, given, kept = xs
            hidden = ops.concatenate([recent[:, reach - offset] for offset in self.offsets], axis=-1)
            hidden = with_condition(hidden, labels, self.num_classes)
            new_states = []
            for cell, state in zip(self.cells, self._split(states)):
                hidden, new_state = cell(hidden, state)
                new_states += list(new_state)
            logits = ops.reshape(self.dense(hidden), (-1, self.width, self.levels))
            cumulative = ops.cumsum(ops.softmax(logits / self.temperature), axis=-1)
            drawn = ops.minimum(ops.sum(ops.cast(cumulative < uniform[..., None], "int32"), -1), self.levels - 1)
            token = ops.where(kept > 0, ops.cast(given, "int32"), drawn)
            recent = ops.concatenate([recent[:, 1:], one_hot_steps(token, self.levels)[:, None]], axis=1)
            carry = (recent, token, ops.softmax(logits), *new_states)
            # Keras's TensorFlow scan needs per-step outputs shaped like the carry: output the carry.
            return carry, carry

        start = (  # the all-zero start vector, as in training
            ops.zeros((batch, reach, self.width * self.levels)),
            ops.zeros((batch, self.width), "int32"),
            ops.zeros((batch, self.width, self.levels)),
            *[ops.zeros((batch, size)) for cell in self.cells for size in self._state_sizes(cell)],
        )
        steps_first = [ops.moveaxis(x, 1, 0) for x in (uniforms, forced, keep)]
        _, (_, tokens, probs, *_) = ops.scan(step, start, steps_first)
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


def sample_tokens(model, num_images, steps, temperature=1.0, seed=None, label=None, prefix=None, keep=0,
                  with_probs=False, verbose=0):
    """Draw `num_images` token sequences of `steps` steps from `model`, in as few compiled calls as
    fit `sizes.CHUNK_BYTES` (one for the tutorial's 5x5 grid; memory stays bounded for any number).

    Every sub-pixel is drawn, the first included, starting from the zero start vector used in training.
    A conditional model needs the class `label`. For completion, `prefix` (num_images, steps, width)
    gives tokens of which the first `keep` sub-pixels (raster order) are used as they are; the rest is
    drawn conditioned on them. Returns tokens (N, steps, width) uint8; `with_probs` adds probs
    (N, steps, width, levels) float32, the distribution each sub-pixel came from (before temperature).
    `verbose`: a progress line per chunk when there are several.
    """
    width, levels, num_classes = width_of(model), levels_of(model), num_classes_of(model)
    if num_classes and label is None:
        raise UserError("this is a class-conditional model: say which class to sample")
    sizes.require(sizes.sampling_bytes(num_images, steps, width, levels if with_probs else 0), f"drawing {num_images} images")
    rng = np.random.default_rng(seed)
    kept = (np.arange(steps * width).reshape(1, steps, width) < keep).astype(np.float32)
    tokens = np.empty((num_images, steps, width), np.uint8 if levels <= 256 else np.int32)
    probs = np.empty((num_images, steps, width, levels) if with_probs else (0,), np.float32)
    sampler = sampler_for(model, temperature)
    state_floats = sum(size for cell in sampler.cells for size in Sampler._state_sizes(cell))
    state_floats += (max(sampler.offsets) - 1) * width * levels  # the steps a wider context reads
    chunk = sizes.sampled_per_call(steps, width, levels, state_floats, num_images)
    for start in progress.chunks(num_images, chunk, "drawn", verbose):
        count = min(chunk, num_images - start)
        shape = (count, steps, width)
        forced = np.zeros(shape, np.int32) if prefix is None else np.asarray(prefix[start : start + count], np.int32).reshape(shape)
        labels = np.full(count, 0 if label is None else label, np.int32)
        drawn, their_probs = sampler.predict_on_batch([rng.random(shape, dtype=np.float32), forced, kept.repeat(count, 0), labels])
        tokens[start : start + count] = np.asarray(drawn)
        if with_probs:
            probs[start : start + count] = np.asarray(their_probs)
    return (tokens, probs) if with_probs else tokens


def sample(model, num_images, manifest, temperature=1.0, seed=None, label=None, verbose=0):
    """Sample `num_images` new images: level images (N, S, S) or (N, S, S, C), uint8."""
    steps, _ = sequence_shape(manifest["target_size"], manifest["channels"], manifest["mode"])
    tokens = sample_tokens(model, num_images, steps, temperature, seed, label, verbose=verbose)
    return tokens_to_images(tokens, manifest["target_size"], manifest["channels"])


def complete(model, images, keep_pixels, num_completions, manifest, temperature=1.0, seed=None, label=None, verbose=0):
    """Complete each image from its first `keep_pixels` pixels (raster order), `num_completions` times.

    images: level images (N, S, S[, C]). Returns level images (N, num_completions, S, S[, C]) whose
    first keep_pixels pixels are the given ones, exactly, and the rest drawn given them.
    """
    steps, width = sequence_shape(manifest["target_size"], manifest["channels"], manifest["mode"])
    sizes.require(sizes.completion_bytes(len(images) * num_completions, steps, width),
                  f"{len(images)} x {num_completions} completions")
    prefix = np.repeat(np.asarray(images).reshape(len(images), steps, width), num_completions, axis=0)
    keep = keep_pixels * manifest["channels"]
    tokens = sample_tokens(model, len(prefix), steps, temperature, seed, label, prefix, keep, verbose=verbose)
    out = tokens_to_images(tokens, manifest["target_size"], manifest["channels"])
    return out.reshape((len(images), num_completions) + out.shape[1:])


def continue_text(model, prime, length, num_samples=1, temperature=1.0, seed=None, verbose=0):
    """Characters drawn after a prime: token ids (num_samples, length), from `prime` token ids (n,).

    The same sampler as images: the prime is fed step by step as a completion's kept prefix, the
    state carried, so the cost is linear in n + length and the prefix is never read twice.
    """
    steps = len(prime) + length
    given = np.zeros((num_samples, steps, 1), np.int32)
    given[:, : len(prime), 0] = prime
    tokens = sample_tokens(model, num_samples, steps, temperature, seed, prefix=given, keep=len(prime), verbose=verbose)
    return tokens[:, len(prime) :, 0]


# ------------------------------------------------------------------------------------------------
# Score: exact log-likelihoods, computed and summed inside one compiled call per batch
# ------------------------------------------------------------------------------------------------


def log_likelihood(model, tokens, labels=None, batch_size=config.SCORE_BATCH_SIZE, verbose=0):
    """Per-image log p(x) under `model` for tokens (N, T) or (N, steps, width) or level images
    (or texts of several lengths: token ids padded with -1, `rnn_draw.library.text.padded`).

    A conditional model scores log p(x | label) and needs `labels` (N,). Returns (nats (N,) float64,
    bits per dimension (N,) float64, dimensions being sub-pixels or characters). Only N numbers
    come back from each compiled call (`TokenLikelihood`). `verbose`: progress lines when it is long.
    """
    width, levels = width_of(model), levels_of(model)
    tokens = as_steps(tokens, width)
    units = sum(layer.units for layer in recurrent_layers(model))
    batch_size = sizes.scored_per_call(tokens[0].size, width, levels, units, batch_size)
    labels = np.zeros(len(tokens), np.int32) if labels is None else np.asarray(labels, np.int32)
    scorer = likelihood_of(model)
    dims = (tokens >= 0).sum(axis=(1, 2)) if tokens.dtype.kind == "i" else np.full(len(tokens), tokens[0].size)
    lengths = (tokens != -1).sum(axis=(1, 2)) if tokens.dtype.kind == "i" else dims  # given context included
    order = np.argsort(lengths, kind="stable")  # texts of like lengths together: less padding to compute
    nats = np.empty(len(tokens), dtype=np.float64)
    for start in progress.chunks(len(tokens), batch_size, "scored", verbose):
        rows = order[start : start + batch_size]
        steps = text.steps_to_score(lengths[rows].max(), width, tokens.shape[1])
        nats[rows] = np.asarray(scorer.predict_on_batch((tokens[rows, :steps].astype(np.int32), labels[rows])))
    return nats, reports.bits_per_dimension(-nats, np.maximum(dims, 1))


# ------------------------------------------------------------------------------------------------
# Classify: Bayes' rule over the class models
# ------------------------------------------------------------------------------------------------


def log_priors(counts):
    """log p(k) in nats (K,) from each class's count of training images (K,): its share of them, so a
    class without images gets -inf (never predicted); uniform when no counts are known (folders trained
    before records kept them). Bayes' rule and hybrid training both take it from here."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() <= 0:
        return np.full(len(counts), -math.log(len(counts)))
    with np.errstate(divide="ignore"):
        return np.log(counts / counts.sum())


def class_log_likelihoods(manifest, models, tokens, batch_size=config.SCORE_BATCH_SIZE, verbose=0):
    """log p(x | k) in nats for every image and class: (scores (N, K) float64, labels (K,)).
    `verbose` 2 (a log): a line per class."""
    labels = np.array(sorted(models))
    scores = np.empty((len(tokens), len(labels)), dtype=np.float64)
    for column, label in enumerate(labels):
        given = np.full(len(tokens), label) if manifest["conditional"] else None
        scores[:, column] = log_likelihood(models[label], tokens, given, batch_size, verbose)[0]
        if verbose:
            under = "the class-free model" if label is None else f"class {manifest['class_names'][label]}"
            print(f"scored {len(tokens)} images under {under}: mean log-likelihood "
                  f"{scores[:, column].mean():.2f} nats", flush=True)
    return scores, labels


def bayes_rule(scores, labels, log_prior):
    """argmax_k [log p(x | k) + log p(k)] for scores (N, K) in nats: the predicted labels (N,)."""
    return labels[np.argmax(scores + log_prior, axis=1)]


def log_density(scores, log_prior):
    """log p(x) = log sum_k p(k) p(x | k) in nats (N,), from scores (N, K) of log p(x | k) and the log
    prior (K,): the density of a folder's models taken together (a class-free model's own: K = 1, prior 1)."""
    return np.logaddexp.reduce(scores + log_prior, axis=1)


def classify(folders, images, uniform_priors=False, batch_size=config.SCORE_BATCH_SIZE, verbose=0, source="the data"):
    """Classify raw images (N, H, W[, C]) by Bayes' rule with one or more models folders.

    `folders`: [(manifest, {label: model}), ...]; several make an ensemble (a product of experts:
    their log p(x | k) added per class, each folder preprocessing the images its own way). The prior
    p(k) comes from the first folder's training counts (uniform if unknown, or `uniform_priors`).
    Returns (predicted labels (N,), scores (N, K) of log p(x | k) in nats, labels (K,), log prior
    (K,), each folder's own scores [(N, K), ...]).
    """
    members = []
    for number, (manifest, models) in enumerate(folders):
        if len(folders) > 1 and verbose:
            print(f"scoring with models folder {number + 1} of {len(folders)}", flush=True)
        members.append(class_log_likelihoods(manifest, models, tokens_for(manifest, images, source), batch_size, verbose))
    scores, labels = ensemble.product_of_experts(members)
    counts = [folders[0][0].get("train_counts", {}).get(str(label), 0) for label in labels]
    log_prior = log_priors(np.ones(len(labels)) if uniform_priors else counts)
    return bayes_rule(scores, labels, log_prior), scores, labels, log_prior, [member for member, _ in members]
