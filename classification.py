"""Classify test images by Bayes' rule with trained models: argmax_k log p(x | k) + log p(k).

Prints the accuracy (with a 95% confidence interval), per-class accuracy, the test set's negative
log-likelihood under the true class and the confusion matrix; writes a JSON report and the
confusion matrix as a PNG. --num_images N classifies the first N test images, as in the tutorial.
Several --models_dir folders make an ensemble (a product of experts): their log p(x | k) are added
per class, each folder scoring the images with its own preprocessing.
--split validation classifies instead the training images that the models' own training held out
for validation: a figure to choose between runs (seeds, settings) by, leaving the test set alone.
With character models (train_text.py), the same rule names the language of a text: the test
split's pieces (whitespace runs collapsed, ends stripped) are classified whole and by their first 10,
20 and 50 characters; --text names the language of one string.
--density scores a folder's density instead (class-free folders too): the test NLL in nats per image
and bits per dimension, each with its 95% interval.
A user's own inputs, without labels: --inputs (pictures: files, folders, globs) or --text_file (one
string per line; - for standard input) label each with its class, posterior and bits per dimension,
and answer "none of these" when the best class explains it less than the folder's threshold allows
(fixed by --calibrate on validation inputs: docs/none_of_these.md). One row per input, printed and
written as CSV or JSON lines (--output); an input that cannot be read is a row with its reason.
Example (the tutorial's command):  python classification.py --num_images=10000
Ensemble:  python classification.py --models_dir trained/mnist_models trained/conditional
Languages: python classification.py --models_dir trained/languages --data fortunes-7lang
           python classification.py --models_dir trained/languages --text "Wie spät ist es?"
Density:   python classification.py --models_dir trained/binarized_mnist_cpu --density
Your own:  python classification.py --inputs my_digits/ scan*.png --output labels.jsonl
           python classification.py --models_dir trained/languages --text_file messages.txt
"""

import config
from rnn_draw.commands import cli


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--num_images", type=cli.positive(int), default=None, metavar="N",
                        help="classify the first N test images (default: all)")
    parser.add_argument("--split", choices=tuple(config.REPORT_NAMES), default=config.SPLIT,
                        help="test: the test images; validation: the training images the models' training held out "
                             "(--validation_split), to choose between runs without touching the test set (default: test)")
    parser.add_argument("--dataset", choices=tuple(config.MODELS_DIRS), default=None, help="picks the default --models_dir (default: mnist)")
    parser.add_argument("--models_dir", nargs="+", default=None, metavar="DIR",
                        help=f"trained models; several folders with the same classes make an ensemble "
                             f"(default: {config.MNIST_MODELS_DIR})")
    parser.add_argument("--data", default=None, metavar="NAME_OR_PATH",
                        help="the images: a data set name or a path, as in training (default: the models' data set; "
                             "with --split validation, the data they were trained on)")
    parser.add_argument("--batch_size", type=cli.positive(int, 65_536), default=config.SCORE_BATCH_SIZE,
                        help="images scored at once, 1-65536; fewer if they would not fit in memory (default: %(default)s)")
    parser.add_argument("--uniform_priors", action="store_true", help="ignore class frequencies: p(k) = 1/K")
    parser.add_argument("--only_trained_classes", action="store_true",
                        help="when some classes have no model, classify only the images of those that do")
    parser.add_argument("--text", default=None, metavar="STRING",
                        help="character models: name the class (language) of this string, with each class's posterior")
    parser.add_argument("--inputs", nargs="+", default=None, metavar="PATH",
                        help="label these pictures (files, folders searched for pictures, glob patterns): one row each")
    parser.add_argument("--text_file", default=None, metavar="FILE",
                        help="character models: label each line of this UTF-8 file (- for standard input): one row each")
    parser.add_argument("--output", default=None, metavar="FILE",
                        help=f"with --inputs or --text_file: the rows as .csv or .jsonl (default: {config.LABELS_FILE})")
    parser.add_argument("--acceptance", type=cli.number(float, 0, 1, low_open=True), default=None, metavar="SHARE",
                        help="share of known (validation) inputs to accept, 0-1: a higher one says 'none of these' "
                             f"less often (default: the folder's; with --calibrate, the one stored: {config.ACCEPTANCE})")
    parser.add_argument("--novelty_method", choices=("likelihood", "typicality", "ratio", "combined"), default=None,
                        help="the familiarity score that decides 'none of these' (default: the folder's; with --calibrate, "
                             f"the one stored: {config.NOVELTY_METHOD}; docs/none_of_these.md)")
    parser.add_argument("--calibrate", action="store_true",
                        help="count the folder's background model and store the thresholds of 'none of these' from its "
                             "validation inputs (writes MODELS_DIR/none_of_these.json and background.npz)")
    parser.add_argument("--density", action="store_true",
                        help="score one folder's density instead of classifying: the test NLL, log p(x) = log sum_k "
                             "p(k) p(x | k) (a class-free folder's own), in nats per image and bits per dimension with "
                             "95%% intervals (writes MODELS_DIR/density.json; docs/density.md)")
    parser.add_argument("--report", default=None, metavar="FILE",
                        help="JSON report, or a folder for classification.json (default: MODELS_DIR/classification.json; "
                             f"for an ensemble {config.GENERATED_DIR}/ensemble_classification.json)")
    args = parser.parse_args()
    args.models_dir = args.models_dir or [config.MODELS_DIRS[args.dataset or "mnist"]]
    if args.split == "validation" and len(args.models_dir) > 1:
        parser.error("--split validation takes one --models_dir: each folder's training held out its own images")
    own = [flag for flag, value in (("--inputs", args.inputs), ("--text_file", args.text_file), ("--text", args.text),
                                    ("--calibrate", args.calibrate), ("--density", args.density)) if value]
    if len(own) > 1:
        parser.error(f"{' and '.join(own)}: give one of them")
    if own and len(args.models_dir) > 1:
        parser.error(f"{own[0]} takes one --models_dir")
    if args.output is not None and not (args.inputs or args.text_file):
        parser.error("--output goes with --inputs or --text_file")
    for flag, value in (("--acceptance", args.acceptance), ("--novelty_method", args.novelty_method)):
        if value is not None and not (args.inputs or args.text_file or args.calibrate):
            parser.error(f"{flag} goes with --inputs, --text_file or --calibrate")
    return args


def main():
    args = parse_args()
    from rnn_draw.commands import classifying  # after the flags are checked: importing Keras takes seconds

    classifying.classify(args)


if __name__ == "__main__":
    cli.run_cli(main)
