"""The parts of the library that are not the tutorial's story: data loading, picture writing, the
command-line plumbing, memory checks, quiet imports, judging samples, ensembles, hybrid training,
data parallelism and several processes training one model. `util` re-exports what readers need.

This package sits below `util` and never imports it. `cli` imports no Keras, so the scripts can
check their flags before the seconds a backend takes to load.
"""

import json
from pathlib import Path


class UserError(Exception):
    """A problem with the user's input or files: the scripts print it as one line and exit 2."""

    def __init__(self, message):
        super().__init__(" ".join(str(message).split()))  # one line, whatever a library's error said


def atomic_write(path, write):
    """Call write(tmp_path) on a temporary file beside `path`, then rename it over `path`.

    A crash or Ctrl-C mid-write leaves the previous file intact, never a half-written one.
    """
    import os
    import tempfile

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    except OSError as error:
        raise UserError(f"{path.parent}: cannot write here ({error.strerror})") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; outputs should not be
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_json(path):
    """A JSON file as a dict, or {} when it does not exist."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: unreadable JSON ({error})") from None


def write_json(path, data):
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1) + "\n"))
