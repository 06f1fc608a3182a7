"""Make data/cifar10-mini.npz: the first 100 training and 20 test images of each CIFAR-10 class.

Read with the project's own loader from the shared JPEG archive (or any CIFAR-10 source it takes).
Usage: python data/make_cifar10_mini.py [SOURCE]   (default: ../shared/datasets/cifar10-images.tar.gz)
"""

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import util  # noqa: E402

PER_CLASS = {"train": 100, "test": 20}


def first_per_class(labels, count, num_classes):
    """Indices (sorted) of the first `count` images of each class."""
    return np.sort(np.concatenate([np.flatnonzero(labels == k)[:count] for k in range(num_classes)]))


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else str(HERE.parent.parent / "shared/datasets/cifar10-images.tar.gz")
    dataset = util.load_dataset(source, "cifar10")
    arrays = {"class_names": np.array(dataset.class_names)}
    for split, count in PER_CLASS.items():
        images, labels = dataset.split(split)
        keep = first_per_class(labels, count, len(dataset.class_names))
        arrays[f"x_{split}"], arrays[f"y_{split}"] = images[keep], labels[keep].astype(np.uint8)
    np.savez_compressed(HERE / "cifar10-mini.npz", **arrays)
    print({key: value.shape for key, value in arrays.items()})


if __name__ == "__main__":
    main()
