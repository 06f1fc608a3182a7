"""The library below `util`: data sets and texts, batch order, models-folder bookkeeping, JSON
shapes, Keras files and checkpoints, reports, pictures, sample judging and the Fréchet distance, the
DCGAN, ensembles, data parallelism, memory checks. What every module shares is here: the one-line
`UserError` and atomic JSON files.

It imports neither `util` nor `rnn_draw.commands` (the layers above it); `util` imports what the
story needs from here and re-exports nothing.
"""

import json
from pathlib import Path


class UserError(Exception):
    """A problem with the user's input or files: the scripts print it as one line and exit 2."""

    def __init__(self, message):
        super().__init__(" ".join(str(message).split()))  # one line, whatever a library's error said


def atomic_write(path, write):
    """Call write(tmp_path) on a temporary file beside `path`, then rename it over `path`.

    A crash or Ctrl-C mid-write leaves the previous file intact, never a half-written one, and no
    temporary file is left behind. A folder or temporary file that cannot be made is a UserError
    naming `path`; an OSError while writing or renaming (a full disk, a name too long) goes on with
    `path` as its filename, so the top level names it.
    """
    import contextlib
    import errno
    import os
    import tempfile

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A short temporary name: a long one would refuse a file name near the file system's limit.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:32]}.", suffix=path.suffix[:16])
    except OSError as error:
        reason = ("a part of the path is a file, not a folder" if error.errno in (errno.EEXIST, errno.ENOTDIR)
                  else (error.strerror or str(error)).lower())
        raise UserError(f"cannot write {path}: {reason}") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; outputs should not be
        os.replace(tmp, path)
    except OSError as error:
        if error.filename in (None, tmp, os.fsencode(tmp), Path(tmp)):
            error.filename, error.filename2 = str(path), None  # the user's name, not the temporary one
        raise
    finally:
        with contextlib.suppress(OSError):  # never hide the error that got us here
            if os.path.lexists(tmp):
                os.remove(tmp)


def read_json(path):
    """A JSON file as it was written, or {} when it does not exist. Its shape is the caller's to
    check (shapes.checked)."""
    path = Path(path)
    try:
        if not path.is_file():
            return {}
        return json.loads(path.read_text())
    except OSError as error:
        raise UserError(f"{path}: cannot read it ({(error.strerror or str(error)).lower()})") from None
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, nested too deep
        raise UserError(f"{path}: unreadable JSON ({error})") from None


def write_json(path, data):
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1) + "\n"))
