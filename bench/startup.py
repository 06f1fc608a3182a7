"""Benchmark: how fast the scripts answer --help and a bad flag (both before Keras is imported),
against a full start that imports the backend. Target: under 1 s on 2 cores.

Each figure is the median wall-clock time of --repeats fresh interpreters.
Usage: python bench/startup.py [--repeats 5]
"""

import argparse
import statistics
import subprocess
import sys
import time

from common import REPO

ANSWERS = {
    "train_mnist.py --help": ["train_mnist.py", "--help"],
    "train_mnist.py --digit 11": ["train_mnist.py", "--digit", "11"],
    "train_cifar.py --epochs nan": ["train_cifar.py", "--all_classes", "--epochs", "nan"],
    "generate.py --temperature inf": ["generate.py", "--digit", "1", "--temperature", "inf"],
    "classification.py --batch_size 0": ["classification.py", "--batch_size", "0"],
    "full start (imports Keras): python -c 'import util'": ["-c", "import util"],
}


def median_seconds(args, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for name, command in ANSWERS.items():
        print(f"{name}: {median_seconds(command, args.repeats):.3f} s", flush=True)


if __name__ == "__main__":
    main()
