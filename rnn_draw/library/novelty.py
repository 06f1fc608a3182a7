"""'None of these': how familiar an input is to a folder's classes (three scores), the threshold that
accepts a stated share of known inputs, and how well a score tells known inputs from unknown (AUROC).

Every score is a familiarity: higher means more like what the class models were trained on.
 - likelihood: minus the best class's bits per dimension. Raw likelihood is the obvious score and a
   known trap: a blank picture is more probable than most real digits (Nalisnick et al., 2019).
 - typicality: minus the distance of the best class's bits per dimension from that class's mean on
   validation inputs, times the square root of the input's dimensions (Nalisnick et al., 2019's
   typicality test, for one input: a mean over n dimensions strays about 1/sqrt(n) as far, so a short
   string and a long one are held to the same standard).
 - ratio: the bits per dimension the best class saves over the background model (`background`), a
   likelihood ratio (Ren et al., 2019): what every input shares cancels.
 - combined: the lower of typicality and ratio, each in units of its own validation spread (0 at its
   median, -1 at its 1% quantile): an input must pass both tests. Each catches what the other misses:
   typicality the blank and inverted pictures that the ratio finds familiar, the ratio the letters and
   turned digits that are as probable as digits.
"""

import json
import math
from pathlib import Path

import numpy as np

from rnn_draw.library import UserError, write_json

METHODS = ("likelihood", "typicality", "ratio", "combined")
COMBINED = ("typicality", "ratio")
NOVELTY_FILE = "none_of_these.json"
QUANTILES = 1001  # validation familiarities kept as this many quantiles: any acceptance, no raw data
NONE_OF_THESE = "none of these"


def best_class_bits(scores, dims):
    """(bits per dimension (N,), column (N,)) of the class whose model gives each input the highest
    likelihood, from log p(x | k) in nats (N, K) and each input's dimensions (N,)."""
    column = np.argmax(scores, axis=1)
    nats = scores[np.arange(len(scores)), column]
    return -nats / (np.maximum(dims, 1) * math.log(2)), column


def familiarity(method, scores, dims, background_nats=None, class_bits=None, stored=None):
    """Familiarity (N,) by `method` (METHODS) of inputs with class log-likelihoods (N, K) in nats.

    ratio needs the background's log-likelihoods (N,) in nats; typicality each class's mean validation
    bits per dimension (K,); combined both, and the validation quantiles {method: [...]} (`stored`)."""
    if method == "combined":
        return np.minimum.reduce([spread_units(familiarity(part, scores, dims, background_nats, class_bits), stored[part])
                                  for part in COMBINED])
    bits, column = best_class_bits(scores, dims)
    if method == "likelihood":
        return -bits
    if method == "typicality":
        return -np.abs(bits - np.asarray(class_bits)[column]) * np.sqrt(np.maximum(dims, 1))
    if method == "ratio":
        return -background_nats / (np.maximum(dims, 1) * math.log(2)) - bits
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


def spread_units(familiar, stored_quantiles):
    """A familiarity in units of its validation spread below the median: 0 at the median, -1 at the 1% quantile."""
    median, low = np.interp([0.5, 0.01], np.linspace(0.0, 1.0, len(stored_quantiles)), stored_quantiles)
    return (np.asarray(familiar) - median) / max(median - low, 1e-12)


def class_means(scores, dims, columns):
    """Each class's mean bits per dimension (K,) over validation inputs of it (columns: their classes' columns)."""
    bits = -scores[np.arange(len(scores)), columns] / (np.maximum(dims, 1) * math.log(2))
    return np.array([bits[columns == k].mean() if (columns == k).any() else np.nan for k in range(scores.shape[1])])


def quantiles(familiar):
    """The validation familiarities (n,) as QUANTILES evenly spaced quantiles: enough for any acceptance."""
    return np.quantile(np.asarray(familiar, np.float64), np.linspace(0.0, 1.0, QUANTILES))


def threshold(stored_quantiles, acceptance):
    """The familiarity that accepts `acceptance` (0-1] of validation inputs: its (1 - acceptance) quantile."""
    grid = np.linspace(0.0, 1.0, len(stored_quantiles))
    return float(np.interp(1.0 - acceptance, grid, stored_quantiles))


def auroc(known, unknown):
    """Area under the ROC curve of telling known inputs (higher familiarity) from unknown ones: 1 is
    perfect, 0.5 chance. Ties count half (scikit-learn's roc_auc_score)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.ones(len(known)), np.zeros(len(unknown))], np.r_[known, unknown]))


def accepted_share(known, unknown, acceptance):
    """The share of `unknown` inputs that the threshold accepting `acceptance` of `known` ones accepts."""
    return float(np.mean(np.asarray(unknown) >= threshold(quantiles(known), acceptance)))


def separation(known, unknown, acceptances=(0.95, 0.99)):
    """{"auroc", "accepted_at_95", "accepted_at_99", "count"}: how a familiarity separates two sets."""
    return {"auroc": auroc(known, unknown), "count": len(unknown),
            **{f"accepted_at_{round(100 * a)}": accepted_share(known, unknown, a) for a in acceptances}}


def path_in(models_dir):
    """Where a models folder keeps it."""
    return Path(models_dir) / NOVELTY_FILE


def save(models_dir, record):
    """Write a folder's calibration to MODELS_DIR/none_of_these.json: the method and acceptance that pick
    the threshold, each method's validation quantiles {method: [QUANTILES floats]}, the class means."""
    write_json(path_in(models_dir), record)


def load(models_dir):
    """A folder's calibration record, or a one-line UserError saying how to make it."""
    path = path_in(models_dir)
    if not path.is_file():
        raise UserError(f"{models_dir}: no {NOVELTY_FILE}, so no threshold for 'none of these'; make it with "
                        f"python classification.py --models_dir {models_dir} --calibrate")
    try:
        record = json.loads(path.read_text())
        if record["method"] not in METHODS or any(len(record["quantiles"][method]) < 2 for method in METHODS):
            raise ValueError(record["method"])
    except (ValueError, KeyError, TypeError) as error:
        raise UserError(f"{path}: not a calibration record ({type(error).__name__}); rewrite it with --calibrate") from None
    return record
