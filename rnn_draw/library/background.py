"""The background model a likelihood ratio divides by: token counts, each token given a few tokens before it.

Ren et al. (2019) divide a model's likelihood by a background model's, so that what every input shares
(a blank page is probable under any model of pictures of ink on paper; so are common letters) cancels
and what only the classes explain is left. Here the background is the simplest model with the class
models' own preprocessing and tokens: a table of counts of each token after a context of earlier tokens
(`offsets` back: for pictures the pixel before and the one above, for text the character before), fit
in seconds by counting, with add-half smoothing. It needs no training run and no GPU, and it is stored
beside the class models (BACKGROUND_FILE).
"""

from collections import namedtuple
from pathlib import Path

import numpy as np

from rnn_draw.library import UserError, atomic_write, text

BACKGROUND_FILE = "background.npz"
SMOOTHING = 0.5  # Jeffreys' add-half: a transition never counted still gets a little probability
Background = namedtuple("Background", "counts offsets")  # counts (contexts, levels) int64; offsets back


def offsets_for(manifest):
    """How far back the context tokens are: the pixel before and the one a row above (pictures in raster
    order, one token per sub-pixel), or the character before (text and row-mode sequences)."""
    if manifest.get("kind") == "text" or manifest.get("mode") == "row":
        return (1,)
    return (1, manifest["target_size"] * manifest["channels"])


def contexts(tokens, offsets, levels):
    """Context ids (N, T) of tokens (N, T) padded with -1 (given context, -2 and below, read as its ids):
    the tokens `offsets` back, `levels` (the start) where that is before the sequence, as one number in
    base levels + 1."""
    tokens = text.read_ids(tokens)
    context = np.zeros(tokens.shape, np.int64)
    for offset in offsets:
        earlier = np.full(tokens.shape, levels, np.int64)
        earlier[:, offset:] = tokens[:, :-offset]
        context = context * (levels + 1) + earlier
    return context


def as_rows(sequences):
    """Token sequences as 2-D int64 blocks: an (N, T) array as itself, a list of (T,) arrays one row each."""
    if isinstance(sequences, np.ndarray) and sequences.ndim >= 2:
        return [sequences.reshape(len(sequences), -1).astype(np.int64)]
    return [np.asarray(sequence, np.int64).reshape(1, -1) for sequence in sequences if np.size(sequence)]


def fit(sequences, levels, offsets=(1,)):
    """A Background: counts ((levels + 1) ** len(offsets), levels) of each token after each context, from
    token sequences (an (N, T) array padded with -1, or a list of (T,) arrays)."""
    counts = np.zeros(((levels + 1) ** len(offsets), levels), np.int64)
    for block in as_rows(sequences):
        real = block >= 0
        np.add.at(counts, (contexts(block, offsets, levels)[real], block[real]), 1)
    return Background(counts, tuple(offsets))


def log_likelihood(model, tokens):
    """log p(x) in nats (N,) of tokens (N, T) padded with -1 (given context read, not scored), under a Background."""
    counts, offsets = model
    levels = counts.shape[1]
    tokens = np.asarray(tokens).reshape(len(tokens), -1).astype(np.int64)
    smoothed = counts + SMOOTHING
    table = np.log(smoothed / smoothed.sum(axis=1, keepdims=True))
    real = tokens >= 0
    return np.where(real, table[contexts(tokens, offsets, levels), tokens.clip(0)], 0.0).sum(axis=1)


def path_in(models_dir):
    """Where a models folder keeps it."""
    return Path(models_dir) / BACKGROUND_FILE


def save(models_dir, model, source):
    """Write a Background to MODELS_DIR/background.npz, with a line saying what it was counted on."""
    atomic_write(path_in(models_dir), lambda tmp: np.savez_compressed(
        tmp, counts=model.counts, offsets=np.array(model.offsets), source=np.array(source)))


def load(models_dir):
    """The Background of MODELS_DIR/background.npz, or a one-line UserError saying how to make it."""
    path = path_in(models_dir)
    if not path.is_file():
        raise UserError(f"{models_dir}: no {BACKGROUND_FILE}; make it (and the threshold) with "
                        f"python classification.py --models_dir {models_dir} --calibrate")
    try:
        with np.load(path) as stored:
            return Background(stored["counts"], tuple(int(offset) for offset in stored["offsets"]))
    except (OSError, ValueError, KeyError) as error:
        raise UserError(f"{path}: not a background model ({type(error).__name__}); rewrite it with --calibrate") from None
