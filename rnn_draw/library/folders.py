"""A models folder's bookkeeping: its manifest, each model's record, file paths and settings checks.

A folder holds `manifest.json` (the settings every model in it shares), and per class a
`model_K.keras` (or `model_all.keras` for one model of all classes) with its record `model_K.json`
(the command, data, image counts, loss history). Separate files per class let several processes
train different classes into one folder at once. JSON and paths only: nothing here imports Keras.
"""

from importlib import metadata
from pathlib import Path

import config
from rnn_draw.library import UserError, read_json, shapes, write_json

# What two models must share to live in one folder (and what a model's record must agree on).
SETTINGS_THAT_MUST_MATCH = (
    "dataset", "class_names", "target_size", "max_intensity", "channels", "mode", "conditional",
    "unconditional", "cell", "units", "layers", "context",
)
TEXT_SETTINGS_THAT_MUST_MATCH = ("kind", "vocabulary", "seq_length")
GAN_SETTINGS_THAT_MUST_MATCH = ("noise_size", "width")
# Settings added after some folders were written, with the value those folders implicitly had.
SETTINGS_ADDED_LATER = {"unconditional": False}
IMAGE_SETTINGS_ADDED_LATER = {"context": config.CONTEXT}  # pixel-RNN folders only: a GAN or text folder has none


def settings(dataset, class_names, target_size=config.TARGET_SIZE, max_intensity=config.MAX_INTENSITY, channels=1,
             mode=config.MODE, conditional=False, cell=config.CELL, units=config.UNITS, num_layers=config.LAYERS,
             dropout=config.DROPOUT, grayscale=False, unconditional=False, context=config.CONTEXT):
    """The settings shared by all models of a folder: what sampling and scoring need to know.

    `conditional`: one model told the class at every step; `unconditional`: one model for all the
    classes trained, told nothing of them (it samples and completes, but cannot classify); neither:
    one model per class, the tutorial's way. `context`: which earlier pixels each step reads (config.CONTEXTS)."""
    return {
        "dataset": dataset, "class_names": list(class_names), "target_size": target_size,
        "max_intensity": max_intensity, "levels": max_intensity + 1, "channels": channels, "mode": mode,
        "conditional": conditional, "unconditional": unconditional, "cell": cell, "units": units,
        "layers": num_layers, "dropout": dropout, "grayscale": grayscale, "context": context,
        "keras_version": metadata.version("keras"),
    }


def text_settings(dataset, class_names, vocabulary, seq_length=config.SEQ_LENGTH, cell=config.CELL,
                  units=config.TEXT_UNITS, num_layers=config.LAYERS, dropout=config.DROPOUT):
    """The settings shared by a folder of character models: one model per class (a text's one class,
    or one per language), all over one `vocabulary` (token 0 is UNKNOWN) so that every model scores
    every string."""
    return {
        "kind": "text", "dataset": dataset, "class_names": list(class_names), "vocabulary": list(vocabulary),
        "levels": len(vocabulary), "seq_length": seq_length, "conditional": False, "unconditional": False,
        "cell": cell, "units": units, "layers": num_layers, "dropout": dropout, "keras_version": metadata.version("keras"),
    }


def gan_settings(dataset, class_names, image_size, channels, conditional, noise_size=config.GAN_NOISE,
                 width=config.GAN_WIDTH):
    """The settings of a GAN folder: one generator (told the class if `conditional`) of images at the
    data set's own size and 256 levels, so that samples are judged like any folder's."""
    return {
        "kind": "gan", "dataset": dataset, "class_names": list(class_names), "target_size": image_size,
        "max_intensity": 255, "levels": 256, "channels": channels, "mode": "pixel", "conditional": conditional,
        "unconditional": not conditional, "noise_size": noise_size, "width": width,
        "keras_version": metadata.version("keras"),
    }


def model_name(label):
    """File stem of a class's model: model_3, or model_all for a conditional or unconditional model."""
    return "model_all" if label is None else f"model_{label}"


def label_name(setup, label):
    """How progress lines name a model: its class, "all classes", or a lone text's name."""
    if label is None:
        return "all classes"
    lone_text = setup.get("kind") == "text" and len(setup["class_names"]) == 1
    return setup["dataset"] if lone_text else f"class {setup['class_names'][label]}"


def model_path(models_dir, label):
    return Path(models_dir) / f"{model_name(label)}.keras"


def record_path(models_dir, label):
    return Path(models_dir) / f"{model_name(label)}.json"


def read_checked(path, kind):
    """The JSON file at `path` checked against the shape of its `kind` (rnn_draw/library/shapes.py); {} if absent."""
    data = read_json(path)
    return shapes.checked(path, data, kind) if Path(path).is_file() else data


def read_manifest(models_dir):
    """The folder's manifest, with settings added since older folders were written; {} if there is none."""
    path = Path(models_dir) / config.MANIFEST
    manifest = read_json(path)
    if not path.is_file():
        return {}
    shapes.checked(path, manifest, "text_manifest" if is_text(manifest) else "gan_manifest" if is_gan(manifest) else "manifest")
    added = SETTINGS_ADDED_LATER if is_text(manifest) or is_gan(manifest) else {**SETTINGS_ADDED_LATER, **IMAGE_SETTINGS_ADDED_LATER}
    return {**added, **manifest}


def is_text(manifest):
    """True for the manifest of a folder of character models (train_text.py)."""
    return isinstance(manifest, dict) and manifest.get("kind") == "text"


def is_gan(manifest):
    """True for the manifest of a GAN folder (train_gan.py): a generator, no likelihood."""
    return isinstance(manifest, dict) and manifest.get("kind") == "gan"


def open_manifest(models_dir, wanted, write=True):
    """Write `wanted` as the folder's manifest (if `write`), or check that the one there holds the same settings."""
    manifest = read_manifest(models_dir)
    for key in SETTINGS_THAT_MUST_MATCH + TEXT_SETTINGS_THAT_MUST_MATCH + GAN_SETTINGS_THAT_MUST_MATCH:
        if manifest and manifest.get(key) != wanted.get(key):
            raise UserError(f"{Path(models_dir) / config.MANIFEST}: models here have {key}={manifest.get(key)}, "
                            f"not {wanted.get(key)}; train into another --models_dir")
    if not manifest and write:
        write_json(Path(models_dir) / config.MANIFEST, wanted)
    return manifest or wanted


def check_settings(path, recorded, manifest):
    """A model's recorded settings must be the folder's: mixed settings in one folder are an error."""
    for key in SETTINGS_THAT_MUST_MATCH + TEXT_SETTINGS_THAT_MUST_MATCH + GAN_SETTINGS_THAT_MUST_MATCH:
        if key in recorded and recorded[key] != manifest.get(key):
            raise UserError(f"{path}: trained with {key}={recorded[key]}, but {config.MANIFEST} says {manifest.get(key)}")


def finished_records(models_dir):
    """{stem: record} of the finished models in `models_dir` (checkpoints left out), each record checked."""
    paths = sorted(p for p in Path(models_dir).glob("model_*.json") if ".ckpt" not in p.name)
    return {path.stem: read_checked(path, "record") for path in paths}


def training_runs(models_dir):
    """The records of the finished models in `models_dir` (command, data, train_counts, seed,
    validation_split, ...): what `held_out_images` needs to find the images their training held out."""
    runs = finished_records(models_dir)
    for stem, run in runs.items():
        if "seed" not in run or "validation_split" not in run:
            raise UserError(f"{Path(models_dir) / stem}.json: the record does not say which images its training held "
                            "out (no seed or validation_split: trained before records kept them)")
    if not runs:
        raise UserError(f"{models_dir}: no finished models here")
    return list(runs.values())
