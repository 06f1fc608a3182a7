"""One line means one line: quiet start, flag ranges, no broken model ever saved, faults of the
machine as one line, safe Keras floor, and a fuzzer over whole command lines. The table of bad
inputs, each a one-line error, is tests/test_errors.py."""

import contextlib
import errno
import io
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import REPO, TINY_TRAINING
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scripted import lines, run_in_process

import config
import util
from rnn_draw.library import UserError, datasets, folders, saving, sizes
from rnn_draw.commands import cli, trained, training


def run_bare(*args):
    """A script in a fresh interpreter with the user's environment: no TF_CPP_MIN_LOG_LEVEL of ours."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")}
    return subprocess.run([sys.executable, *map(str, args)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


# --- quiet start and one-line answers, as a user sees them ---------------------------------------

BAD_FLAG_OF_EACH_SCRIPT = [
    ("train_mnist.py", ["--digit", "11", "--data", "mnist-mini"], "--digit"),
    ("train_cifar.py", ["--all_classes", "--epochs", "nan"], "--epochs"),
    ("generate.py", ["--digit", "1", "--temperature", "inf"], "--temperature"),
    ("classification.py", ["--batch_size", "1e9"], "--batch_size"),
]


@pytest.mark.parametrize("script, args, flag", BAD_FLAG_OF_EACH_SCRIPT, ids=[s for s, _, _ in BAD_FLAG_OF_EACH_SCRIPT])
def test_a_bad_flag_is_exactly_one_line_on_stderr_and_nothing_on_stdout(script, args, flag):
    result = run_bare(script, *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(lines(result.stderr)) == 1 and flag in result.stderr, result.stderr


def test_a_successful_run_prints_only_its_own_lines(tiny_models_dir, tmp_path):
    result = run_bare("generate.py", "--digit", "1", "--models_dir", tiny_models_dir, "--out", tmp_path / "g.png")
    assert result.returncode == 0 and result.stderr == "", result.stderr  # no backend notices on the way in
    assert lines(result.stdout) == [f"wrote {tmp_path / 'g.png'}"]


@pytest.mark.parametrize("flag", ["--learning_rate", "--clipnorm", "--dropout", "--validation_split"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "-0.5", "1e9"])
def test_float_flags_refuse_nan_inf_and_out_of_range(flag, value):
    parser = cli.ArgumentParser()
    cli.add_model_flags(parser, {"epochs": 1, "batch_size": 1, "data": "x", "models_dir": "m", "target_size": 1,
                                 "max_intensity": 1})
    with contextlib.redirect_stderr(io.StringIO()) as err, pytest.raises(SystemExit):
        parser.parse_args([f"{flag}={value}"])  # "=": argparse would read "-inf" as a flag
    assert flag in err.getvalue() and "must be a number in" in err.getvalue()


def test_each_range_error_names_the_range():
    parse = cli.number(int, 1, 1000)
    with pytest.raises(Exception, match="from 1 to 1000"):
        parse("1001")
    assert parse("1000") == 1000 and cli.number(float, 0, 1, high_open=True)("0") == 0


# --- never save a broken model -------------------------------------------------------------------


@pytest.fixture
def folder_with_a_good_model(tmp_path):
    folder = tmp_path / "models"
    code, _, err = run_in_process("train_mnist.py", ["--digit", "3", "--num_images", "40", "--epochs", "1",
                                                     "--models_dir", folder, *TINY_TRAINING[:-4]], tmp_path)
    assert code == 0, err
    return folder


def test_training_that_diverges_saves_nothing_and_says_what_to_try(folder_with_a_good_model):
    before = {p.name: p.read_bytes() for p in folder_with_a_good_model.iterdir()}
    mini = datasets.load_dataset("mnist-mini")
    setup = folders.settings("mnist", datasets.MNIST_CLASS_NAMES, target_size=6, max_intensity=3, units=16)
    with pytest.raises(UserError, match="diverged.*smaller --learning_rate") as error:
        # A step this large overflows float32 in a few updates: weights and loss become inf and NaN.
        training.train_classes(mini.x_train[:400], mini.y_train[:400], [3], folder_with_a_good_model, setup,
                           learning_rate=3e38, epochs=3, batch_size=8, verbose=0)
    assert "model_3.keras was left as it was" in str(error.value)
    assert {p.name: p.read_bytes() for p in folder_with_a_good_model.iterdir()} == before


def test_a_full_disk_while_saving_is_one_line_and_the_previous_model_stays(folder_with_a_good_model, tmp_path, monkeypatch):
    before = (folder_with_a_good_model / "model_3.keras").read_bytes()

    def disk_full(self, path, *args, **kwargs):
        with open(path, "wb") as file:
            file.write(b"PK\x03\x04 a few bytes")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(keras.Model, "save", disk_full)
    code, out, err = run_in_process("train_mnist.py", ["--digit", "3", "--num_images", "40", "--epochs", "1",
                                                       "--models_dir", folder_with_a_good_model, *TINY_TRAINING[:-4]], tmp_path)
    assert code == 1 and len(lines(err)) == 1 and "the disk is full" in err, err
    assert (folder_with_a_good_model / "model_3.keras").read_bytes() == before
    assert not list(folder_with_a_good_model.glob(".model_3*"))  # no temporary file left


def test_a_bug_is_one_line_and_the_debug_variable_shows_its_traceback(monkeypatch, capsys):
    def buggy():
        raise ZeroDivisionError("division by zero")

    for debug, traceback_shown in (("", False), ("1", True)):
        monkeypatch.setenv(cli.DEBUG_VARIABLE, debug)
        with pytest.raises(SystemExit) as stop:
            cli.run_cli(buggy)
        err = capsys.readouterr().err
        assert stop.value.code == 1 and lines(err)[-1].endswith("please report it)")
        assert ("Traceback" in err) == traceback_shown


@pytest.mark.parametrize("error, code, fragment", [
    (MemoryError(), 1, "out of memory"),
    (type("ResourceExhaustedError", (Exception,), {})("OOM when allocating tensor"), 1, "out of memory"),
    (RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate"), 1, "out of memory"),
    (OSError(errno.EROFS, "Read-only file system", "trained/x"), 1, "read-only"),
    (UserError("bad\ninput"), 2, "bad input"),
])
def test_faults_of_the_machine_are_described_in_one_line(error, code, fragment):
    described = cli.describe_fault(error)
    assert described[0] == code and fragment in described[1] and "\n" not in described[1]


# --- sampling in chunks, and the Keras floor -----------------------------------------------------


def test_sampling_in_chunks_draws_what_one_call_would(tiny_model, monkeypatch):
    whole = util.sample_tokens(tiny_model, 7, 36, seed=5)
    monkeypatch.setattr(sizes, "CHUNK_BYTES", 1)  # one image per call
    assert np.array_equal(util.sample_tokens(tiny_model, 7, 36, seed=5), whole)


def test_loading_under_a_keras_older_than_the_floor_is_refused(tiny_models_dir, monkeypatch):
    monkeypatch.setattr(keras, "__version__", "3.13.2")
    with pytest.raises(UserError, match="Keras 3.13.2 is installed; loading models needs Keras 3.14.0"):
        trained.load_models(tiny_models_dir)


def test_requirements_ask_for_the_safe_keras_floor():
    requirement = next(line for line in (REPO / "requirements.txt").read_text().splitlines() if line.startswith("keras"))
    assert f">={config.KERAS_FLOOR}" in requirement.replace(" ", "")


# --- the fuzzer: whole command lines, valid and hostile values mixed -----------------------------

HOSTILE = ["nan", "inf", "-inf", "0", "-1", "1e400", "99999999999999999999", "", "ünïcødé", "3.5", "0x10"]
HOSTILE_PATHS = ["", "ünïcødé/nowhere", "no\nsuch", "data", "."]  # relative: runs happen in a scratch folder


def cheap_training_flags(classes):
    """Flag -> strategy of valid values that keep a run to seconds."""
    return {
        "--num_images": st.integers(1, 30), "--epochs": st.integers(1, 2), "--batch_size": st.integers(1, 64),
        "--target_size": st.integers(1, 6), "--max_intensity": st.integers(1, 255), "--units": st.integers(1, 12),
        "--layers": st.integers(1, 2), "--dropout": st.floats(0, 0.9), "--clipnorm": st.floats(1e-3, 1e3),
        "--learning_rate": st.floats(1e-5, 10), "--validation_split": st.floats(0, 0.9), "--seed": st.integers(0, 2**32 - 1),
        "--cell": st.sampled_from(sorted(config.CELLS)), "--mode": st.sampled_from(["pixel", "row"]),
        "--early_stopping": st.integers(1, 3), "--discriminative_weight": st.floats(0, 2), "--binarize": None,
        "--mixed_precision": None,
        "--conditional": None, "--unconditional": None, "--grayscale": None, "--resume": None,
        **classes,
    }


FLAGS = {
    "train_mnist.py": cheap_training_flags({"--digit": st.integers(0, 9), "--all_digits": st.just("False")}),
    "train_cifar.py": cheap_training_flags({"--class_name": st.sampled_from(["cat", "ship", "unicorn"]),
                                            "--label": st.integers(0, 11), "--all_classes": st.just("False")}),
    "generate.py": {
        "--digit": st.integers(0, 11), "--all_digits": None, "--grid_size": st.integers(1, 4),
        "--output_size": st.integers(1, 12), "--temperature": st.floats(0.01, 100), "--seed": st.integers(0, 2**32 - 1),
        "--gif": None, "--complete": None, "--keep": st.integers(0, 40), "--num_images": st.integers(1, 2),
        "--completions": st.integers(1, 3), "--data": st.sampled_from(["mnist-mini", "cifar10-mini"]),
        "--evaluate": None, "--num_samples": st.integers(1, 20), "--temperatures": st.sampled_from(["1", "0.5,2"]),
    },
    "classification.py": {
        "--num_images": st.integers(1, 300), "--batch_size": st.integers(1, 4096), "--uniform_priors": None, "--data": st.sampled_from(["mnist-mini", "cifar10-mini"]),
    },
}
PATH_FLAGS = {"train_mnist.py": ["--models_dir", "--data"], "train_cifar.py": ["--models_dir", "--data"],
              "generate.py": ["--models_dir", "--data", "--out", "--image"],
              "classification.py": ["--models_dir", "--data", "--report"]}
# Flags every run starts with, so that most drawn lines do real work on tiny data; drawn flags come
# after them and win.
BASE = {"train_mnist.py": ["--digit", "1", "--data", "mnist-mini"], "train_cifar.py": ["--class_name", "ship", "--data", "cifar10-mini"],
        "generate.py": ["--digit", "1"], "classification.py": ["--data", "mnist-mini", "--only_trained_classes"]}
TINY_RUN = ["--target_size", "4", "--units", "4", "--epochs", "1", "--num_images", "12"]


@st.composite
def command_lines(draw, script):
    """A command line: up to five of the script's flags, a quarter of them with a hostile value."""
    domain = FLAGS[script]
    args = []
    for flag in draw(st.lists(st.sampled_from(sorted(domain) + PATH_FLAGS[script]), max_size=5, unique=True)):
        hostile = draw(st.integers(0, 3)) == 0
        if flag in PATH_FLAGS[script]:
            args += [flag, draw(st.sampled_from(HOSTILE_PATHS))]
        elif hostile:
            args += [flag, draw(st.sampled_from(HOSTILE))]
        elif domain[flag] is None:
            args += [flag]  # a switch
        else:
            args += [flag, str(draw(domain[flag]))]
    return args


@pytest.fixture(scope="module")
def fuzz_models(tiny_models_dir, tmp_path_factory):
    return shutil.copytree(tiny_models_dir, tmp_path_factory.mktemp("fuzz") / "models")


def check_outcome(code, out, err, folder):
    assert "Traceback" not in err and "internal error" not in err, err
    if code != 0:
        assert len(lines(err)) == 1, err
        assert code in (1, 2)
    for path in folder.rglob("*.keras"):
        assert saving.all_finite(saving.load_model(path).get_weights()), path


@pytest.mark.parametrize("script, examples", [("train_mnist.py", 20), ("train_cifar.py", 8), ("generate.py", 30),
                                              ("classification.py", 15)])
def test_fuzzed_command_lines_end_cleanly(script, examples, fuzz_models, tmp_path_factory):
    training = script.startswith("train")

    @settings(max_examples=examples, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(args=command_lines(script))
    def one(args):
        scratch = tmp_path_factory.mktemp("run")
        models = scratch / "models" if training else fuzz_models
        base = ["--models_dir", models, *BASE[script], *(TINY_RUN if training else [])]
        code, out, err = run_in_process(script, [*base, *args], scratch)
        outcomes.append(code)
        check_outcome(code, out, err, scratch)

    outcomes = []
    one()
    assert 0 in outcomes and {1, 2} & set(outcomes)  # both real work and refusals were tried

