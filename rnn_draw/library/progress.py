"""How long work says how far it is: Keras's verbosity for the terminal or a log, and progress lines
for work done in chunks."""

import sys
import time

PROGRESS_SECONDS = 10  # long work says how far it is at most this often


def verbosity():
    """Keras's `verbose`: live bars in a terminal, one line per epoch (or chunk) in a log file or a pipe."""
    return 1 if sys.stdout.isatty() else 2


def chunks(total, size, what, verbose=0):
    """Start indices of `total` items in chunks of `size`. With `verbose`, work that takes several
    chunks says how far it is, a line at most every PROGRESS_SECONDS (a log gets lines, not a bar)."""
    last = time.monotonic()
    for start in range(0, total, size):
        yield start
        done = min(start + size, total)
        if verbose and size < total and (time.monotonic() - last >= PROGRESS_SECONDS or done == total):
            print(f"{what}: {done}/{total}", flush=True)
            last = time.monotonic()
