"""Shared fixtures: tiny models and data so the whole suite runs in minutes on 2 CPU cores."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import keras  # noqa: E402

import util  # noqa: E402

# Tiny settings: 6x6 images, 4 levels, GRU(16).
SIZE, MAX_INTENSITY, UNITS = 6, 3, 16
LEVELS = MAX_INTENSITY + 1


@pytest.fixture
def tiny_model():
    keras.utils.set_random_seed(0)
    return util.create_model(LEVELS, units=UNITS)


@pytest.fixture
def random_tokens():
    return np.random.default_rng(0).integers(0, LEVELS, size=(12, SIZE * SIZE), dtype=np.uint8)


def run_script(*args, cwd=REPO):
    """Run one of the repository's scripts in a fresh interpreter; returns the CompletedProcess."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def assert_one_line_error(result, *fragments):
    """Exit code 2, no traceback, and a last stderr line naming what went wrong."""
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    last = [line for line in result.stderr.splitlines() if line.strip()][-1]
    assert "error:" in last
    for fragment in fragments:
        assert fragment in last, last


# train_mnist.py flags for models that train in seconds and still tell 0s from 1s.
TINY_TRAINING = ["--data", "mnist-mini", "--target_size", "6", "--max_intensity", "3", "--units", "16",
                 "--epochs", "3", "--batch_size", "16"]


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory):
    """Digit 0 and 1 models trained by train_mnist.py on the shipped subset (read-only for tests)."""
    folder = tmp_path_factory.mktemp("models")
    for digit in ("0", "1"):
        result = run_script("train_mnist.py", "--digit", digit, "--num_images", "400", "--models_dir", folder, *TINY_TRAINING)
        assert result.returncode == 0, result.stderr[-3000:]
    return folder


# Tests that each feed one bad input to a script and expect a one-line error (issue: clear errors).
BAD_INPUT_TESTS = (
    "test_bad_input_gives_one_line", "test_broken_model_files", "test_bad_model_flags", "test_bad_input_is_one_line",
    "test_all_digits_false", "test_unknown_class", "test_keep_out_of_range", "test_generate_for_an_untrained",
)


def pytest_terminal_summary(terminalreporter):
    """Print how many bad inputs were tried and how many got their one-line error."""
    reports = [
        report
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if report.when == "call" and any(name in report.nodeid for name in BAD_INPUT_TESTS)
    ]
    if reports:
        passed = sum(report.passed for report in reports)
        terminalreporter.write_line(f"bad inputs tried: {len(reports)}; one-line error and exit code 2: {passed}")


def pytest_configure(config):
    # Keras 3.15's TensorFlow backend calls np.array(tensor, copy=False); numpy 2 warns each time.
    config.addinivalue_line("filterwarnings", "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
