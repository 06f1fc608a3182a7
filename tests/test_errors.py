"""Every kind of bad input ends as one line: `PROG: error: ...` on stderr, exit code 2, no traceback,
and nothing written, moved or removed. One table, one row per kind of bad input (other spellings of the
same kind, another out-of-range value or another missing path, are tried in that row), each run
in-process (tests/scripted.py), in a scratch folder beside a copy of tiny trained models and a folder of
broken files.

In-process, stderr is what Python writes to sys.stderr: what native code (TensorFlow's C++ core, a
library's C) writes to file descriptor 2 does not show there. So a few rows of the table, a different few
each day, are also run as the user runs them: the script in a fresh interpreter without the suite's
TF_CPP_MIN_LOG_LEVEL, its whole stderr one line (BAD_INPUTS_IN_PROCESSES=all runs every row that way).

Each row carries the `bad_input` marker; `pytest` ends by printing how many rows were tried and how
many got their one-line error, a row that fails in its setup counted as tried and failed
(tests/conftest.py). Runs that need a fresh interpreter for other reasons stay where they are: the quiet
start (tests/test_robustness.py) and Ctrl-C (tests/test_failures.py)."""

import datetime
import os
import random
import subprocess
import sys
import shutil
import struct
import zipfile
import zlib

import numpy as np
import pytest
from conftest import REPO
from scripted import run_in_process

MODELS, FILES = "{models}", "{files}"  # in a row's arguments: a copy of tiny_models_dir, the broken files


def corrupt(how):
    """A row's setup: damage model_0.keras in the models folder in one of several ways."""

    def damage(folder):
        path = folder / "model_0.keras"
        if how == "missing":
            path.unlink()
        elif how == "empty":
            path.write_bytes(b"")
        elif how == "truncated":
            path.write_bytes(path.read_bytes()[:300])
        elif how == "not a model":
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("hello.txt", "a zip, but no model in it")

    return damage


def png_claiming(width, height):
    """A few-byte PNG whose header claims width x height pixels (a decompression bomb's calling card)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def broken_files(folder):
    """Data files broken in different ways, a file where a folder should be, and decompression bombs."""
    folder.mkdir()
    np.savez(folder / "wrong_keys.npz", images=np.zeros((3, 28, 28), np.uint8))
    np.savez(folder / "good.npz", x_train=np.zeros((3, 28, 28), np.uint8), y_train=np.zeros(3, np.uint8),
             x_test=np.zeros((3, 28, 28), np.uint8), y_test=np.zeros(3, np.uint8))
    raw = (folder / "good.npz").read_bytes()
    (folder / "truncated.npz").write_bytes(raw[: len(raw) // 3])
    for split in ("train", "test"):
        (folder / "no_images" / split / "cat").mkdir(parents=True)
        (folder / "unreadable" / split / "cat").mkdir(parents=True)
        (folder / "unreadable" / split / "cat" / "0.png").write_bytes(b"\x89PNG\r\n garbage")
    (folder / "a_file").write_text("not a folder")
    # Beyond Pillow's error limit, and in its warning band.
    for side in (20000, 12000):
        (folder / f"bomb_{side}.png").write_bytes(png_claiming(side, side))


def row(script, args, *fragments, setup=None, note=None, also=()):
    """One kind of bad input, counted once: the script, its arguments, what its error line must contain, an
    optional setup(models_folder) run on the models' copy first, and `also`: other spellings of the same kind
    (argument lists), tried in the same row."""
    name = " ".join([script, *args]) + (f" ({note})" if note else "") + (f" (+{len(also)} other spelling(s))" if also else "")
    return pytest.param(script, [args, *also], fragments, setup, marks=pytest.mark.bad_input, id=name)


BAD_INPUTS = [
    # --- flags out of range or not understood
    row("train_mnist.py", ["--all_digits=False"], "nothing to train"),
    row("train_mnist.py", ["--digit", "10"], "--digit", also=[["--digit", "12"], ["--digit", "11", "--data", "mnist-mini"]]),
    row("train_mnist.py", ["--digit", "3", "--epochs", "0"], "--epochs"),
    row("train_mnist.py", ["--digit", "1", "--num_images", "0"], "--num_images"),
    row("train_mnist.py", ["--digit", "3", "--cell", "tanh"], "--cell"),
    row("train_mnist.py", ["--digit", "3", "--mode", "column"], "--mode"),
    row("train_mnist.py", ["--digit", "3", "--layers", "0"], "--layers"),
    row("train_mnist.py", ["--digit", "3", "--units", "-3"], "--units"),
    row("train_mnist.py", ["--digit", "3", "--dropout", "1.5"], "--dropout"),
    row("train_mnist.py", ["--digit", "3", "--clipnorm", "0"], "--clipnorm"),
    row("train_mnist.py", ["--digit", "3", "--batch_size", "0"], "--batch_size", also=[["--digit", "1", "--batch_size", "-1"]]),
    row("train_mnist.py", ["--digit", "3", "--max_intensity", "300"], "--max_intensity"),
    row("train_mnist.py", ["--recipe", "fastest", "--digit", "3"], "--recipe"),
    row("train_cifar.py", ["--all_classes", "--epochs", "nan"], "--epochs"),
    row("generate.py", ["--digit", "1", "--temperature", "0", "--models_dir", MODELS], "--temperature",
        also=[["--digit", "3", "--temperature", "-1"]]),
    row("generate.py", ["--digit", "1", "--temperature", "inf"], "--temperature"),
    row("generate.py", ["--digit", "1", "--grid_size", "0", "--models_dir", MODELS], "--grid_size"),
    row("generate.py", ["--digit", "1", "--output_size", "-4", "--models_dir", MODELS], "--output_size"),
    row("generate.py", ["--digit", "0", "--complete", "--keep", "36", "--data", "mnist-mini", "--models_dir", MODELS], "--keep"),
    row("classification.py", ["--batch_size", "1e9"], "--batch_size"),
    row("classification.py", ["--num_images", "0", "--models_dir", MODELS], "--num_images"),
    # A NaN learning rate is refused before the model already there could be overwritten.
    row("train_mnist.py", ["--digit", "1", "--data", "mnist-mini", "--num_images", "40", "--epochs", "1",
                           "--learning_rate", "nan", "--models_dir", MODELS], "--learning_rate"),
    # --- classes that do not exist or were not trained
    row("train_cifar.py", ["--label", "12", "--data", "cifar10-mini"], "unknown class"),
    row("train_cifar.py", ["--class_name", "unicorn", "--data", "cifar10-mini"], "unknown class"),
    row("generate.py", ["--class_name", "seven", "--models_dir", MODELS], "unknown class"),
    row("generate.py", ["--digit", "7", "--models_dir", MODELS], "no model for class 7"),
    row("classification.py", ["--models_dir", MODELS, "--data", "mnist-mini"], "no model for class(es) 2"),
    row("classification.py", ["--models_dir", MODELS, "--data", "cifar10-mini"], "classes"),
    # --- models folders: missing, broken, or trained with other settings
    row("generate.py", ["--digit", "3", "--models_dir", "no/such/folder"], "no trained models"),
    row("classification.py", ["--models_dir", "no/such/folder"], "no trained models",
        also=[["--models_dir", f"{FILES}/no/such/models"]]),
    *[row("generate.py", ["--digit", "1", "--models_dir", MODELS], "model_0.keras", setup=corrupt(how), note=f"model_0.keras {how}")
      for how in ("missing", "empty", "truncated", "not a model")],
    row("train_mnist.py", ["--digit", "5", "--models_dir", MODELS, "--data", "mnist-mini", "--epochs", "1"], "target_size=6, not 10"),
    # --- data and pictures: missing, broken, hostile
    row("train_mnist.py", ["--digit", "3", "--data", "no/such/mnist.npz"], "no such file",
        also=[["--digit", "1", "--data", f"{FILES}/nothing_here.npz"]]),
    row("train_mnist.py", ["--digit", "1", "--data", f"{FILES}/wrong_keys.npz"], "missing x_train"),
    row("train_mnist.py", ["--digit", "1", "--data", f"{FILES}/truncated.npz"], "truncated.npz"),
    row("train_cifar.py", ["--all_classes", "--data", f"{FILES}/no_images"], "no images found"),
    row("train_cifar.py", ["--all_classes", "--data", f"{FILES}/unreadable"], "unreadable image"),
    row("generate.py", ["--digit", "1", "--complete", "--image", f"{FILES}/a_file", "--models_dir", MODELS], "unreadable image"),
    *[row("generate.py", ["--digit", "1", "--complete", "--image", f"{FILES}/bomb_{side}.png", "--models_dir", MODELS,
                          "--out", "c.png"], "refusing an image this large") for side in (20000, 12000)],
    # --- a user's own pictures to label (classification.py --inputs): nothing readable, or flags that do not fit
    row("classification.py", ["--inputs", f"{FILES}/unreadable", f"{FILES}/a_file", f"{FILES}/nothing_here.png",
                               "--models_dir", MODELS], "nothing to label", "none readable"),
    row("classification.py", ["--inputs", f"{FILES}/a_file", "--output", "rows.txt", "--models_dir", MODELS], ".csv or .jsonl"),
    row("classification.py", ["--text_file", f"{FILES}/a_file", "--models_dir", MODELS], "holds image models"),
    row("classification.py", ["--inputs", f"{FILES}/a_file", "--acceptance", "0"], "--acceptance",
        also=[["--inputs", f"{FILES}/a_file", "--acceptance", "1.5"]]),
    row("classification.py", ["--acceptance", "0.9"], "goes with --inputs",
        also=[["--output", "rows.csv"]]),
    row("classification.py", ["--calibrate", "--inputs", f"{FILES}/a_file"], "give one of them"),
    row("classification.py", ["--inputs", f"{FILES}/a_file", "--novelty_method", "vibes"], "--novelty_method"),
    # --- the density table's data (binarised MNIST, 28x28) and scoring a folder's density
    row("train_mnist.py", ["--all_digits", "--data", "mnist-binarized", "--max_intensity", "3"], "--max_intensity", "is not that",
        also=[["--all_digits", "--binarize", "stochastic", "--max_intensity=6"], ["--recipe", "binarized-mnist-cpu", "--max_intensity", "2"]]),
    row("train_mnist.py", ["--all_digits", "--data", "mnist-binarized", "--target_size", "14"], "--target_size 14 is not that"),
    row("train_mnist.py", ["--all_digits", "--data", f"{FILES}/no_images", "--binarize", "stochastic"], "--binarize stochastic",
        also=[["--digit", "3", "--data", "mnist-mini", "--binarize", "stochastic"]]),
    row("train_cifar.py", ["--all_classes", "--binarize", "stochastic"], "--binarize stochastic"),
    row("train_mnist.py", ["--digit", "3", "--context", "above", "--mode", "row"], "goes with --mode pixel"),
    row("train_mnist.py", ["--digit", "3", "--context", "diagonal"], "--context"),
    row("classification.py", ["--density", "--models_dir", str(REPO / "trained/gan_mnist_conditional")], "has no likelihood"),
    row("classification.py", ["--density", "--models_dir", MODELS, MODELS], "takes one --models_dir"),
    row("classification.py", ["--density", "--inputs", f"{FILES}/a_file"], "give one of them"),
    # --- outputs that cannot be written
    row("train_mnist.py", ["--digit", "1", "--data", "mnist-mini", "--epochs", "1", "--models_dir", f"{FILES}/a_file/models"],
        "cannot write"),
    row("generate.py", ["--digit", "1", "--models_dir", MODELS, "--out", f"{FILES}/a_file/grid.png"], "cannot write"),
    # --- requests too large for the machine, refused before any work
    row("generate.py", ["--digit", "1", "--grid_size", "1000", "--output_size", "4096", "--models_dir", MODELS],
        "picture would need about", "available"),
    row("train_mnist.py", ["--digit", "1", "--units", "65536", "--models_dir", "m", "--data", "mnist-mini", "--num_images", "5"],
        "GRU(65536)", "would need about"),
]


def contents(folder):
    """Every file and folder under `folder`: relative path -> bytes (None for a folder)."""
    return {str(path.relative_to(folder)): None if path.is_dir() else path.read_bytes() for path in folder.rglob("*")}


def scratch(spellings, setup, tmp_path, request):
    """The row's scratch folder (broken files, a working folder and, if its arguments name it, a copy of the tiny
    models, `setup` applied): (each spelling's arguments with the folders filled in, the working folder)."""
    files, models, cwd = tmp_path / "files", tmp_path / "models", tmp_path / "cwd"
    broken_files(files)
    cwd.mkdir()
    if any(MODELS in " ".join(args) for args in spellings):
        shutil.copytree(request.getfixturevalue("tiny_models_dir"), models)
        if setup:
            setup(models)
    return [[arg.replace(MODELS, str(models)).replace(FILES, str(files)) for arg in args] for args in spellings], cwd


def assert_one_line_error(script, fragments, code, out, err):
    assert code == 2, (code, out[-2000:], err[-2000:])
    assert "Traceback" not in out, out[-2000:]
    assert len(err.splitlines()) == 1 and err.strip(), err[-2000:]
    line = err.splitlines()[0]
    assert line.startswith(f"{script}: error: "), line
    for fragment in fragments:
        assert fragment in line, line


@pytest.mark.parametrize("script, spellings, fragments, setup", BAD_INPUTS)
def test_bad_input_is_one_line_on_stderr_and_exit_code_2(script, spellings, fragments, setup, tmp_path, request):
    spellings, cwd = scratch(spellings, setup, tmp_path, request)
    for args in spellings:
        before = contents(tmp_path)
        assert_one_line_error(script, fragments, *run_in_process(script, args, cwd))
        assert contents(tmp_path) == before, args  # nothing written, moved or removed


def rows_run_in_processes(count=3):
    """`count` rows of the table, another few each day, or every row with BAD_INPUTS_IN_PROCESSES=all."""
    rows = list(BAD_INPUTS)
    if os.environ.get("BAD_INPUTS_IN_PROCESSES") != "all":
        rows = random.Random(datetime.date.today().toordinal()).sample(rows, count)
    return [pytest.param(*row.values, id=row.id) for row in rows]  # not marked bad_input: counted once, above


@pytest.mark.parametrize("script, spellings, fragments, setup", rows_run_in_processes())
def test_bad_input_run_as_the_user_runs_it_is_one_line_on_the_processs_stderr(script, spellings, fragments, setup,
                                                                             tmp_path, request):
    """The row's first spelling in a fresh interpreter with the user's environment: stderr as a terminal shows
    it, whatever wrote it, Python or native code."""
    (args, *_), cwd = scratch(spellings, setup, tmp_path, request)
    env = {key: value for key, value in os.environ.items() if key not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")}
    before = contents(tmp_path)
    result = subprocess.run([sys.executable, str(REPO / script), *args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=300)
    assert_one_line_error(script, fragments, result.returncode, result.stdout, result.stderr)
    assert contents(tmp_path) == before  # nothing written, moved or removed
