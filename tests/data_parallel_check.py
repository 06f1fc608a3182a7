"""Trains a tiny model for one epoch on one device and data-parallel on two, from the same initial
weights and global batch, and prints the largest weight difference. Run by tests/test_scaling.py:
  TensorFlow: two logical CPU devices, set up below;
  JAX:        XLA_FLAGS=--xla_force_host_platform_device_count=2 KERAS_BACKEND=jax python tests/data_parallel_check.py
"""

import contextlib
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402

if keras.backend.backend() == "tensorflow":
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

import util  # noqa: E402
from rnn_draw.library import distribute  # noqa: E402


def trained_weights(initial, tokens, in_parallel):
    parallel = distribute.data_parallel(8, 0.01) if in_parallel else distribute.Parallel(contextlib.nullcontext(), 1)
    context, replicas = parallel.context, parallel.replicas
    with context:
        model = util.create_model(4, units=8)
        model.set_weights(initial)
        util.train_model(model, tokens, schedule=util.Schedule(epochs=2, batch_size=8, validation_split=0, learning_rate=0.01),
                         verbose=0)
    return replicas, model.get_weights()


tokens = np.random.default_rng(0).integers(0, 4, (48, 9)).astype(np.uint8)
initial = util.create_model(4, units=8).get_weights()
_, single = trained_weights(initial, tokens, False)
replicas, parallel = trained_weights(initial, tokens, True)
moved = max(np.abs(a - b).max() for a, b in zip(initial, single))
print(f"replicas {replicas} moved {moved:.3e} max_difference {max(np.abs(a - b).max() for a, b in zip(single, parallel)):.3e}")
