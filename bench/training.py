"""Benchmark: one training epoch of one digit, the project's streaming vs the tutorial's recipe.

Each run is a fresh child process, so its peak resident memory (RSS) is its own. Figures: pixels per
second (images x pixels / wall-clock seconds of the whole `fit`, tracing included) and peak RSS.
 - tutorial settings (10x10, 7 levels): project vs the tutorial's recipe (float64 one-hot inputs and
   targets for the whole digit, categorical cross-entropy);
 - 28x28, 256 levels, all images of the digit: the project alone. The tutorial's recipe would need its
   one-hot arrays in memory, computed and printed, not run.
Prints one line per figure and `ratio: X` (project px/s / tutorial px/s at the tutorial settings).

Usage: python bench/training.py [--digit 0] [--data mnist] [--max_images N]
"""

import argparse
import json
import subprocess
import sys

import keras
import numpy as np
from common import REPO, machine, peak_rss_mb, seconds
from tutorial_reference import tutorial_training_arrays

import config
import util
from rnn_draw.library import datasets


def one_epoch(recipe, digit, data, target_size, levels, max_images):
    """Child process: train one epoch; print a JSON line with images, pixels/s and peak RSS (MB)."""
    dataset = datasets.load_dataset(data)
    images, labels = dataset.x_train, dataset.y_train
    images = images[labels == digit][:max_images]
    tokens = util.to_tokens(images, target_size, levels - 1)
    keras.utils.set_random_seed(0)
    model = util.create_model(levels, units=config.UNITS)
    if recipe == "project":
        _, elapsed = seconds(util.train_model, model, tokens, epochs=1, validation_split=0, verbose=0)
    else:
        inputs, targets = tutorial_training_arrays(tokens, levels)
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        _, elapsed = seconds(model.fit, inputs, targets, batch_size=config.BATCH_SIZE, epochs=1, verbose=0)
    pixels = tokens.size
    print(json.dumps({"images": len(tokens), "px_per_s": pixels / elapsed, "seconds": elapsed, "rss_mb": peak_rss_mb()}))


def run_child(recipe, args, target_size, levels):
    command = [sys.executable, __file__, "--child", recipe, "--digit", str(args.digit), "--data", args.data,
               "--size", str(target_size), "--levels", str(levels)]
    if args.max_images:
        command += ["--max_images", str(args.max_images)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--digit", type=int, default=0)
    parser.add_argument("--data", default="mnist", help="as train_mnist.py --data (default: %(default)s)")
    parser.add_argument("--max_images", type=int, default=None, help="fewer images of the digit, for a quick look")
    parser.add_argument("--child", choices=("project", "tutorial"), help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--levels", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return one_epoch(args.child, args.digit, args.data, args.size, args.levels, args.max_images)

    print(machine())
    figures = {}
    for recipe in ("project", "tutorial"):
        figures[recipe] = run_child(recipe, args, config.TARGET_SIZE, config.MAX_INTENSITY + 1)
        f = figures[recipe]
        print(f"10x10, 7 levels, digit {args.digit}, {f['images']} images, batch {config.BATCH_SIZE}: {recipe} "
              f"{f['px_per_s']:,.0f} px/s, one epoch {f['seconds']:.1f} s, peak RSS {f['rss_mb']:.0f} MB")
    full = run_child("project", args, 28, 256)
    print(f"28x28, 256 levels, digit {args.digit}, {full['images']} images: project {full['px_per_s']:,.0f} px/s, "
          f"one epoch {full['seconds']:.1f} s, peak RSS {full['rss_mb']:.0f} MB")
    needed = 2 * full["images"] * 784 * 256 * np.dtype(np.float64).itemsize / 1e9
    print(f"28x28, 256 levels: tutorial recipe not run: its float64 one-hot inputs and targets alone need {needed:.1f} GB")
    print(f"ratio: {figures['project']['px_per_s'] / figures['tutorial']['px_per_s']:.2f}  (px/s, project / tutorial, 10x10)")


if __name__ == "__main__":
    main()
