"""Benchmark: classifying N test images with ten digit models, the project vs the tutorial's classify.

The project: one batched forward pass per model, sums of log-probabilities (uniform priors here, the
tutorial's decision rule). The tutorial: one `predict` per image per model and a float32 product of
probabilities, which underflows (to denormals, then 0) on long images. Same models, same images. Prints the seconds of
each, how often they agree (overall and where no product underflowed) and `ratio: X` (speed-up).

Uses the models in --models_dir; if there are none, trains ten quick ones (1 epoch on mnist-mini).
Usage: python bench/classify.py [--num_images 100] [--models_dir trained/mnist_models] [--data mnist]
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
from common import machine, seconds
from tutorial_reference import tutorial_classify

import config
import util
from rnn_draw.library import datasets, folders
from rnn_draw.commands import trained, training


def models_folder(path):
    if (Path(path) / config.MANIFEST).is_file():
        return path
    folder = tempfile.mkdtemp(prefix="bench-models-")
    print(f"no models in {path}: training ten quick ones (1 epoch on mnist-mini) in {folder}")
    mini = datasets.load_dataset("mnist-mini")
    setup = folders.settings("mnist", datasets.MNIST_CLASS_NAMES)
    training.train_classes(mini.x_train, mini.y_train, range(10), folder, setup, epochs=1, verbose=0)
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num_images", type=int, default=100)
    parser.add_argument("--models_dir", default=config.MNIST_MODELS_DIR)
    parser.add_argument("--data", default="mnist", help="test images from this data set (default: %(default)s)")
    args = parser.parse_args()
    print(machine())
    manifest, models = trained.load_models(models_folder(args.models_dir))
    dataset = datasets.load_dataset(args.data)
    images, labels = dataset.x_test[: args.num_images], dataset.y_test
    tokens = util.tokens_for(manifest, images)  # the tutorial's classify below reads them too
    (ours, *_), project = seconds(util.classify, [(manifest, models)], images, True)
    (theirs, products), tutorial = seconds(tutorial_classify, models, tokens, manifest["levels"])
    clean = (products >= np.finfo(np.float32).tiny).all(axis=1)  # below it: denormal or 0, precision gone
    setting = f"{len(tokens)} images, {len(models)} models, {manifest['target_size']}x{manifest['target_size']}, {manifest['levels']} levels"
    print(f"{setting}: project {project:.2f} s, tutorial {tutorial:.2f} s")
    print(f"agreement: {np.mean(ours == theirs):.4f} overall; {np.mean(ours[clean] == theirs[clean]):.4f} on the "
          f"{clean.sum()} images where no product underflowed ({(~clean).sum()} underflowed)")
    print(f"accuracy on these images: project {np.mean(ours == labels[: len(tokens)]):.4f}, tutorial {np.mean(theirs == labels[: len(tokens)]):.4f}")
    print(f"ratio: {tutorial / project:.1f}  (seconds, tutorial / project)")


if __name__ == "__main__":
    main()
