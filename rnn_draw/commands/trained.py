"""A folder's trained models, loaded and checked against its manifest: what sampling and classifying start from."""

from pathlib import Path

import config
import util
from rnn_draw.library import UserError, context, folders, saving


def network_shape(manifest):
    """(width, num_classes) of a folder's recurrent networks, from its manifest (or the settings it
    will hold): sub-pixels (or characters) per step, and the size of the class input (0 but for a
    conditional network)."""
    if folders.is_text(manifest):
        return 1, 0
    _, width = util.sequence_shape(manifest["target_size"], manifest["channels"], manifest["mode"])
    return width, len(manifest["class_names"]) if manifest["conditional"] else 0


def network_offsets(manifest):
    """The steps back each step of a folder's networks reads (`rnn_draw.library.context`): the
    manifest's context at its image size; (1,) for character models."""
    if folders.is_text(manifest):
        return context.TUTORIAL_OFFSETS
    return context.offsets_for(manifest.get("context", config.CONTEXT), manifest["target_size"])


def check_structure(path, model, manifest):
    """The network itself must fit the manifest: its levels, row width and class input (a GAN's
    generator: its noise and image sizes)."""
    if folders.is_gan(manifest):
        size, channels = manifest["target_size"], manifest["channels"]
        found = (tuple(model.inputs[0].shape[1:]), tuple(model.outputs[0].shape[1:]))
        wanted = ((manifest["noise_size"],), (size, size, channels))
        if found != wanted:
            raise UserError(f"{path}: the generator maps noise {found[0]} to images {found[1]}, "
                            f"{config.MANIFEST} implies {wanted[0]} to {wanted[1]}")
        return
    width, num_classes = network_shape(manifest)
    expected = {
        "levels": (util.levels_of(model), manifest["levels"]),
        "sub-pixels per step": (util.width_of(model), width),
        "class inputs": (util.num_classes_of(model), num_classes),
        "steps read back": (list(context.offsets_of(model)), list(network_offsets(manifest))),
    }
    for what, (found, wanted) in expected.items():
        if found != wanted:
            raise UserError(f"{path}: the model has {found} {what}, {config.MANIFEST} implies {wanted}")


def load_checked(path, manifest):
    """One model file, loaded in safe mode and checked against the folder's `manifest`."""
    model = saving.load_model(path)
    check_structure(path, model, manifest)
    return model


def load_models(models_dir):
    """(manifest, {label: model}) for the models in `models_dir`, each checked against the manifest.

    The manifest gains `train_counts` {label: images} merged from the per-model records. A
    conditional folder maps every trained label to its one model; an unconditional folder has one
    model under the key None. Any mismatch (settings recorded with a model, its levels, row width
    or class input) or malformed file is a UserError naming the file.
    """
    manifest = folders.read_manifest(models_dir)
    if not manifest:
        raise UserError(f"{models_dir}: no trained models here (no {config.MANIFEST}); train some first")
    manifest = {**manifest, "train_counts": {}}
    models = {}
    for stem, record in folders.finished_records(models_dir).items():
        folders.check_settings(Path(models_dir) / f"{stem}.json", record.get("settings", {}), manifest)
        model = load_checked(Path(models_dir) / f"{stem}.keras", manifest)
        manifest["train_counts"].update(record.get("train_counts", {}))
        if manifest["unconditional"]:
            models[None] = model
        else:
            for label in record.get("train_counts", {}):
                if int(label) >= len(manifest["class_names"]):
                    raise UserError(f"{Path(models_dir) / stem}.json: train_counts names class {label}, but "
                                    f"{config.MANIFEST} has {len(manifest['class_names'])} classes")
                models[int(label)] = model
    if not models:
        raise UserError(f"{models_dir}: no finished models here yet (only checkpoints?)")
    return manifest, models if manifest["unconditional"] else dict(sorted(models.items()))
