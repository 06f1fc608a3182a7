"""Train one generative RNN per CIFAR-10 class (or one model for all classes) and save them.

Colour pixels are read as R, G, B sub-pixels in raster order, so each sub-pixel is predicted from
all earlier ones, its own pixel's earlier channels included. --num_images N takes the first N
training images of each class trained. --data also takes your own images: a folder (or .tar.gz)
of train/<class>/*.png and test/<class>/*.png.
Example:  python train_cifar.py --all_classes            (all ten classes, the defaults in config.py)
          python train_cifar.py --class_name cat --data cifar10-mini --epochs 2
"""

import config
from rnn_draw.commands import cli


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--label", metavar="K", help="train the model of class K (an index, or a name)")
    which.add_argument("--class_name", metavar="NAME", help="train the model of the class called NAME, e.g. cat")
    which.add_argument(
        "--all_classes", "--all_digits", dest="all_classes", type=cli.str2bool, nargs="?", const=True,
        default=False, metavar="BOOL", help="train every class (--all_digits is the tutorial's spelling)",
    )
    cli.add_model_flags(parser, {
        "epochs": config.CIFAR_EPOCHS, "batch_size": config.CIFAR_BATCH_SIZE, "data": config.CIFAR10_DATA,
        "models_dir": config.CIFAR_MODELS_DIR, "target_size": config.CIFAR_TARGET_SIZE,
        "max_intensity": config.CIFAR_MAX_INTENSITY, "learning_rate": config.CIFAR_LEARNING_RATE,
    })
    args = cli.parse_with_recipe(parser, "cifar10")
    if args.label is None and args.class_name is None and not args.all_classes:
        parser.error("nothing to train: give --label K, --class_name NAME or --all_classes")
    cli.check_model_flags(parser, args)
    return args


def main():
    args = parse_args()
    from rnn_draw.library import datasets

    dataset = datasets.load_dataset(args.data, "cifar10")
    wanted = args.label if args.label is not None else args.class_name
    classes = range(len(dataset.class_names)) if args.all_classes else [cli.class_label(wanted, dataset.class_names)]
    from rnn_draw.commands import training  # after the flags and the class are checked: importing Keras takes seconds

    training.train_from_flags(args, classes, dataset)


if __name__ == "__main__":
    cli.run_cli(main)
