"""Shared fixtures: tiny models and data so the whole suite runs in minutes on 2 CPU cores."""

import os
import random
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


# train_text.py flags for character models that train in seconds.
TINY_TEXT_TRAINING = ["--units", "16", "--epochs", "2", "--seq_length", "32", "--batch_size", "16", "--early_stopping", "5"]


def two_languages(folder):
    """Two synthetic "languages" a model must tell apart: words of a, b (and spaces) or of x, y, z."""
    rng = random.Random(0)

    def words(letters, count):
        return " ".join("".join(rng.choice(letters) for _ in range(rng.randint(2, 6))) for _ in range(count))

    for split in ("train", "test"):
        (folder / split).mkdir(parents=True)
    (folder / "train" / "ab.txt").write_text(words("ab", 3000))
    (folder / "train" / "xyz.txt").write_text(words("xyz", 3000))
    (folder / "test" / "ab.txt").write_text("\n%\n".join(words("ab", 14) for _ in range(20)))
    (folder / "test" / "xyz.txt").write_text("\n%\n".join(words("xyz", 14) for _ in range(20)))
    return folder


@pytest.fixture(scope="session")
def languages(tmp_path_factory):
    """(data folder, models folder) of two tiny character models trained by train_text.py (read-only for tests)."""
    data = two_languages(tmp_path_factory.mktemp("data"))
    models = tmp_path_factory.mktemp("models") / "languages"
    result = run_script("train_text.py", "--data", data, "--all_classes", "--models_dir", models, *TINY_TEXT_TRAINING)
    assert result.returncode == 0, result.stderr[-2000:]
    return data, models


def pytest_terminal_summary(terminalreporter):
    """Print how many bad inputs (tests marked `bad_input`, one per kind) were tried and how many got their
    one-line error. A row counts once, whatever phase ended it: one that errors in its setup (a fixture that
    failed) or teardown is tried and not passed, not left out; a skipped one is named as skipped."""
    rows = {}  # node id -> its reports: setup, call, teardown (passed setups and teardowns are filed under "")
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) and "bad_input" in getattr(report, "keywords", {}):
                rows.setdefault(report.nodeid, []).append(report)
    if rows:
        skipped = sum(any(report.skipped for report in reports) for reports in rows.values())
        passed = sum(all(report.passed for report in reports) and any(report.when == "call" for report in reports)
                     for reports in rows.values())
        line = f"bad inputs tried: {len(rows) - skipped}; one-line error and exit code 2: {passed}"
        terminalreporter.write_line(line + (f"; skipped: {skipped}" if skipped else ""))


def pytest_configure(config):
    # Keras 3.15's TensorFlow backend calls np.array(tensor, copy=False); numpy 2 warns each time.
    config.addinivalue_line("filterwarnings", "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
    # Keras 3.15 on PyTorch traces hybrid training's unbuilt ClassLogLikelihoods on placeholder tensors
    # first; its tokens reach the one-hot uninitialised (any integer), that fails, Keras warns, and the
    # real call then builds the model (the PyTorch run's results are unaffected).
    config.addinivalue_line("filterwarnings", "ignore:Layer 'class_log_likelihoods[_0-9]*' looks like it has unbuilt state:UserWarning")
    config.addinivalue_line("markers", "backend: depends on the Keras backend; `make test` runs it under JAX and PyTorch too")
    # Each row of tests/test_errors.py's table of bad inputs carries this marker; the summary counts them.
    config.addinivalue_line("markers", "bad_input: one bad input fed to a script; counted at the end of the run")


# --- the backend-sensitive tests, run again under JAX and PyTorch ---------------------------------
# `make test` runs the whole suite on the default backend (TensorFlow), then `pytest -m backend` with
# KERAS_BACKEND=jax and again with KERAS_BACKEND=torch: the tests whose outcome depends on the
# backend's numerics, compilation or saving, chosen to run in two to three minutes on 2 CPU cores
# per backend. Module -> its marked tests (None: all of them). Scripts a test starts inherit
# KERAS_BACKEND, so they run under that backend too.
BACKEND_SENSITIVE = {
    "test_model": None,  # network output, training, the sampler, log-likelihoods, classification
    "test_variants": None,  # the sampler against one forward pass for every cell, mode, colour, class
    "test_hybrid": None,  # the Bayes posterior's scores and gradient; a resumed hybrid run
    "test_scaling": {  # data-parallel training on two CPU devices equals one (PyTorch: refused); bfloat16
        "test_data_parallel_training_on_two_cpu_devices_matches_one_device",
        "test_data_parallel_training_is_refused_on_pytorch",
        "test_mixed_precision_trains_bfloat16_cells_under_a_float32_softmax",
    },
    "test_failures": {  # .keras saving and loading; a checkpoint with the optimizer's state resumes
        "test_a_crash_mid_save_leaves_the_previous_model_loadable",
        "test_resume_continues_from_the_checkpoint_to_the_requested_epochs",
    },
    "test_robustness": {  # NaN weights stop training unsaved; sampling in chunks
        "test_training_that_diverges_saves_nothing_and_says_what_to_try",
        "test_sampling_in_chunks_draws_what_one_call_would",
    },
    "test_tutorial": {  # the shipped models, saved on TensorFlow, load and score as the one-hot path does
        "test_shipped_models_load_pass_the_checks_and_carry_their_record",
        "test_the_shipped_models_scores_are_those_of_the_one_hot_path",
    },
    "test_density": {  # contexts read inside the compiled call and carried by the sampler; a saved Context layer
        "test_each_step_reads_only_earlier_steps",
        "test_sampler_and_scorer_agree_for_every_context",
        "test_a_saved_model_remembers_its_context",
    },
    "test_preprocess": {  # the shift and one-hot made inside the compiled call
        "test_network_inputs_made_in_the_compiled_call_are_the_one_hot_shift",
    },
    "test_text": {  # characters through the same sampler and likelihood, padded texts included
        "test_the_sampler_continues_a_prime_as_the_full_forward_pass_would",
        "test_padded_texts_score_as_their_own_sum_of_logs",
    },
}
# Left out of the modules marked whole: their script runs of the command line (the computations above
# at a fresh interpreter's cost).
LEFT_OUT = {"test_hybrid_training_from_the_command_line", "test_fine_tuning_starts_from_the_given_folders_weights"}
# Not marked: tests/test_multihost.py picks each case's backend itself (KERAS_BACKEND=tensorflow, then
# jax) whatever the suite runs on, so the first run already trains its two-process job on JAX.


def pytest_collection_modifyitems(config, items):
    modules, marked = set(), set()
    for item in items:
        module = getattr(getattr(item, "module", None), "__name__", "")
        name = getattr(item, "originalname", item.name)
        modules.add(module)
        tests = BACKEND_SENSITIVE.get(module, ())
        if (tests is None or name in tests) and name not in LEFT_OUT:
            item.add_marker(pytest.mark.backend)
            marked.add(name)
    # In the JAX and PyTorch runs, a test renamed or removed would silently drop out of them: name it instead.
    if config.getoption("markexpr") == "backend":
        missing = [name for module, tests in BACKEND_SENSITIVE.items() if tests and module in modules
                   for name in sorted(tests) if name not in marked]
        if missing:
            raise pytest.UsageError(f"tests/conftest.py: BACKEND_SENSITIVE names tests that were not collected: {', '.join(missing)}")
