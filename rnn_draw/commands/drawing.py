"""generate.py's work: parsed flags -> grids of samples, completions of hidden lower parts, animations
of the drawing, or text continued after a prime, each written where the flags say; `draw(args)` runs it."""

import functools
from pathlib import Path

import numpy as np

import config
import util
from rnn_draw.commands import cli, trained
from rnn_draw.library import UserError, atomic_write, datasets, folders, gan, pictures, progress, text


def output_path(args, stem, index=None, suffix=".png"):
    """--out (numbered when one call writes several; a folder gets STEM inside), else generated/STEM[_INDEX].png."""
    out = cli.output_file(args.out, stem) if args.out else Path(config.GENERATED_DIR) / stem
    return out.with_name(out.stem + ("" if index is None else f"_{index}") + suffix)


def class_name(manifest, label):
    """The name in output files: the class's, or "all" for a model told no class."""
    return "all" if label is None else manifest["class_names"][label]


def condition(manifest, label):
    """What the model is told of the class: the label for a conditional model, nothing otherwise."""
    return label if manifest["conditional"] else None


def samples(manifest, model, count, temperature, seed, label):
    """Level images (count, S, S[, C]) from a folder's model of class `label`: a pixel RNN draws them
    pixel by pixel; a GAN in one pass (its levels are the pixels, 0..255)."""
    if folders.is_gan(manifest):
        return gan.draw(model, count, seed, None if label is None else [label] * count)
    return util.sample(model, count, manifest, temperature, seed, condition(manifest, label),
                       verbose=progress.verbosity())


def draw_grid(args, manifest, model, label):
    """A --grid_size square of new samples of class `label` as a PNG (and, with --gif, its drawing)."""
    name = class_name(manifest, label)
    frames = manifest["target_size"] + 1 if args.gif else 1
    pictures.check_fits(args.grid_size**2, args.grid_size, args.output_size, manifest["channels"], frames)
    levels = samples(manifest, model, args.grid_size**2, args.temperature, args.seed, label)
    grey_values = util.dequantize(levels, manifest["max_intensity"])
    written = [output_path(args, f"samples_of_{name}")]
    pictures.save_grid(grey_values, written[0], args.output_size)
    if args.gif:
        written.append(output_path(args, f"samples_of_{name}", suffix=".gif"))
        pictures.save_gif(pictures.drawing_frames(grey_values, args.grid_size, args.output_size), written[-1])
    return written


def draw_every_class(args, manifest, model, _label):
    """A GAN told the class, no class asked for: one picture, a column per class, --grid_size rows."""
    columns = len(manifest["class_names"])
    labels = np.tile(np.arange(columns), args.grid_size)
    pictures.check_fits(len(labels), columns, args.output_size, manifest["channels"])
    written = [output_path(args, "samples_of_every_class")]
    pictures.save_png(pictures.tile(gan.draw(model, len(labels), args.seed, labels), columns, args.output_size), written[0])
    return written


def images_to_complete(args, manifest, label):
    """Level images (N, S, S[, C]) to complete: --image, or the first test images (of the class, if one)."""
    if args.image:
        images = datasets.read_picture(args.image, manifest["channels"])[None]
    else:
        dataset = datasets.load_dataset(args.data or manifest["dataset"], manifest["dataset"])
        images = dataset.x_test if label is None else dataset.x_test[dataset.y_test == label]
        images = images[: args.num_images]
        if len(images) == 0:
            raise UserError(f"no test images of class {class_name(manifest, label)} in the data")
    return util.levels_for(manifest, images, args.image or args.data or manifest["dataset"])


def draw_completions(args, manifest, model, label, images_of=None):
    """Strips (and GIFs) of completions; `images_of` picks the test images' class if not `label`'s."""
    name, size = class_name(manifest, images_of if label is None else label), manifest["target_size"]
    keep = round(config.KEEP_FRACTION * size * size) if args.keep is None else args.keep
    if not 0 <= keep < size * size:
        raise UserError(f"--keep must be in 0..{size * size - 1} for {size}x{size} models, got {keep}")
    strip = args.completions + 2  # masked | completions | truth
    pictures.check_fits(strip, strip, args.output_size, manifest["channels"], size + 1 if args.gif else 1)
    truth = images_to_complete(args, manifest, label if images_of is None else images_of)
    completions = util.complete(
        model, truth, keep, args.completions, manifest, args.temperature, args.seed, condition(manifest, label),
        verbose=progress.verbosity(),
    )
    to_pictures = functools.partial(util.dequantize, max_intensity=manifest["max_intensity"])
    written = []
    for index, (image, drawn) in enumerate(zip(truth, completions)):
        number = None if args.out and len(truth) == 1 else index
        written.append(output_path(args, f"completion_of_{name}", number))
        masked = pictures.hide_after(to_pictures(image)[None], keep)[0]
        pictures.save_strip(masked, to_pictures(drawn), to_pictures(image), written[-1], args.output_size)
        if args.gif:
            written.append(written[-1].with_suffix(".gif"))
            frames = pictures.drawing_frames(to_pictures(drawn), len(drawn), args.output_size, first_row=keep // size)
            pictures.save_gif(frames, written[-1])
    return written


def jobs(args, manifest, models):
    """(draw function, label) pairs: what this command draws."""
    names = manifest["class_names"]
    if folders.is_gan(manifest) and manifest["conditional"] and args.label is None and not args.all_classes:
        return [(draw_every_class, next(iter(models)))]
    if manifest["unconditional"]:
        # One model told nothing of classes: a class, if given, only picks which test images to complete.
        if args.complete:
            images_of = None if args.label is None or args.image else cli.class_label(args.label, names)
            return [(functools.partial(draw_completions, images_of=images_of), None)]
        if args.label is not None:
            raise UserError(f"{args.models_dir} holds one model told nothing of classes: it cannot draw a chosen class; "
                            "leave out --digit to sample, or use --complete to finish test images of that class")
        return [(draw_grid, None)]
    labels = sorted(models) if args.all_classes else [cli.class_label(args.label, names)]
    for label in labels:
        if label not in models:
            raise UserError(f"no model for class {names[label]} in {args.models_dir} (trained: {sorted(models)})")
    return [(draw_completions if args.complete else draw_grid, label) for label in labels]


def write_texts(args, manifest, models, labels):
    """Continue --prime under each chosen class's character model: print the texts and write them to a file."""
    prime = text.read_prime(args.prime, args.prime_file)
    tokens = text.encode_typed(prime, manifest["vocabulary"], "--prime_file" if args.prime_file else "--prime")
    written = []
    for label in labels:
        drawn = util.continue_text(models[label], tokens, args.length, args.samples, args.temperature, args.seed,
                                   verbose=progress.verbosity())
        texts = [prime + text.decode(row, manifest["vocabulary"]) for row in drawn]
        name = manifest["class_names"][label]
        out = output_path(args, f"text_of_{manifest['dataset'] if len(manifest['class_names']) == 1 else name}", suffix=".txt")
        body = "\n\n".join(texts) + "\n"
        print(("" if len(labels) == 1 else f"--- {name}\n") + body, flush=True)
        atomic_write(out, lambda tmp, body=body: Path(tmp).write_text(body, encoding="utf-8"))
        written.append(out)
    return written


def draw(args):
    """What generate.py's parsed flags ask for, drawn and written, each file's path printed. Returns
    (manifest, models, the classes drawn), for --evaluate to judge."""
    manifest, models = trained.load_models(args.models_dir)
    if folders.is_text(manifest):
        if args.complete or args.evaluate or args.gif:
            raise UserError(f"{args.models_dir} holds character models: --complete, --evaluate and --gif are for images")
        labels = sorted(models) if args.all_classes or args.label is None else [cli.class_label(args.label, manifest["class_names"])]
        for path in write_texts(args, manifest, models, labels):
            print(f"wrote {path}")
        return manifest, models, labels
    work = jobs(args, manifest, models)
    for draw_one, label in work:
        written = draw_one(args, manifest, models[label], label)
        for path in written:
            print(f"wrote {path}")
        if args.show:
            from PIL import Image  # only here: opening a viewer is rare

            Image.open(written[0]).show()
    drawn = sorted(models) if work[0][0] is draw_every_class else [label for _, label in work]
    return manifest, models, drawn
