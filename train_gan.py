"""Train a DCGAN, the other generator of "Generative Models using Apache MXNet", and save its generator.

A GAN draws a whole image in one pass, often sharper than the pixel RNN's, but it has no likelihood:
it can neither score an image nor classify one (classification.py refuses a GAN folder). Images keep
their own size (28x28 MNIST, 32x32 CIFAR-10) and all 256 levels. After every epoch a grid drawn from
fixed noise goes to MODELS_DIR/progress/, and an animation of those grids to MODELS_DIR/progress.gif
at the end; a collapsing run (the discriminator winning outright, or images that stop varying) is
reported in one line with what to try.
Examples:
  python train_gan.py --dataset mnist                         (-> trained/gan_mnist; sized for 2 CPU cores)
  python train_gan.py --dataset mnist --conditional           (-> trained/gan_mnist_conditional, shipped)
  python train_gan.py --dataset cifar10 --data ../shared/datasets/cifar10-images.tar.gz
  python train_gan.py --dataset mnist --data mnist-mini --num_images 200 --epochs 1 --models_dir /tmp/g   (a quick look)
Then:  python generate.py --models_dir trained/gan_mnist_conditional --evaluate
"""

import config
from rnn_draw.commands import cli

DATA = {"mnist": config.MNIST_DATA, "cifar10": config.CIFAR10_DATA}


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", dest="image_dataset", choices=tuple(config.GAN_MODELS_DIRS), default=config.GAN_DATASET,
                        help="the kind of images, which picks the defaults of --data and --models_dir (default: %(default)s)")
    parser.add_argument("--conditional", action="store_true",
                        help="one GAN told the class: the generator draws a chosen class, the discriminator judges "
                             "\"a real 7\" rather than \"a real digit\"")
    parser.add_argument("--num_images", type=cli.positive(int), default=None, metavar="N",
                        help="use the first N training images of each class (default: all)")
    cli.add_run_flags(parser, {
        "epochs": config.GAN_EPOCHS, "batch_size": config.GAN_BATCH_SIZE, "data": None, "models_dir": None,
        "learning_rate": config.GAN_LEARNING_RATE, "max_minutes": config.GAN_MAX_MINUTES,
        "data_help": "a data set name or a path, as for train_mnist.py and train_cifar.py (default: the --dataset's)",
        "models_dir_help": "where the generator, its record and the progress pictures go "
                           f"(default: {' or '.join(config.GAN_MODELS_DIRS.values())} by --dataset, with "
                           "_conditional added for --conditional)",
    })
    args = cli.parse_with_recipe(parser, "gan")
    args.data = args.data or DATA[args.image_dataset]
    args.models_dir = args.models_dir or config.GAN_MODELS_DIRS[args.image_dataset] + ("_conditional" if args.conditional else "")
    return args


def main():
    args = parse_args()
    from rnn_draw.library import datasets

    dataset = datasets.load_dataset(args.data, args.image_dataset)
    from rnn_draw.commands import adversarial  # after the flags and the data are checked: importing Keras takes seconds

    adversarial.train_gan_from_flags(args, dataset)


if __name__ == "__main__":
    cli.run_cli(main)
