"""Helpers the benchmark scripts share: importing the project from bench/, timing, memory."""

import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def seconds(function, *args, **kwargs):
    """(result, wall-clock seconds) of one call."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def peak_rss_mb():
    """Peak resident memory of this process so far, in MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine():
    import keras

    return f"{os.cpu_count()} CPU cores, Keras {keras.__version__}, backend {keras.backend.backend()}"


def versions(names, missing=None):
    """"name version, ..." of the installed distributions among `names`; one not installed is left out,
    or given as "name `missing`" when `missing` is set."""
    from importlib import metadata

    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            if missing:
                found.append(f"{name} {missing}")
    return ", ".join(found)


def hardware():
    """The CPU's name, cores, memory and the load average when the run ended."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    memory = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    return f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GB, CPU only ({machine()}); load average {os.getloadavg()[0]:.1f} at the end"


def software():
    return f"Python {sys.version.split()[0]}, " + versions(
        ("tensorflow", "tensorflow-cpu", "jax", "torch", "keras", "numpy", "scikit-learn"))
