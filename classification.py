"""Classify test images by Bayes' rule with trained models: argmax_k log p(x | k) + log p(k).

Prints the accuracy (with a 95% confidence interval), per-class accuracy, the test set's negative
log-likelihood under the true class and the confusion matrix; writes a JSON report and the
confusion matrix as a PNG. --num_images N classifies the first N test images, as in the tutorial.
Example (the tutorial's command):  python classification.py --num_images=10000
"""

from pathlib import Path

import config
from rnn_draw import UserError, cli


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--num_images", type=cli.positive(int), default=None, metavar="N",
                        help="classify the first N test images (default: all)")
    parser.add_argument("--dataset", choices=tuple(config.MODELS_DIRS), default=None, help="picks the default --models_dir (default: mnist)")
    parser.add_argument("--models_dir", default=None, help=f"trained models (default: {config.MNIST_MODELS_DIR})")
    parser.add_argument("--data", default=None, metavar="NAME_OR_PATH",
                        help="test images: a data set name or a path, as in training (default: the models' data set)")
    parser.add_argument("--batch_size", type=cli.positive(int, 65_536), default=config.SCORE_BATCH_SIZE,
                        help="images scored at once, 1-65536; fewer if they would not fit in memory (default: %(default)s)")
    parser.add_argument("--uniform_priors", action="store_true", help="ignore class frequencies: p(k) = 1/K")
    parser.add_argument("--only_trained_classes", action="store_true",
                        help="when some classes have no model, classify only the images of those that do")
    parser.add_argument("--report", default=None, metavar="FILE", help="JSON report, or a folder for classification.json (default: MODELS_DIR/classification.json)")
    args = parser.parse_args()
    args.models_dir = args.models_dir or config.MODELS_DIRS[args.dataset or "mnist"]
    return args


def main():
    args = parse_args()
    import numpy as np

    import util  # after the flags are checked: importing Keras takes seconds, --help should not wait

    manifest, models = util.load_models(args.models_dir)
    if manifest["unconditional"]:
        raise UserError(f"{args.models_dir} holds one model told nothing of classes: it samples and completes images "
                        "but cannot compare classes; classify with per-class or --conditional models")
    dataset = util.load_dataset(args.data or manifest["dataset"], manifest["dataset"])
    if dataset.class_names != manifest["class_names"]:
        raise UserError(f"the data's classes {dataset.class_names} are not the models' {manifest['class_names']}")
    images, labels = util.first_images(dataset.x_test, dataset.y_test, args.num_images)
    if args.num_images and args.num_images > len(images):
        print(f"note: the test set has {len(images)} images; classifying all of them")
    trained = np.isin(labels, list(models))
    if not trained.all():
        missing = sorted({manifest["class_names"][k] for k in set(labels[~trained].tolist())})
        if not args.only_trained_classes:
            raise UserError(f"{args.models_dir} has no model for class(es) {', '.join(missing)}: train them, "
                            "or pass --only_trained_classes to classify the other classes' images only")
        print(f"note: no models for {', '.join(missing)}; classifying the {trained.sum()} images of the other classes")
        images, labels = images[trained], labels[trained]
    tokens = util.tokens_for(manifest, images, args.data or manifest["dataset"])
    priors = np.full(len(models), 1 / len(models)) if args.uniform_priors else None
    predictions, scores, classes = util.classify_tokens(manifest, models, tokens, priors, args.batch_size,
                                                        verbose=util.progress_verbosity())
    report = util.classification_report(manifest, labels, predictions, scores, classes)
    print(util.format_report(report))
    out = Path(args.report or args.models_dir)
    if out.is_dir() or not out.name:
        out = out / "classification.json"
    util.write_json(out, report)
    util.save_confusion_png(report, out.with_suffix(".png"))
    print(f"report written to {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    cli.run_cli(main)
