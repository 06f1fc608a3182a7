"""Command-line plumbing shared by the scripts: flags and their ranges, one-line errors and faults.

Nothing here imports Keras: the scripts parse and check their flags with this module first, so
`--help` and every bad flag are answered before the seconds that importing a backend takes.
"""

import argparse
import errno
import math
import os
import sys
import traceback
from pathlib import Path

import config
from rnn_draw.library import UserError

DEBUG_VARIABLE = "RNN_DRAW_DEBUG"  # set to 1 to see the full traceback behind any one-line error


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line on stderr and exits 2 (no usage dump)."""

    def __init__(self, **kwargs):
        super().__init__(formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


def str2bool(text):
    """Parse the tutorial's `--all_digits=True` / `=False` (argparse's type=bool reads "False" as true)."""
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "y", "on"):
        return True
    if value in ("0", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def number(kind, low, high, low_open=False, high_open=False):
    """An argparse type: a finite int or float in [low, high], an end excluded where it is `_open`.

    nan and inf are refused whatever the range; the error says the range.
    """
    if kind is int:
        span = f"a whole number from {low} to {high}"
    else:
        span = f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def parse(text):
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"expected {span}, got {text!r}") from None
        outside = value < low or value > high or (low_open and value == low) or (high_open and value == high)
        if not math.isfinite(value) or outside:
            raise argparse.ArgumentTypeError(f"must be {span}, got {text!r}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in some messages
    return parse


def positive(kind, high=10**9):
    """An argparse type: an int from 1 to `high`, or a finite float in (0, high]."""
    return number(kind, 1, high) if kind is int else number(kind, 0, high, low_open=True)


def numbers(kind, low, high, low_open=False, high_open=False):
    """An argparse type: a comma-separated list of `number(...)` values, e.g. 0.5,0.8,1.0."""
    one = number(kind, low, high, low_open, high_open)

    def parse(text):
        values = [one(part) for part in str(text).split(",")]
        if not 1 <= len(values) <= 20:
            raise argparse.ArgumentTypeError(f"expected 1 to 20 values, got {len(values)}")
        return values

    parse.__name__ = f"list of {kind.__name__}"
    return parse


fraction = number(float, 0, 1, high_open=True)
seed = number(int, 0, 2**32 - 1)  # what every backend's seeding accepts


# --- running a script: every failure one line ----------------------------------------------------

# What an operating system's refusal means, by errno. A fault of the machine, not of the program or
# the input (exit 1): the first four only writing meets, so the file being written was not kept...
DISK_FAULTS = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
               errno.EDQUOT: "the disk quota is used up", errno.EFBIG: "the file is too large for this file system",
               errno.EIO: "input/output error (a failing disk or network file system)",
               errno.ESTALE: "the network file system lost track of this file (stale file handle)",
               errno.EBUSY: "the file or folder is busy"}
# ...or a path the user gave that the file system refuses (exit 2).
PATH_FAULTS = {errno.ENOENT: "no such file or folder", errno.ENOTDIR: "a part of this path is a file, not a folder",
               errno.EISDIR: "this is a folder, not a file", errno.ENAMETOOLONG: "the file name is too long",
               errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
               errno.ELOOP: "too many symbolic links (a loop?)",
               errno.EEXIST: "something of this name is already there", errno.ENOTEMPTY: "the folder is not empty",
               errno.EINVAL: "invalid argument (a name this file system refuses?)",
               errno.ETXTBSY: "the file is in use by a running program", errno.ENXIO: "no such device",
               errno.ENODEV: "no such device"}


def describe_fault(error):
    """(exit code, one-line message) for an exception that reached the top of a script."""
    if isinstance(error, UserError):
        return 2, str(error)
    if isinstance(error, ModuleNotFoundError):  # the script was run by a Python without the project's packages
        return 2, (f"this Python ({sys.executable}) has no module {error.name!r}: run the scripts with the project's "
                   "environment, .venv/bin/python (`make venv` makes it), or pip install -r requirements.txt")
    name, text = type(error).__name__, " ".join(str(error).split())
    if isinstance(error, MemoryError) or name in ("ResourceExhaustedError", "OutOfMemoryError") or "RESOURCE_EXHAUSTED" in text:
        return 1, ("out of memory: this request needs more memory than the machine has; use smaller settings "
                   f"(--batch_size, --grid_size, --units...) ({name})")
    if isinstance(error, OSError) and error.filename is not None:  # a path refused: say which, and what is wrong
        path = error.filename
        path = " ".join((os.fsdecode(path) if isinstance(path, (str, bytes)) else str(path)).split())
        if len(path) > 120:  # both ends kept: where it is, and the file's name
            path = f"{path[:58]}...{path[-59:]}"
        if error.errno in PATH_FAULTS:
            return 2, f"{path}: {PATH_FAULTS[error.errno]}"
        if error.errno in (errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG):
            return 1, f"cannot write {path}: {DISK_FAULTS[error.errno]}; nothing half-written was kept"
        return 1, f"{path}: {DISK_FAULTS.get(error.errno) or ' '.join(str(error.strerror or text).split()).lower()}"
    if isinstance(error, OSError) and (error.errno in DISK_FAULTS or error.errno in (errno.EACCES, errno.EPERM)):
        what = DISK_FAULTS.get(error.errno) or PATH_FAULTS[error.errno]
        return 1, f"cannot write: {what}; nothing half-written was kept"
    return 1, f"internal error: {name}: {text[:300]} (set {DEBUG_VARIABLE}=1 for the traceback; please report it)"


# Called with the exit status just before a script exits (multihost tells the job's other processes).
AT_EXIT = []
# Called on a failure before its line is printed (multihost: a peer's death, which the engine may
# report first as its own error, is told as what it is).
BEFORE_ERROR = []


def run_cli(main):
    """Run a script's main(): any failure becomes one line on stderr, exit 2 for bad input, 1 for a
    fault of the machine (memory, disk) or a bug; Ctrl-C exits 130. RNN_DRAW_DEBUG=1 adds the traceback."""
    prog = Path(sys.argv[0]).name
    code = 0
    try:
        main()
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted; everything finished before now is saved", file=sys.stderr)
        code = 130
    except BrokenPipeError:  # the reader of our output left (`| head`): nothing to say, and no one to say it to
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush must not fail again
        code = 1
    except SystemExit as exit_:  # argparse's errors and --help: as they are
        code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
        raise
    except Exception as error:  # noqa: BLE001 (the point: nothing reaches the user as a traceback)
        code, message = describe_fault(error)
        for hook in BEFORE_ERROR:
            hook()
        if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
            traceback.print_exc()
        sys.stdout.flush()
        print(f"{prog}: error: {message}", file=sys.stderr)
    finally:
        for hook in AT_EXIT:
            hook(code)
    sys.exit(code)


# --- the training scripts' flags -----------------------------------------------------------------


def data_help(kinds, formats):
    """--data's help: the data sets of these kinds named in config.DATASETS, then what a path may be."""
    named = ", ".join(name for name, entry in config.DATASETS.items() if entry["kind"] in kinds)
    return f"a data set name ({named}) or a path: {formats} (default: %(default)s)"


IMAGE_DATA_HELP = data_help(("mnist", "cifar10"), "a keras-layout .npz, a folder of MNIST IDX files, cifar-10-python.tar.gz "
                            "or its folder, or a folder or .tar.gz of train/<class>/ and test/<class>/ images")
TEXT_DATA_HELP = data_help(("text",), "a UTF-8 text file (one model), or a folder or .tar.gz of <class>.txt files, "
                           "optionally under train/ and test/ (one model per class)")


def add_model_flags(parser, defaults):
    """The flags both image training scripts share; `defaults` maps flag names to this data set's defaults."""
    add = parser.add_argument
    add("--num_images", type=positive(int), default=None, metavar="N",
        help="use the first N training images of each class trained, as the tutorial does (default: all)")
    add("--target_size", type=positive(int, 256), default=defaults["target_size"], help="images are shrunk to SIZE x SIZE, 1-256 (default: %(default)s)")
    add("--max_intensity", type=positive(int, 255), default=defaults["max_intensity"], help="levels are 0..MAX, 1-255 (default: %(default)s)")
    add("--binarize", nargs="?", choices=("threshold", "stochastic"), const="threshold", default=None,
        help="2 levels: at the threshold 0.5 (--binarize alone, the same as --max_intensity 1), or stochastic: each "
             "MNIST pixel drawn once from Bernoulli(intensity), the density table's data (the same as --data mnist-binarized)")
    add("--context", choices=tuple(config.CONTEXTS), default=config.CONTEXT,
        help="what each step reads besides the recurrent state, pixel mode: "
             + "; ".join(f"{name}: {about}" for name, about in config.CONTEXTS.items()) + " (default: %(default)s)")
    add("--grayscale", action="store_true", help="convert colour images to one channel first (a cheaper model)")
    add("--mode", choices=("pixel", "row"), default=config.MODE,
        help="pixel: one sub-pixel per step; row: one image row per step, each pixel of the next row predicted by "
             "its own softmax (default: %(default)s)")
    classes = parser.add_mutually_exclusive_group()
    classes.add_argument("--conditional", action="store_true", help="one model for all classes, the class given at every step")
    classes.add_argument("--unconditional", action="store_true",
                         help="one model for all classes trained, told nothing of classes: it samples and completes "
                              "any of them, but cannot classify")
    add("--discriminative_weight", type=number(float, 0, 100), default=config.DISCRIMINATIVE_WEIGHT, metavar="W",
        help="with --conditional: add W times the cross-entropy of the Bayes posterior to the loss, so training also "
             "separates the classes (hybrid training; each step scores every image under every class, so K times "
             "the compute), 0-100 (default: %(default)s, plain generative training)")
    add("--validation_split", type=fraction, default=config.VALIDATION_SPLIT,
        help="fraction of each model's images held out of training to report val_loss, for --early_stopping and for "
             "classification.py --split validation; the tutorial holds out none (default: %(default)s)")
    add_training_flags(parser, {"data_help": IMAGE_DATA_HELP, **defaults})


def add_run_flags(parser, defaults):
    """The flags of every training script, GAN included: data, folder, epochs, steps, seed, resume, time."""
    add = parser.add_argument
    add("--epochs", type=positive(int, 10_000), default=defaults["epochs"], help="passes over the data (default: %(default)s)")
    add("--batch_size", type=positive(int, 65_536), default=defaults["batch_size"],
        help="sequences (images or windows) per gradient step (default: %(default)s)")
    add("--data", default=defaults["data"], metavar="NAME_OR_PATH", help=defaults["data_help"])
    add("--models_dir", default=defaults["models_dir"], help=defaults.get("models_dir_help", "where models and manifest go (default: %(default)s)"))
    add("--clipnorm", type=positive(float, 1e6), default=None, help="clip each gradient to this norm (default: no clipping)")
    add("--learning_rate", type=positive(float, 10), default=defaults.get("learning_rate", config.LEARNING_RATE),
        help="Adam's learning rate, in (0, 10] (default: %(default)s)")
    add("--seed", type=seed, default=config.SEED, help="random seed, 0 to 2**32-1 (default: %(default)s)")
    add("--deterministic", action="store_true",
        help="deterministic kernels: two runs with the same --seed on the same machine and backend write the same "
             "weights (its cost and what still varies: docs/results.md)")
    add("--resume", action="store_true",
        help="continue each class from its last epoch checkpoint (optimizer state included); skip finished classes")
    add("--max_minutes", type=positive(float, 10**6), default=defaults.get("max_minutes"), metavar="M",
        help="stop a class's training after the epoch past which another would exceed M minutes (default: no limit)")


def add_training_flags(parser, defaults):
    """The flags every recurrent model's training script shares (images and text); `defaults` maps flag names to its defaults."""
    add_run_flags(parser, defaults)
    add = parser.add_argument
    add("--cell", choices=tuple(config.CELLS), default=config.CELL, help="recurrent cell (default: %(default)s)")
    add("--units", type=positive(int, 65_536), default=defaults.get("units", config.UNITS),
        help="units per recurrent layer (default: %(default)s)")
    add("--layers", type=positive(int, 16), default=config.LAYERS, help="stacked recurrent layers, 1-16 (default: %(default)s)")
    add("--dropout", type=fraction, default=config.DROPOUT, help="dropout after each recurrent layer, in [0, 1) (default: %(default)s)")
    add("--distribute", action="store_true",
        help="data-parallel training over all local accelerators (JAX or TensorFlow backend); --batch_size is global")
    add("--mixed_precision", action="store_true", help="bfloat16 compute, float32 weights, softmax and loss")
    add("--init_from", default=None, metavar="DIR",
        help="start each model from the finished model of the same class in DIR (same settings), not from "
             "random weights: fine-tuning, e.g. with --discriminative_weight")
    add("--early_stopping", type=positive(int, 10_000), default=defaults.get("early_stopping"), metavar="PATIENCE",
        help="stop a class when the validation loss has not improved for PATIENCE epochs (best weights kept)")
    add("--lr_patience", type=positive(int, 10_000), default=defaults.get("lr_patience", config.LR_PATIENCE),
        metavar="PATIENCE", help=f"multiply the learning rate by {config.LR_FACTOR} each time the validation loss has "
                                 "not improved for PATIENCE epochs (default: %(default)s, a constant rate)")
    add("--cosine_decay", type=str2bool, nargs="?", const=True, default=defaults.get("cosine_decay", False),
        metavar="BOOL", help=f"let the learning rate fall along a half cosine to {config.COSINE_FLOOR} of "
                             "--learning_rate over the --epochs (not with --lr_patience)")


def check_schedule(parser, args):
    if getattr(args, "cosine_decay", False) and getattr(args, "lr_patience", None):
        parser.error("--cosine_decay and --lr_patience both set the learning rate; choose one")


def parse_with_recipe(parser, dataset):
    """parse_args, with the values of `--recipe NAME` (config.RECIPES) as defaults under the flags given.
    A recipe for another data set than this script's (`dataset`) is refused in one line."""
    parser.add_argument("--recipe", choices=tuple(config.RECIPES), default=None,
                        help="a named group of settings from config.RECIPES (its data set, folder, sizes...); "
                             "flags given explicitly win")
    known, _ = parser.parse_known_args()
    if known.recipe:
        recipe = dict(config.RECIPES[known.recipe])
        if recipe.pop("dataset") != dataset:
            others = ", ".join(name for name, values in config.RECIPES.items() if values["dataset"] == dataset)
            parser.error(f"--recipe {known.recipe} is for another data set than {dataset}; this script's recipes: {others}")
        parser.set_defaults(**recipe)
    args = parser.parse_args()
    check_schedule(parser, args)
    return args


def check_model_flags(parser, args):
    if args.discriminative_weight and not args.conditional:
        parser.error("--discriminative_weight needs --conditional: the posterior compares classes within one model")
    for flag in ("early_stopping", "lr_patience"):
        if getattr(args, flag) and not args.validation_split:
            parser.error(f"--{flag} needs --validation_split above 0: it watches the loss on held-out images")
    if args.context != config.CONTEXT and args.mode == "row":
        parser.error(f"--context {args.context} goes with --mode pixel: a row-mode step already reads the whole row above")
    if args.binarize == "stochastic":
        if args.data not in ("mnist", "mnist-binarized"):
            parser.error(f"--binarize stochastic: MNIST drawn once with a fixed seed is a data set of its own "
                         f"(--data mnist-binarized); {args.data} is not it: --binarize alone thresholds any pictures at 0.5")
        args.data = "mnist-binarized"
    elif args.binarize:
        args.max_intensity = 1
    fixed = config.DATASETS.get(args.data, {}).get("fixed", {})
    for flag in given(parser, fixed):
        if getattr(args, flag) != fixed[flag]:
            parser.error(f"--data {args.data} is read at --target_size {fixed['target_size']} and --max_intensity "
                         f"{fixed['max_intensity']} (its pixels are drawn as 0 or 1); --{flag} {getattr(args, flag)} is not that")
    vars(args).update(fixed)


def given(parser, names):
    """The flags among `names` given on the command line, not taken from a default or a recipe."""
    unset = object()
    saved = {name: parser.get_default(name) for name in names}
    parser.set_defaults(**{name: unset for name in names})
    try:
        typed, _ = parser.parse_known_args()
    finally:
        parser.set_defaults(**saved)
    return [name for name in names if getattr(typed, name) is not unset]


def output_file(path, default_name):
    """An output path as given, or `default_name` inside it when it names a folder (`--out .`)."""
    path = Path(path)
    return path / default_name if path.is_dir() or not path.name else path


def class_label(text, class_names):
    """A class given by index or by name -> its integer label, or a UserError naming the choices."""
    if text in class_names:
        return class_names.index(text)
    if text.isdecimal() and int(text) < len(class_names):
        return int(text)
    raise UserError(f"unknown class {text!r}: choose one of {', '.join(class_names)} (or 0-{len(class_names) - 1})")
