"""Memory a request needs, reckoned before the work starts: what cannot fit is refused in one line,
and big work is cut into chunks that fit a fixed budget."""

import os
import resource

import config
from rnn_draw.library import UserError

CHUNK_BYTES = 256 * 2**20  # what one sampling or scoring call may hold in its outputs
USABLE_SHARE = 0.8  # of the memory available, what one request may plan to take


def available_bytes():
    """Memory this process can still take: the least of the free RAM (MemAvailable), the cgroup's
    limit and the address-space limit (`ulimit -v`), whichever of them this system reports."""
    limits = [_free_ram(), _cgroup_room(), _address_space_room()]
    known = [limit for limit in limits if limit is not None]
    return max(0, min(known)) if known else float("inf")


def _free_ram():
    try:
        with open("/proc/meminfo") as meminfo:
            return next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            return None  # a system that reports neither (macOS): no check


def _cgroup_room():
    try:
        with open("/sys/fs/cgroup/memory.max") as limit, open("/sys/fs/cgroup/memory.current") as used:
            text = limit.read().strip()
            return None if text == "max" else int(text) - int(used.read())
    except (OSError, ValueError):
        return None


def _address_space_room():
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/statm") as statm:
            return soft - int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return soft


def readable(nbytes):
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if nbytes >= size:
            return f"{nbytes / size:,.1f} {unit}"
    return f"{nbytes / 1e3:,.1f} KB"


def require(nbytes, what):
    """Raise a one-line UserError if `what` needs more than this machine can give it."""
    available = available_bytes()
    if nbytes > USABLE_SHARE * available:
        raise UserError(f"{what} would need about {readable(nbytes)} of memory; this machine has "
                        f"{readable(available)} available. Ask for less.")


def per_call(bytes_per_item, wanted):
    """How many items of `bytes_per_item` one call may handle within CHUNK_BYTES (at least 1)."""
    return max(1, min(wanted, CHUNK_BYTES // max(1, bytes_per_item)))


def sampling_bytes(num_images, steps, width, levels_kept=0):
    """Host memory (bytes) for drawing `num_images` sequences of `steps` x `width` sub-pixels: their
    tokens and uniforms, and with `levels_kept` the distribution each sub-pixel came from (float32)."""
    return num_images * steps * width * (2 + 4 * levels_kept)


def completion_bytes(num_sequences, steps, width):
    """Host memory (bytes) for completing: the prefixes repeated, the tokens drawn and the images made."""
    return num_sequences * steps * width * 3


def sampled_per_call(steps, width, levels, state_floats, wanted):
    """Sequences one compiled sampling call may draw: what its scan keeps per sequence and step, float32
    (its carry: a one-hot and a distribution per sub-pixel, the cells' `state_floats`), once as output
    and once in flight."""
    return per_call(2 * 4 * steps * (2 * width * levels + width + state_floats), wanted)


def scored_per_call(sub_pixels, width, levels, units, wanted):
    """Sequences of `sub_pixels` one compiled scoring call may take: float32 on the device, per
    sequence, the one-hot inputs and the logits, and the cells' outputs (`units` over all layers)."""
    return per_call(4 * sub_pixels * (3 * levels + 2 * units // width), wanted)


def training_bytes(cell, units, num_layers, input_width, output_width, batch_size, steps):
    """A rough upper estimate of training memory (bytes, float32): weights, gradients and Adam's two
    moments, plus what backpropagation keeps per step (gate activations, inputs, outputs)."""
    gates = config.CELLS[cell]["gates"]
    params = (output_width * (units + 1)
              + sum(gates * ((input_width if layer == 0 else units) + units + 2) * units for layer in range(num_layers)))
    kept_per_step = num_layers * units * (gates + 2) + input_width + 3 * output_width
    return 4 * (4 * params + batch_size * steps * kept_per_step)

