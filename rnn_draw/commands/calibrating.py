"""'None of these' for a models folder: its inputs scored with every familiarity (`scored`), and its
calibration (classification.py --calibrate): the background model counted on its training inputs and
each score's quantiles on its validation inputs, stored beside the models with the method and
acceptance that pick the threshold."""

import datetime
import itertools
from collections import namedtuple

import numpy as np

import config
import util
from rnn_draw.library import UserError, background, datasets, folders, novelty, text

Scored = namedtuple("Scored", "predictions scores classes log_prior dims background_nats")


def dims_of(tokens):
    """Each input's dimensions (N,): characters of a padded text, sub-pixels of an image."""
    tokens = np.asarray(tokens).reshape(len(tokens), -1)
    return (tokens >= 0).sum(axis=1) if tokens.dtype.kind == "i" else np.full(len(tokens), tokens.shape[1])


def scored(folder, inputs, model=None, uniform_priors=False, batch_size=config.SCORE_BATCH_SIZE, verbose=0):
    """Inputs (images (N, H, W[, C]) or strings) classified and scored by one folder (manifest, models):
    a Scored of Bayes' rule's labels, log p(x | k) (N, K) in nats, the classes (K,), log p(k), each
    input's dimensions and, given a background model, its log-likelihood (N,) in nats."""
    manifest = folder[0]
    predictions, scores, classes, log_prior, _ = util.classify([folder], inputs, uniform_priors, batch_size, verbose)
    tokens = util.tokens_for(manifest, inputs)
    nats = None if model is None else background.log_likelihood(model, tokens)
    return Scored(predictions, scores, classes, log_prior, dims_of(tokens), nats)


def familiarity(result, record, method):
    """Familiarity (N,) of a Scored by `method`, under a calibration record (its class means and quantiles)."""
    return novelty.familiarity(method, result.scores, result.dims, result.background_nats, record.get("class_bits"),
                               record.get("quantiles"))


def familiarities(result, record):
    """{method: familiarity (N,)} of a Scored under a calibration record (before its quantiles exist, the
    methods that need none)."""
    return {method: familiarity(result, record, method) for method in novelty.METHODS
            if method != "combined" or all(part in record.get("quantiles", {}) for part in novelty.COMBINED)}


def rejections(models_dir, manifest, inputs, scores):
    """{"method", "acceptance", "rejected", "of"}: how many inputs (with their class log-likelihoods (N, K)
    in nats) the folder's threshold calls "none of these"; None when the folder is not calibrated."""
    if not (novelty.path_in(models_dir).is_file() and background.path_in(models_dir).is_file()):
        return None
    record, model = novelty.load(models_dir), background.load(models_dir)
    tokens = util.tokens_for(manifest, inputs)
    result = Scored(None, scores, None, None, dims_of(tokens), background.log_likelihood(model, tokens))
    familiar = familiarity(result, record, record["method"])
    rejected = int(np.sum(familiar < novelty.threshold(record["quantiles"][record["method"]], record["acceptance"])))
    return {"method": record["method"], "acceptance": record["acceptance"], "rejected": rejected, "of": len(inputs)}


def posteriors(result):
    """p(k | x) (N, K) by Bayes' rule from a Scored."""
    joint = result.scores + result.log_prior
    return np.exp(joint - np.logaddexp.reduce(joint, axis=1, keepdims=True))


def calibration_of(result, labels):
    """{"class_bits": each class's mean bits per dimension (K,), "quantiles": {method: [QUANTILES floats]}}
    of validation inputs scored (a Scored) with their labels (N,)."""
    columns = np.searchsorted(result.classes, labels)
    record = {"class_bits": novelty.class_means(result.scores, result.dims, columns).tolist(), "quantiles": {}}
    for _ in range(2):  # the combined score is in units of the others' quantiles: a second pass adds it
        record["quantiles"] = {name: [float(f"{q:.6g}") for q in novelty.quantiles(values)]
                               for name, values in familiarities(result, record).items()}
    return record


def windows_of(string, lengths=(10, 20, 40, 80, 160)):
    """Consecutive windows of `string`, their lengths taking `lengths` in turn: validation strings as short
    and as long as the strings users bring."""
    out, start = [], 0
    for length in itertools.cycle(lengths):
        if start >= len(string):
            return out
        out.append(string[start : start + length])
        start += length


def text_inputs(manifest, data):
    """({label: training pieces' token ids [(T,), ...]}, validation strings, their labels, what they are) of
    a text's classes: the validation strings are the pieces of the last tenth of each class's text, which
    training held out (windows of it when it has too few pieces)."""
    corpus = text.load_corpus(data)
    if corpus.class_names != manifest["class_names"]:
        raise UserError(f"{data}: its classes {corpus.class_names} are not the models' {manifest['class_names']}")
    training, strings, labels = {}, [], []
    for label, name in enumerate(corpus.class_names):
        train, validation = text.split_for_validation(corpus.train[name])
        training[label] = text.line_tokens(text.pieces(train), manifest["vocabulary"])
        held = [" ".join(piece.split()) for piece in text.pieces(validation)]
        if len(held) < config.CALIBRATION_PIECES:  # a text not cut into pieces: windows of several lengths instead
            held = windows_of(" ".join(validation.split()))
        strings += held
        labels += [label] * len(held)
    return training, strings, np.array(labels), f"the pieces of the last {config.TEXT_VALIDATION:.0%} of each class's text of {data}"


def image_inputs(models_dir, folder, data):
    """(training tokens (N, T), validation images, their labels, what they are) of the classes the folder
    has models of: the images the models' training held out, or when it held none out, the first
    config.CALIBRATION_IMAGES training images."""
    manifest, models = folder
    dataset = datasets.load_dataset(data, manifest["dataset"])
    modelled = np.isin(dataset.y_train, list(models)) if not manifest["unconditional"] else np.ones(len(dataset.y_train), bool)
    images, labels = dataset.x_train[modelled], dataset.y_train[modelled]
    held, held_labels = datasets.held_out_images(images, labels, folders.training_runs(models_dir))
    if len(held):
        what = f"the {len(held)} training images of {data} that training held out"
    else:
        held, held_labels = images[: config.CALIBRATION_IMAGES], labels[: config.CALIBRATION_IMAGES]
        what = f"the first {len(held)} training images of {data} (training held none out)"
    return util.tokens_for(manifest, images), held, held_labels, what


def calibrate(models_dir, folder, data=None, method=config.NOVELTY_METHOD, acceptance=config.ACCEPTANCE, batch_size=config.SCORE_BATCH_SIZE):
    """Count the background model and store the calibration of `folder` (manifest, models) in `models_dir`;
    returns the record (also written to MODELS_DIR/none_of_these.json)."""
    manifest = folder[0]
    runs = folders.finished_records(models_dir).values()
    data = data or next((run["data"] for run in runs if run.get("data")), manifest["dataset"])
    if folders.is_text(manifest):
        by_class, inputs, labels, what = text_inputs(manifest, data)
        training = [pieces for label in sorted(by_class) for pieces in by_class[label]]
    else:
        training, inputs, labels, what = image_inputs(models_dir, folder, data)
    print(f"counting the background model on the training {'texts' if folders.is_text(manifest) else 'images'} of {data}", flush=True)
    model = background.fit(training, manifest["levels"], background.offsets_for(manifest))
    print(f"scoring {what}", flush=True)
    result = scored(folder, inputs, model, batch_size=batch_size, verbose=1)
    record = {"method": method, "acceptance": acceptance, "validation": what, "count": len(inputs),
              **calibration_of(result, labels), "date": datetime.date.today().isoformat()}
    background.save(models_dir, model, f"token counts of the training inputs of {data}, offsets {model.offsets}")
    novelty.save(models_dir, record)
    return record
