"""Classify test images by Bayes' rule with the trained class models: argmax_k log p(x | k) + log p(k).

Prints the accuracy, per-class accuracy and confusion matrix, and writes a JSON report.
Example (the tutorial's command):  python classification.py --num_images=10000
"""

from pathlib import Path

import numpy as np

import config
import util


def parse_args():
    parser = util.ArgumentParser(description=__doc__, formatter_class=util.argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num_images", type=util.positive(int), default=None, metavar="N", help="classify the first N test images (default: all)")
    parser.add_argument("--models_dir", default=config.MNIST_MODELS_DIR, help="trained models (default: %(default)s)")
    parser.add_argument(
        "--data", default=config.MNIST_DATA, metavar="NAME_OR_PATH",
        help="mnist, mnist-mini (shipped), a keras-layout .npz or a folder of IDX files (default: %(default)s)",
    )
    parser.add_argument("--batch_size", type=util.positive(int), default=config.SCORE_BATCH_SIZE, help="images scored at once (default: %(default)s)")
    parser.add_argument("--uniform_priors", action="store_true", help="ignore class frequencies: p(k) = 1/K")
    parser.add_argument("--report", default=None, metavar="FILE", help="JSON report (default: MODELS_DIR/classification.json)")
    return parser.parse_args()


def main():
    args = parse_args()
    manifest, models = util.load_models(args.models_dir)
    _, (images, labels) = util.load_mnist(args.data)
    images, labels = util.first_images(images, labels, args.num_images)
    if args.num_images and args.num_images > len(images):
        print(f"note: the test set has {len(images)} images; classifying all of them")
    trained = np.isin(labels, list(models))
    if not trained.all():
        print(f"note: models for classes {sorted(models)} only; classifying the {trained.sum()} images of those classes")
        images, labels = images[trained], labels[trained]
    tokens = util.to_tokens(images, manifest["target_size"], manifest["max_intensity"])
    priors = np.full(len(models), 1 / len(models)) if args.uniform_priors else None
    predictions, scores, classes = util.classify_tokens(manifest, models, tokens, priors, args.batch_size, verbose=1)
    report = util.classification_report(manifest, labels, predictions, scores, classes)
    print(util.format_report(report))
    out = Path(args.report or Path(args.models_dir) / "classification.json")
    util.write_json(out, report)
    print(f"report written to {out}")


if __name__ == "__main__":
    util.run_cli(main)
