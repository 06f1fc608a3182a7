"""Quiet start: importing Keras and its backend without the notices they print on the way in."""

import contextlib
import logging
import os
import sys
import tempfile

# TensorFlow's C++ logging: errors only. Read when TensorFlow loads, so set before any import of it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def backend_import():
    """Run an import with file descriptors 1 and 2 sent to a scratch file.

    Since TensorFlow 2.20 its C++ core prints notices ("All log messages before
    absl::InitializeLog()...", "oneDNN custom operations are on...", CPU feature hints) before it
    reads TF_CPP_MIN_LOG_LEVEL, straight to the file descriptors, where Python cannot filter them.
    Whatever the backend printed is replayed if the import fails, so a broken install still explains
    itself; otherwise it is dropped.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as scratch:
        os.dup2(scratch.fileno(), 1)
        os.dup2(scratch.fileno(), 2)
        try:
            yield
        except BaseException:
            _restore(saved)
            scratch.seek(0)
            sys.stderr.write(scratch.read().decode(errors="replace"))
            raise
        _restore(saved)


def tensorflow_too(backend):
    """Import TensorFlow now, if it is installed and Keras runs on another backend: Keras imports it
    later anyway, for its data pipelines during training, and its notices would then reach the
    terminal. Call inside `backend_import()`."""
    import importlib.util

    if backend != "tensorflow" and importlib.util.find_spec("tensorflow"):
        import tensorflow  # noqa: F401


def _restore(saved):
    sys.stdout.flush()
    sys.stderr.flush()
    for fd, copy in zip((1, 2), saved):
        os.dup2(copy, fd)
        os.close(copy)
    saved.clear()


def quiet_loggers():
    """Python-side chatter of the backends: TensorFlow's retracing warnings (ten class models trace
    ten predict functions; it warns after five) and JAX's note when it falls back to the CPU."""
    for name in ("tensorflow", "absl", "jax._src.xla_bridge"):
        logging.getLogger(name).setLevel(logging.ERROR)
