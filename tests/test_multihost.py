"""Several processes training one model, as on several hosts: two local processes per installed
backend train to the end with one writer and the weights of a single process; a killed process
stops the other with one line; a stopped job resumes."""

import importlib.util
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import REPO

from rnn_draw.library import saving

BACKENDS = [
    "tensorflow",
    pytest.param("jax", marks=pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                                                 reason="JAX is not installed (requirements.txt installs TensorFlow)")),
]
TINY = ["--digit", "3", "--data", "mnist-mini", "--num_images", "200", "--target_size", "6", "--max_intensity", "3",
        "--units", "16", "--batch_size", "30", "--validation_split", "0.1"]  # a global val_loss to compare


def free_ports(count):
    """`count` consecutive free localhost ports (the engines' ports and, after them, the watch's)."""
    for _ in range(200):
        base = random.randint(20_000, 60_000)
        try:
            for port in range(base, base + count):
                with socket.socket() as probe:
                    probe.bind(("localhost", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no free ports")


def job_environment(backend, index, base):
    """The variables the README's multi-host recipe sets, for process `index` of two on localhost."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    if backend == "tensorflow":
        env["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"localhost:{base}", f"localhost:{base + 1}"]},
                                       "task": {"type": "worker", "index": index}})
    else:
        env.update(KERAS_DISTRIBUTION_JOB_ADDRESSES=f"localhost:{base}", KERAS_DISTRIBUTION_NUM_PROCESSES="2",
                   KERAS_DISTRIBUTION_PROCESS_ID=str(index))
    return env


def start_job(backend, folder, *flags):
    base = free_ports(3)
    command = [sys.executable, "train_mnist.py", *TINY, "--distribute", "--models_dir", str(folder), *flags]
    return [subprocess.Popen(command, cwd=REPO, env=job_environment(backend, index, base), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for index in (0, 1)]


def finish(processes, timeout=300):
    """[(returncode, stdout, stderr)] of each process; any still running after `timeout` s is killed."""
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=timeout)
            results.append((process.returncode, out, err))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    return results


def weights(folder):
    return saving.load_model(folder / "model_3.keras").get_weights()


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_processes_train_one_model_as_one_process_does(backend, tmp_path):
    (code0, out0, err0), (code1, out1, err1) = finish(start_job(backend, tmp_path / "job", "--epochs", "2"))
    assert (code0, code1) == (0, 0), (err0[-2000:], err1[-2000:])
    assert "in 2 processes, global batch 30 (15 per replica)" in out0 and "models written to" in out0
    assert err0 == err1 == out1 == ""  # process 1 prints nothing; nobody prints engine chatter
    assert sorted(p.name for p in (tmp_path / "job").iterdir()) == ["manifest.json", "model_3.json", "model_3.keras"]

    single = subprocess.run([sys.executable, "train_mnist.py", *TINY, "--epochs", "2", "--models_dir", str(tmp_path / "one")],
                            cwd=REPO, env=dict(os.environ, KERAS_BACKEND=backend), capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-2000:]
    moved = max(np.abs(a).max() for a in weights(tmp_path / "one"))
    difference = max(np.abs(a - b).max() for a, b in zip(weights(tmp_path / "job"), weights(tmp_path / "one")))
    assert moved > 0.1 and difference < 1e-5
    histories = [json.loads((tmp_path / name / "model_3.json").read_text())["history"] for name in ("job", "one")]
    assert np.allclose(histories[0]["val_loss"], histories[1]["val_loss"], rtol=1e-5)  # the global validation loss


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_killed_process_stops_the_other_with_one_line_and_the_job_resumes(backend, tmp_path):
    folder = tmp_path / "job"
    processes = start_job(backend, folder, "--epochs", "40")
    try:
        deadline = time.monotonic() + 240
        while not (folder / "model_3.ckpt.npz").exists():  # an epoch is done and checkpointed
            assert time.monotonic() < deadline and processes[0].poll() is None, "the job did not start training"
            time.sleep(0.2)
        processes[1].send_signal(signal.SIGKILL)
        # Process 0 must end by itself: one still running when communicate() gives up fails the test.
        (code, _, err), _ = finish(processes, timeout=120)
    finally:
        finish(processes, timeout=1)
    assert code == 1 and err.count("\n") == 1 and "process 1 of 2 stopped without finishing" in err, err[-2000:]
    assert not (folder / "model_3.keras").exists()

    (code0, out0, err0), (code1, _, err1) = finish(start_job(backend, folder, "--epochs", "3", "--resume"))
    assert (code0, code1) == (0, 0), (err0[-2000:], err1[-2000:])
    assert "resuming after epoch" in out0 and (folder / "model_3.keras").exists()
    assert not (folder / "model_3.ckpt.npz").exists()
