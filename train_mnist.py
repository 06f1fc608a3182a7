"""Train one generative RNN per MNIST digit (or one model for all digits) and save them.

--num_images N takes the first N training images of each digit trained, as the tutorial does.
The tutorial's command (below) trains into trained/mnist_models, the folder whose shipped models it
trained: it replaces them with your own run (`git checkout trained/` brings them back).
Example (the tutorial's command):  python train_mnist.py --all_digits=True --num_images=60000 --epochs=12
Quick look on the shipped subset:  python train_mnist.py --digit 3 --data mnist-mini --models_dir trained/quick_look
Named settings:                    python train_mnist.py --all_digits --recipe demo-fast
"""

import config
from rnn_draw.commands import cli


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--digit", type=int, choices=range(10), metavar="D", help="train the model of digit D (0-9)")
    which.add_argument(
        "--all_digits", type=cli.str2bool, nargs="?", const=True, default=False, metavar="BOOL",
        help="train all ten digits (also --all_digits=True; --all_digits=False trains none)",
    )
    cli.add_model_flags(parser, {
        "epochs": config.EPOCHS, "batch_size": config.BATCH_SIZE, "data": config.MNIST_DATA,
        "models_dir": config.MNIST_MODELS_DIR, "target_size": config.TARGET_SIZE, "max_intensity": config.MAX_INTENSITY,
    })
    args = cli.parse_with_recipe(parser, "mnist")
    if args.digit is None and not args.all_digits:
        parser.error("nothing to train: give --digit D or --all_digits")
    cli.check_model_flags(parser, args)
    return args


def main():
    args = parse_args()
    from rnn_draw.library import datasets

    dataset = datasets.load_dataset(args.data, "mnist")
    from rnn_draw.commands import training  # after the flags are checked: importing Keras takes seconds

    training.train_from_flags(args, range(10) if args.all_digits else [args.digit], dataset)


if __name__ == "__main__":
    cli.run_cli(main)
