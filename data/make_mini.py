"""Make the shipped subsets from a full data set, with the project's own loader: data/mnist-mini.npz
(the first 1,000 training and 100 test images of each digit) and data/cifar10-mini.npz (the first 100
and 20 of each class), in the data set's order.

Usage: python data/make_mini.py mnist|cifar10 [SOURCE] [--out FILE]
       (SOURCE: any path --data takes; default: the data set's first local copy in config.DATASETS)
"""

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from rnn_draw.library import datasets  # noqa: E402

PER_CLASS = {"mnist": {"train": 1000, "test": 100}, "cifar10": {"train": 100, "test": 20}}


def subset(dataset, counts):
    """The arrays of the .npz: x_/y_ of each split cut to its first counts[split] images per class, and class_names."""
    arrays = {"class_names": np.array(dataset.class_names)}
    for split, count in counts.items():
        images, labels = dataset.split(split)
        kept, their_labels, _ = datasets.first_of_each_class(images, labels, range(len(dataset.class_names)), count)
        arrays[f"x_{split}"], arrays[f"y_{split}"] = kept, their_labels.astype(np.uint8)
    return arrays


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", choices=tuple(PER_CLASS))
    parser.add_argument("source", nargs="?", default=None)
    parser.add_argument("--out", default=None, help="default: data/DATASET-mini.npz")
    args = parser.parse_args()
    dataset = datasets.load_dataset(args.source or args.dataset, args.dataset)
    arrays = subset(dataset, PER_CLASS[args.dataset])
    np.savez_compressed(args.out or HERE / f"{args.dataset}-mini.npz", **arrays)
    print({key: value.shape for key, value in arrays.items()})


if __name__ == "__main__":
    main()
