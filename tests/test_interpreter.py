"""Faults of the user's setup, told in one line (exit 2) that says what to do: a Python too old, a Python
without the project's packages, a checkpoint cut short, a reader that stops reading our output."""

import glob
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, TINY_TRAINING, assert_one_line_error, run_script

# Older CPython installations this machine may have (pyenv's, the system's); none is needed to pass.
OLD_PYTHONS = sorted({path for pattern in ("/root/.pyenv/versions/3.*/bin/python3", "/usr/bin/python3.[0-9]")
                      for path in glob.glob(pattern)
                      if subprocess.run([path, "-c", "import sys; sys.exit(sys.version_info >= (3, 11))"],
                                        capture_output=True).returncode == 0})


def only_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def run_as_if(version, script, *args):
    """Run a script in this interpreter told that it is Python `version`: the check sees what an older one would."""
    code = (f"import runpy, sys; sys.version_info = {tuple(version) + ('final', 0)!r}; sys.argv = {[script, *args]!r}; "
            f"runpy.run_path({script!r}, run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("script", ["train_mnist.py", "generate.py", "classification.py", "train_text.py", "train_gan.py"])
def test_a_python_older_than_the_project_needs_is_refused_in_one_line(script):
    result = run_as_if((3, 9, 18), script, "--help")
    assert_one_line_error(result, "Python 3.9", "3.11 or later", ".venv/bin/python")
    assert only_line(result).startswith(f"{script}: error:")


@pytest.mark.skipif(not OLD_PYTHONS, reason="no Python older than 3.11 on this machine")
@pytest.mark.parametrize("python", OLD_PYTHONS)
def test_a_real_older_python_is_refused_in_one_line(python):
    result = subprocess.run([python, "generate.py", "--digit", "7"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert_one_line_error(result, "3.11 or later", ".venv/bin/python")
    only_line(result)


@pytest.mark.parametrize("script, args", [("generate.py", ["--digit", "7"]), ("train_mnist.py", ["--digit", "0"]),
                                          ("classification.py", ["--data", "mnist-mini"])])
def test_a_python_without_the_packages_names_the_python_to_use(script, args, tmp_path):
    """-S leaves site-packages out: this interpreter then has the standard library only, as a system Python does."""
    result = subprocess.run([sys.executable, "-S", script, *args, "--models_dir", str(tmp_path)], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert_one_line_error(result, "has no module 'numpy'", ".venv/bin/python", sys.executable)
    only_line(result)


def test_a_checkpoint_cut_short_is_named_and_not_reported_as_our_bug(tmp_path):
    result = run_script("train_mnist.py", "--digit", "4", "--num_images", "40", "--models_dir", tmp_path, *TINY_TRAINING[:-4],
                        "--epochs", "1", "--batch_size", "16")
    assert result.returncode == 0, result.stderr[-2000:]
    checkpoint = tmp_path / "model_4.ckpt.npz"
    np.savez(checkpoint, **{f"weights/{index}": np.ones((64, 64)) for index in range(3)}, state=np.array("{}"))
    checkpoint.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])  # a disk that filled, a copy cut off
    result = run_script("train_mnist.py", "--digit", "4", "--num_images", "40", "--models_dir", tmp_path, *TINY_TRAINING[:-4],
                        "--epochs", "2", "--batch_size", "16", "--resume")
    assert_one_line_error(result, str(checkpoint), "not a readable checkpoint", "delete it")
    assert "internal error" not in result.stderr


def test_a_reader_that_stops_reading_ends_the_script_quietly(tmp_path):
    """`classification.py ... | head -1`: the lines after the reader left are not an internal error."""
    process = subprocess.Popen([sys.executable, "classification.py", "--data", "mnist-mini", "--report", str(tmp_path / "report.json")],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONUNBUFFERED="1"))
    process.stdout.readline()  # the first class scored; then the reader leaves
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=300) == 1, stderr
    assert "error" not in stderr and "Traceback" not in stderr, stderr
