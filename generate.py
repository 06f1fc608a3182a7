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

import config
from rnn_draw.commands import cli
from rnn_draw.library import folders


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


def main():
    args = parse_args()
    from rnn_draw.commands import drawing, judging  # after the flags are checked: importing Keras takes seconds

    manifest, models, drawn = drawing.draw(args)
    if args.evaluate:
        for path in judging.evaluate(args, manifest, models, drawn):
            print(f"wrote {path}")


if __name__ == "__main__":
    cli.run_cli(main)
