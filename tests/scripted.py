"""Running a script's main() inside the test's interpreter, as its `__main__` block would.

A fresh interpreter per run costs seconds of importing Keras; tests take one only where a fresh
interpreter is the point (a quiet start, signals) and run the rest here."""

import contextlib
import importlib
import io
import sys

import keras

from rnn_draw.commands import cli


def run_in_process(script, args, cwd):
    """(exit code, stdout, stderr) of `script`'s main() run here, in the folder `cwd`, as its __main__ block runs it."""
    module = importlib.import_module(script.removesuffix(".py"))
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = [script, *map(str, args)]
    try:
        with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli.run_cli(module.main)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    finally:
        sys.argv = argv
        keras.mixed_precision.set_global_policy("float32")  # --mixed_precision sets it process-wide
    return code, out.getvalue(), err.getvalue()


def lines(text):
    """The non-blank lines of `text`."""
    return [line for line in text.splitlines() if line.strip()]
