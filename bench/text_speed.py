"""Characters a second that training reaches for a character model's shapes: a 20-second loop of
`train_on_batch` on random windows after one warm-up step (the compile), on this machine and backend.

Usage: python bench/text_speed.py UNITS BATCH SEQ_LENGTH [LAYERS]
       e.g. python bench/text_speed.py 512 128 128 2    (KERAS_BACKEND=jax to compare backends)
"""

import sys
import time

import numpy as np
from common import machine

import util

VOCABULARY = 66  # tiny Shakespeare's


def main():
    units, batch, length = map(int, sys.argv[1:4])
    layers = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    fitted = util.fitting_model(util.create_model(VOCABULARY, units, "gru", layers, 0.2), length, 2e-3)
    windows = np.random.default_rng(0).integers(0, VOCABULARY, (batch, length, 1)).astype(np.int32)
    labels = np.zeros(batch, np.int32)
    fitted.train_on_batch((windows, labels), labels)
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < 20:
        fitted.train_on_batch((windows, labels), labels)
        steps += 1
    per_step = (time.perf_counter() - start) / steps
    print(f"{layers} x GRU({units}), batch {batch}, windows of {length}: {per_step * 1000:.0f} ms a step, "
          f"{batch * length / per_step:,.0f} characters a second ({machine()})")


if __name__ == "__main__":
    main()
