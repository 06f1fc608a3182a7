"""Data-parallel training and mixed precision on the backends' own engines. Re-exported by util.

The only backend-specific code of the project: `keras.distribution.DataParallel` on JAX (multi-host
through `keras.distribution.initialize()`, which calls `jax.distributed.initialize()`, when the
coordinator environment variables are set), `tf.distribute.MirroredStrategy` on TensorFlow
(`MultiWorkerMirroredStrategy` when TF_CONFIG is set). PyTorch is refused rather than silently
running on one device.
"""

import contextlib
import os

import keras

from rnn_draw import UserError

MULTI_HOST_VARIABLES = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "JAX_COORDINATOR_ADDRESS")


def data_parallel(batch_size, learning_rate):
    """Turn on data parallelism over all local accelerators (or CPU devices if there are none).

    Returns (a context to build and train models in, number of replicas). The batch size is the
    global one, split evenly across replicas, and the learning rate is used as given; both are printed.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        if any(os.environ.get(name) for name in MULTI_HOST_VARIABLES):
            keras.distribution.initialize()
        devices = keras.distribution.list_devices()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        context, replicas, engine = contextlib.nullcontext(), len(devices), "keras.distribution.DataParallel"
    elif backend == "tensorflow":
        import tensorflow as tf

        if os.environ.get("TF_CONFIG"):
            strategy, engine = tf.distribute.MultiWorkerMirroredStrategy(), "MultiWorkerMirroredStrategy"
        else:
            devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
            strategy, engine = tf.distribute.MirroredStrategy([d.name for d in devices]), "MirroredStrategy"
        context, replicas = strategy.scope(), strategy.num_replicas_in_sync
    else:
        raise UserError(f"--distribute is not supported on the {backend} backend; use KERAS_BACKEND=jax or tensorflow")
    if batch_size % replicas:
        raise UserError(f"--batch_size {batch_size} does not split evenly over {replicas} replicas")
    print(f"data parallel ({engine}): {replicas} replica(s), global batch {batch_size} "
          f"({batch_size // replicas} per replica), learning rate {learning_rate} (not scaled)", flush=True)
    return context, replicas


def use_mixed_precision():
    """bfloat16 compute with float32 weights; create_model keeps the logits and softmax in float32."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
