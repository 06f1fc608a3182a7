"""Train one generative GRU per MNIST digit and save them in a models folder.

Example (the tutorial's command):  python train_mnist.py --all_digits=True --num_images=60000 --epochs=12
"""

import config
import util


def parse_args():
    parser = util.ArgumentParser(description=__doc__, formatter_class=util.argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--digit", type=int, choices=range(10), metavar="D", help="train the model of digit D (0-9)")
    which.add_argument(
        "--all_digits", type=util.str2bool, nargs="?", const=True, default=False, metavar="BOOL",
        help="train all ten digits (also --all_digits=True; --all_digits=False trains none)",
    )
    parser.add_argument(
        "--num_images", type=util.positive(int), default=None, metavar="N",
        help="use the first N training images of the data set, all digits together (default: all)",
    )
    parser.add_argument("--epochs", type=util.positive(int), default=config.EPOCHS, help="passes over each digit's images (default: %(default)s)")
    parser.add_argument("--batch_size", type=util.positive(int), default=config.BATCH_SIZE, help="images per gradient step (default: %(default)s)")
    parser.add_argument(
        "--data", default=config.MNIST_DATA, metavar="NAME_OR_PATH",
        help="mnist, mnist-mini (shipped), a keras-layout .npz or a folder of IDX files (default: %(default)s)",
    )
    parser.add_argument("--models_dir", default=config.MNIST_MODELS_DIR, help="where models and manifest go (default: %(default)s)")
    parser.add_argument("--target_size", type=util.positive(int), default=config.TARGET_SIZE, help="images are shrunk to SIZE x SIZE (default: %(default)s)")
    parser.add_argument("--max_intensity", type=util.positive(int), default=config.MAX_INTENSITY, help="levels are 0..MAX (default: %(default)s)")
    parser.add_argument("--units", type=util.positive(int), default=config.UNITS, help="GRU units (default: %(default)s)")
    parser.add_argument("--validation_split", type=float, default=config.VALIDATION_SPLIT, help="fraction held out to report val_loss (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=config.SEED, help="random seed (default: %(default)s)")
    args = parser.parse_args()
    if args.digit is None and not args.all_digits:
        parser.error("nothing to train: give --digit D or --all_digits")
    if not 0 <= args.validation_split < 1:
        parser.error("--validation_split must be in [0, 1)")
    if args.max_intensity > 255:
        parser.error("--max_intensity must be at most 255")
    return args


def main():
    args = parse_args()
    (images, labels), _ = util.load_mnist(args.data)
    images, labels = util.first_images(images, labels, args.num_images)
    util.keras.utils.set_random_seed(args.seed)
    digits = range(10) if args.all_digits else [args.digit]
    util.train_classes(
        images, labels, digits, args.models_dir, "mnist", util.MNIST_CLASS_NAMES,
        target_size=args.target_size, max_intensity=args.max_intensity, units=args.units,
        epochs=args.epochs, batch_size=args.batch_size, validation_split=args.validation_split, seed=args.seed,
    )
    print(f"models written to {args.models_dir}/")


if __name__ == "__main__":
    util.run_cli(main)
