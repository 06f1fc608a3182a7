"""Command-line plumbing shared by the scripts: one-line errors, the tutorial's boolean flags."""

import argparse
import contextlib
import sys
from pathlib import Path

from rnn_draw import UserError


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line on stderr and exits 2 (no usage dump)."""

    def __init__(self, **kwargs):
        super().__init__(formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def str2bool(text):
    """Parse the tutorial's `--all_digits=True` / `=False` (argparse's type=bool reads "False" as true)."""
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


def add_model_flags(parser, defaults):
    """The flags both training scripts share; `defaults` maps flag names to this data set's defaults."""
    import config

    add = parser.add_argument
    add("--num_images", type=positive(int), default=None, metavar="N",
        help="use the first N training images of the data set, all classes together (default: all)")
    add("--epochs", type=positive(int), default=defaults["epochs"], help="passes over the images (default: %(default)s)")
    add("--batch_size", type=positive(int), default=defaults["batch_size"], help="images per gradient step (default: %(default)s)")
    add("--data", default=defaults["data"], metavar="NAME_OR_PATH",
        help="a data set name (mnist, mnist-mini, cifar10, cifar10-mini) or a path: a keras-layout .npz, a folder of "
             "MNIST IDX files, cifar-10-python.tar.gz or its folder, or a folder or .tar.gz of train/<class>/ and "
             "test/<class>/ images (default: %(default)s)")
    add("--models_dir", default=defaults["models_dir"], help="where models and manifest go (default: %(default)s)")
    add("--target_size", type=positive(int), default=defaults["target_size"], help="images are shrunk to SIZE x SIZE (default: %(default)s)")
    add("--max_intensity", type=positive(int), default=defaults["max_intensity"], help="levels are 0..MAX, at most 255 (default: %(default)s)")
    add("--binarize", action="store_true", help="2 levels at the threshold 0.5 (the same as --max_intensity 1)")
    add("--grayscale", action="store_true", help="convert colour images to one channel first (a cheaper model)")
    add("--mode", choices=("pixel", "row"), default="pixel",
        help="pixel: one sub-pixel per step (default); row: one image row per step, each pixel of the next row "
             "predicted by its own softmax")
    add("--conditional", action="store_true", help="one model for all classes, the class given at every step")
    add("--cell", choices=("gru", "lstm", "simple"), default=config.CELL, help="recurrent cell (default: %(default)s)")
    add("--units", type=positive(int), default=config.UNITS, help="units per recurrent layer (default: %(default)s)")
    add("--layers", type=positive(int), default=config.LAYERS, help="stacked recurrent layers (default: %(default)s)")
    add("--dropout", type=fraction, default=config.DROPOUT, help="dropout after each recurrent layer, in [0, 1) (default: %(default)s)")
    add("--clipnorm", type=positive(float), default=None, help="clip each gradient to this norm (default: no clipping)")
    add("--learning_rate", type=positive(float), default=defaults.get("learning_rate", config.LEARNING_RATE),
        help="Adam's learning rate (default: %(default)s)")
    add("--validation_split", type=fraction, default=config.VALIDATION_SPLIT, help="fraction held out to report val_loss (default: %(default)s)")
    add("--seed", type=int, default=config.SEED, help="random seed (default: %(default)s)")
    add("--distribute", action="store_true",
        help="data-parallel training over all local accelerators (JAX or TensorFlow backend); --batch_size is global")
    add("--mixed_precision", action="store_true", help="bfloat16 compute, float32 weights, softmax and loss")
    add("--resume", action="store_true",
        help="continue each class from its last epoch checkpoint (optimizer state included); skip finished classes")
    add("--early_stopping", type=positive(int), default=None, metavar="PATIENCE",
        help="stop a class when the validation loss has not improved for PATIENCE epochs (best weights kept)")


def parse_with_recipe(parser):
    """parse_args, with the values of `--recipe NAME` (config.RECIPES) as defaults under the flags given."""
    import config

    parser.add_argument("--recipe", choices=tuple(config.RECIPES), default=None,
                        help="a named group of settings from config.RECIPES; flags given explicitly win")
    known, _ = parser.parse_known_args()
    if known.recipe:
        parser.set_defaults(**config.RECIPES[known.recipe])
    return parser.parse_args()


def fraction(text):
    """An argparse type: a float in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def check_model_flags(parser, args):
    if args.max_intensity > 255:
        parser.error("--max_intensity must be at most 255")
    if args.binarize:
        args.max_intensity = 1


def train_from_args(args, classes, dataset):
    """Train what the parsed flags ask for on `dataset` (its training split); print where it went."""
    import util

    if args.num_images and args.num_images > len(dataset.x_train):
        print(f"note: the training split has {len(dataset.x_train)} images; using all of them")
    images, labels = util.first_images(dataset.x_train, dataset.y_train, args.num_images)
    if args.grayscale:
        images = util.to_grayscale(images)
    channels = 1 if images.ndim == 3 else images.shape[-1]
    setup = util.settings(
        dataset.name, dataset.class_names, args.target_size, args.max_intensity, channels, args.mode,
        args.conditional, args.cell, args.units, args.layers, args.dropout, args.grayscale,
    )
    util.keras.utils.set_random_seed(args.seed)
    if args.mixed_precision:
        util.use_mixed_precision()
    context = util.data_parallel(args.batch_size, args.learning_rate)[0] if args.distribute else contextlib.nullcontext()
    with context:
        util.train_classes(
            images, labels, classes, args.models_dir, setup,
            model_options={"learning_rate": args.learning_rate, "clipnorm": args.clipnorm},
            resume=args.resume, early_stopping=args.early_stopping, epochs=args.epochs,
            batch_size=args.batch_size, validation_split=args.validation_split, seed=args.seed,
        )
    print(f"models written to {args.models_dir}/")


def class_label(text, class_names):
    """A class given by index or by name -> its integer label, or a UserError naming the choices."""
    if text in class_names:
        return class_names.index(text)
    if text.isdigit() and int(text) < len(class_names):
        return int(text)
    raise UserError(f"unknown class {text!r}: choose one of {', '.join(class_names)} (or 0-{len(class_names) - 1})")
