"""Make data/mnist-mini.npz: the first 1,000 training and 100 test images of each digit, in MNIST order.

Usage: python data/make_mnist_mini.py [SOURCE.npz]   (default source: ../shared/datasets/mnist.npz)
"""

import sys
from pathlib import Path

import numpy as np

PER_DIGIT = {"train": 1000, "test": 100}
HERE = Path(__file__).resolve().parent


def first_per_class(labels, count):
    """Indices (sorted) of the first `count` images of each of the ten labels."""
    return np.sort(np.concatenate([np.flatnonzero(labels == k)[:count] for k in range(10)]))


def main():
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent.parent / "shared/datasets/mnist.npz"
    arrays = {}
    with np.load(source, allow_pickle=False) as mnist:
        for split, count in PER_DIGIT.items():
            keep = first_per_class(mnist[f"y_{split}"], count)
            arrays[f"x_{split}"] = mnist[f"x_{split}"][keep]
            arrays[f"y_{split}"] = mnist[f"y_{split}"][keep]
    np.savez_compressed(HERE / "mnist-mini.npz", **arrays)
    print({key: value.shape for key, value in arrays.items()})


if __name__ == "__main__":
    main()
