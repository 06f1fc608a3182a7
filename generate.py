"""Sample new images from trained models pixel by pixel, or complete real images whose lower part is hidden.

Examples:
  python generate.py --digit 7                        -> generated/samples_of_7.png (a 5x5 grid)
  python generate.py --all_digits --gif                -> a grid and an animation of it being drawn, per digit
  python generate.py --digit 7 --complete --gif        -> strips "masked | completions | truth" of test 7s
  python generate.py --dataset cifar10 --class_name cat
  python generate.py --models_dir trained/unconditional --complete
                                                       -> a model told no class completes any test images
  python generate.py --digit 7 --evaluate              -> also judge 300 samples: recognised, copied, diversity
  python generate.py --all_digits --evaluate --temperatures 0.5,0.8,1.0,1.2
                                                       -> the same per temperature, and a plot of it
"""

import functools
from pathlib import Path

import numpy as np

import config
from rnn_draw.library import UserError, folders
from rnn_draw.commands import cli


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--digit", "--label", dest="label", metavar="K", help="the class to draw: a digit, an index or a name")
    which.add_argument("--class_name", dest="label", metavar="NAME", help="the class to draw by name, e.g. cat")
    which.add_argument("--all_digits", "--all_classes", dest="all_classes", type=cli.str2bool, nargs="?", const=True,
                       default=False, metavar="BOOL", help="every trained class, one output each")
    parser.add_argument("--dataset", choices=tuple(config.MODELS_DIRS), default=None,
                        help="picks the default --models_dir (default: mnist)")
    parser.add_argument("--models_dir", default=None, help=f"trained models (default: {config.MNIST_MODELS_DIR})")
    parser.add_argument("--grid_size", type=cli.positive(int, 1000), default=config.GRID_SIZE,
                        help="the grid is N x N images, 1-1000 (default: %(default)s)")
    parser.add_argument("--output_size", type=cli.positive(int, 4096), default=config.OUTPUT_SIZE,
                        help="pixels per image in the PNG, 1-4096 (default: %(default)s)")
    parser.add_argument("--temperature", type=cli.positive(float, 100), default=config.TEMPERATURE,
                        help="in (0, 100]: below 1 sharper, above 1 wilder (default: %(default)s)")
    parser.add_argument("--seed", type=cli.seed, default=None, help="random seed for reproducible output, 0 to 2**32-1 (default: fresh)")
    parser.add_argument("--out", default=None, metavar="FILE", help=f"PNG to write, one class only (default: in {config.GENERATED_DIR}/)")
    parser.add_argument("--gif", action="store_true", help="also write an animated GIF of the drawing, a frame per row")
    parser.add_argument("--show", action="store_true", help="also open the picture in an image viewer")
    completion = parser.add_argument_group("completion")
    completion.add_argument("--complete", action="store_true", help="complete real test images instead of sampling new ones")
    completion.add_argument("--image", metavar="FILE", help="complete this picture file instead of test images")
    completion.add_argument("--keep", type=cli.number(int, 0, 65_535), default=None, metavar="K",
                            help="pixels kept, in raster order (default: the top ~64%%, 500 of 784 at 28x28)")
    completion.add_argument("--num_images", type=cli.positive(int, 10_000), default=config.COMPLETE_IMAGES,
                            help="test images to complete per class, 1-10000 (default: %(default)s)")
    completion.add_argument("--completions", type=cli.positive(int, 1000), default=config.COMPLETIONS,
                            help="completions per image, 1-1000 (default: %(default)s)")
    completion.add_argument("--data", default=None, metavar="NAME_OR_PATH",
                            help="where test (and, for --evaluate, training) images come from (default: the models' data set)")
    writing = parser.add_argument_group("text (a folder of character models, from train_text.py)")
    writing.add_argument("--prime", default=config.TEXT_PRIME, metavar="TEXT",
                         help="the text to continue (default: %(default)r)")
    writing.add_argument("--prime_file", default=None, metavar="FILE", help="read the prime from this UTF-8 file instead")
    writing.add_argument("--length", type=cli.positive(int, 1_000_000), default=config.TEXT_LENGTH,
                         help="characters to write after the prime, 1-1000000 (default: %(default)s)")
    writing.add_argument("--samples", type=cli.positive(int, 10_000), default=config.TEXT_SAMPLES,
                         help="texts drawn at once, in one batch, 1-10000 (default: %(default)s)")
    judging = parser.add_argument_group("judging samples")
    judging.add_argument("--evaluate", action="store_true",
                         help="also draw --num_samples samples per class and print how many an independent classifier "
                              "recognises, how many copy a training image, and how diverse they are, beside the same "
                              "figures for real test images; writes generated/samples_of_CLASS_quality.json")
    judging.add_argument("--num_samples", type=cli.positive(int, 10_000), default=config.EVALUATE_SAMPLES,
                         help="samples judged per class and temperature, 1-10000 (default: %(default)s)")
    judging.add_argument("--temperatures", type=cli.numbers(float, 0, 100, low_open=True), default=None, metavar="T,T,...",
                         help="with --evaluate: judge at each of these temperatures (e.g. 0.5,0.8,1.0,1.2) and plot "
                              "recognised and diversity against temperature (default: --temperature only)")
    args = parser.parse_args()
    if args.temperatures and not args.evaluate:
        parser.error("--temperatures goes with --evaluate")
    if args.evaluate and args.complete:
        parser.error("--evaluate judges new samples; it does not go with --complete")
    if args.out and args.all_classes:
        parser.error(f"--out names one file; with --all_digits outputs go to {config.GENERATED_DIR}/")
    if args.image and not args.complete:
        parser.error("--image goes with --complete")
    args.models_dir = args.models_dir or config.MODELS_DIRS[args.dataset or "mnist"]
    manifest = folders.read_manifest(args.models_dir)  # {} when there is none: loading says so later
    if folders.is_gan(manifest):
        given = [flag for flag, value in (("--complete", args.complete), ("--gif", args.gif),
                 ("--temperatures", args.temperatures), ("--temperature", args.temperature != config.TEMPERATURE)) if value]
        if given:
            parser.error(f"{', '.join(given)}: {args.models_dir} holds a GAN, which draws a whole image in one pass: "
                         "it has no pixel-by-pixel distribution to complete, animate or temper")
    one_text = folders.is_text(manifest) and len(manifest["class_names"]) == 1
    every_class = folders.is_gan(manifest)  # a GAN draws every class at once if no class is asked for
    if manifest and args.label is None and not args.all_classes and not manifest.get("unconditional") and not one_text \
            and not every_class:
        parser.error("nothing to draw: give --digit D, --label K, --class_name NAME or --all_digits")
    return args


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
    import util

    if folders.is_gan(manifest):
        from rnn_draw.library import gan

        return gan.draw(model, count, seed, None if label is None else [label] * count)
    return util.sample(model, count, manifest, temperature, seed, condition(manifest, label),
                       verbose=util.progress_verbosity())


def draw_grid(args, manifest, model, label):
    import util
    from rnn_draw.library import pictures

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
    from rnn_draw.library import gan, pictures

    columns = len(manifest["class_names"])
    labels = np.tile(np.arange(columns), args.grid_size)
    pictures.check_fits(len(labels), columns, args.output_size, manifest["channels"])
    written = [output_path(args, "samples_of_every_class")]
    pictures.save_png(pictures.tile(gan.draw(model, len(labels), args.seed, labels), columns, args.output_size), written[0])
    return written


def images_to_complete(args, manifest, label):
    """Level images (N, S, S[, C]) to complete: --image, or the first test images (of the class, if one)."""
    import util
    from rnn_draw.library import datasets

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
    import util
    from rnn_draw.library import pictures

    name, size = class_name(manifest, images_of if label is None else label), manifest["target_size"]
    keep = round(config.KEEP_FRACTION * size * size) if args.keep is None else args.keep
    if not 0 <= keep < size * size:
        raise UserError(f"--keep must be in 0..{size * size - 1} for {size}x{size} models, got {keep}")
    strip = args.completions + 2  # masked | completions | truth
    pictures.check_fits(strip, strip, args.output_size, manifest["channels"], size + 1 if args.gif else 1)
    truth = images_to_complete(args, manifest, label if images_of is None else images_of)
    completions = util.complete(
        model, truth, keep, args.completions, manifest, args.temperature, args.seed, condition(manifest, label),
        verbose=util.progress_verbosity(),
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


def real_images(args, manifest):
    """The data set's images: (data set, (training level images, labels), (test level images, labels)),
    the level images as the models see them."""
    import util
    from rnn_draw.library import datasets

    source = args.data or manifest["dataset"]
    dataset = datasets.load_dataset(source, manifest["dataset"])
    return (dataset, (util.levels_for(manifest, dataset.x_train, source), dataset.y_train),
            (util.levels_for(manifest, dataset.x_test, source), dataset.y_test))


def frechet_reference(manifest, dataset, labels, count):
    """What samples of `labels` are measured against, computed once for every temperature:
    (the data set's small CNN (rnn_draw/library/frechet.py), features of `count` real test images of those
    classes, the floor: their Fréchet distance from as many real training images)."""
    from rnn_draw.library import datasets, frechet

    path = Path(config.FRECHET_DIR) / f"{manifest['dataset']}.keras"  # one network per data set, trained on all of it
    network = frechet.feature_network_for(
        dataset if path.is_file() else datasets.load_dataset(manifest["dataset"], manifest["dataset"]), path)
    chosen = [label for label in labels if label is not None]

    def real(images, truth):
        return (images[np.isin(truth, chosen)] if chosen else images)[:count]

    test = frechet.features(network, real(dataset.x_test, dataset.y_test))
    train = frechet.features(network, real(dataset.x_train, dataset.y_train)[: len(test)])
    return network, test, frechet.frechet_distance(test, train)


def frechet_of(manifest, dataset, reference, drawn):
    """The Fréchet distance of the samples `drawn` (level images, pooled), shown at the data set's own
    size, from the real test images of `reference` (`frechet_reference`)."""
    from rnn_draw.library import frechet

    network, test, _ = reference
    samples = frechet.to_native(np.concatenate(drawn), manifest["max_intensity"], dataset.x_train.shape[1])
    return frechet.frechet_distance(frechet.features(network, samples), test)


def evaluate(args, manifest, models, labels):
    """Judge --num_samples samples per class (and temperature); print the figures and the Fréchet
    distance of all of them; write the report."""
    from rnn_draw.library import judge, write_json

    dataset, (train, train_labels), (test, test_labels) = real_images(args, manifest)
    print(f"judge: logistic regression on {min(len(train), judge.MAX_TRAIN_IMAGES)} real training images", flush=True)
    referee = judge.fit_judge(train, train_labels, manifest["max_intensity"], seed=0)
    accuracy = float((referee.predict(test) == test_labels).mean())
    temperatures = args.temperatures or [args.temperature]
    report = {"judge_accuracy_real_test": accuracy, "num_samples": args.num_samples, "models_dir": args.models_dir,
              "temperatures": {}}
    references = {}  # per class: its training images indexed, and the real test images' figures
    for label in labels:
        training = judge.TrainingImages(train if label is None else train[train_labels == label])
        real_test = (test if label is None else test[test_labels == label])[: args.num_samples]
        references[label] = training, judge.real_figures(referee, real_test, label, training)
    reference = frechet_reference(manifest, dataset, labels, args.num_samples * len(labels))
    for temperature in temperatures:
        per_class, drawn = {}, []
        for label in labels:
            training, real = references[label]
            drawn.append(samples(manifest, models[label], args.num_samples, temperature, args.seed, label))
            per_class[class_name(manifest, label)] = {
                "samples": len(drawn[-1]), **judge.figures_of(referee, drawn[-1], label, training), **real}
        figures = per_class[class_name(manifest, labels[0])] if len(labels) == 1 else judge.overall(per_class)
        figures["frechet"], figures["frechet_real_test"] = frechet_of(manifest, dataset, reference, drawn), reference[2]
        print(f"temperature {temperature:g}" + ("" if len(labels) == 1 else f", mean over {len(labels)} classes") + ":")
        for line in judge.summary_lines(figures, accuracy):
            print("  " + line)
        report["temperatures"][str(temperature)] = {"overall": figures, "per_class": per_class}
    name = class_name(manifest, labels[0]) if len(labels) == 1 else "all_classes"
    grid = output_path(args, f"samples_of_{name}")
    written = [grid.with_name(f"{grid.stem}_quality.json")]
    write_json(written[0], report)
    if len(temperatures) > 1:
        written.append(written[0].with_suffix(".png"))
        judge.save_temperature_plot({t: report["temperatures"][str(t)]["overall"] for t in temperatures}, written[-1])
    return written


def write_texts(args, manifest, models, labels):
    """Continue --prime under each chosen class's character model: print the texts and write them to a file."""
    import util
    from rnn_draw.library import atomic_write, text

    prime = text.read_prime(args.prime, args.prime_file)
    tokens = text.encode_typed(prime, manifest["vocabulary"], "--prime_file" if args.prime_file else "--prime")
    written = []
    for label in labels:
        drawn = util.continue_text(models[label], tokens, args.length, args.samples, args.temperature, args.seed,
                                   verbose=util.progress_verbosity())
        texts = [prime + text.decode(row, manifest["vocabulary"]) for row in drawn]
        name = manifest["class_names"][label]
        out = output_path(args, f"text_of_{manifest['dataset'] if len(manifest['class_names']) == 1 else name}", suffix=".txt")
        body = "\n\n".join(texts) + "\n"
        print(("" if len(labels) == 1 else f"--- {name}\n") + body, flush=True)
        atomic_write(out, lambda tmp, body=body: Path(tmp).write_text(body, encoding="utf-8"))
        written.append(out)
    return written


def main():
    args = parse_args()
    from rnn_draw.commands import trained  # after the flags are checked: importing Keras takes seconds

    manifest, models = trained.load_models(args.models_dir)
    if folders.is_text(manifest):
        if args.complete or args.evaluate or args.gif:
            raise UserError(f"{args.models_dir} holds character models: --complete, --evaluate and --gif are for images")
        labels = sorted(models) if args.all_classes or args.label is None else [cli.class_label(args.label, manifest["class_names"])]
        for path in write_texts(args, manifest, models, labels):
            print(f"wrote {path}")
        return
    work = jobs(args, manifest, models)
    for draw, label in work:
        written = draw(args, manifest, models[label], label)
        for path in written:
            print(f"wrote {path}")
        if args.show:
            from PIL import Image

            Image.open(written[0]).show()
    if args.evaluate:
        judged = sorted(models) if work[0][0] is draw_every_class else [label for _, label in work]
        for path in evaluate(args, manifest, models, judged):
            print(f"wrote {path}")


if __name__ == "__main__":
    cli.run_cli(main)
