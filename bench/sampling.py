"""Benchmark: sampling a 5x5 grid, the project's batched scan vs the tutorial's per-pixel predict loop.

Same weights for both (a GRU(256) built by util.create_model with a fixed seed; speed does not depend
on what the weights are). The tutorial's loop is timed on a few images and scaled to the 25 of the grid.
Prints one line per figure and a final `ratio: X` (tutorial time / project time, tutorial settings).
Also text: 1,000 characters continued from a prime by a GRU(256) over Nietzsche's 86-character
vocabulary, through the same sampler (`util.continue_text`).

Usage: python bench/sampling.py [--tutorial_images N]
"""

import argparse

import keras
import numpy as np
from common import machine, seconds
from tutorial_reference import tutorial_sample_image

import util
from rnn_draw.library import folders

GRID = 25


def bench(target_size, levels, tutorial_images):
    keras.utils.set_random_seed(0)
    model = util.create_model(levels, units=256)
    manifest = folders.settings("bench", ["any"], target_size, levels - 1)
    _, first = seconds(util.sample, model, GRID, manifest, seed=0)  # includes tracing the sampler
    _, steady = seconds(util.sample, model, GRID, manifest, seed=1)  # what every later grid costs
    rng = np.random.default_rng(0)
    _, tutorial = seconds(lambda: [tutorial_sample_image(model, target_size, levels, rng) for _ in range(tutorial_images)])
    tutorial_grid = tutorial / tutorial_images * GRID
    setting = f"{target_size}x{target_size}, {levels} levels, GRU(256)"
    print(f"{setting}: project 5x5 grid {first:.3f} s (first call, tracing included), {steady:.3f} s (next call)")
    print(
        f"{setting}: tutorial loop {tutorial:.1f} s for {tutorial_images} image(s), "
        f"scaled to the 25-image grid: {tutorial_grid:.0f} s"
    )
    print(f"{setting}: speed-up {tutorial_grid / steady:.0f}x (next call), {tutorial_grid / first:.0f}x (first call)")
    return tutorial_grid / steady


def bench_text(length=1000):
    """Seconds to write `length` characters after a 31-character prime, first call and next call."""
    keras.utils.set_random_seed(0)
    model = util.create_model(86, units=256)
    prime = np.arange(31) % 86
    _, first = seconds(util.continue_text, model, prime, length, seed=0)
    _, steady = seconds(util.continue_text, model, prime, length, seed=1)
    print(f"text, 86 characters, GRU(256): {length} characters after a prime in {first:.3f} s (first call, tracing "
          f"included), {steady:.3f} s (next call)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tutorial_images", type=int, default=2, help="images the tutorial's loop draws per setting")
    args = parser.parse_args()
    print(machine())
    ratio = bench(10, 7, args.tutorial_images)
    bench(28, 256, 1)
    bench_text()
    print(f"ratio: {ratio:.0f}  (tutorial settings, 5x5 grid, tutorial time / project time after the first call)")


if __name__ == "__main__":
    main()
