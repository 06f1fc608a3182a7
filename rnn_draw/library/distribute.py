"""Data-parallel training, mixed precision and deterministic kernels on the backends' own engines.

The only backend-specific code of the project: `keras.distribution.DataParallel` on JAX (several
processes through `jax.distributed`, when KERAS_DISTRIBUTION_JOB_ADDRESSES and its two companions are
set), `tf.distribute.MirroredStrategy` on TensorFlow (`MultiWorkerMirroredStrategy` when TF_CONFIG
is set). PyTorch is refused rather than silently running on one device. With several processes each
feeds its own share of every global batch; the caller says which process this is (a `job`, from
`rnn_draw.commands.multihost`, or None for one process).
"""

import contextlib
from dataclasses import dataclass

import keras

from rnn_draw.library import UserError, quiet


@dataclass
class Parallel:
    """What data parallelism turned on: a context to build and train models in, the number of
    replicas, this process's `shard` (index, count) of every batch, and whether it writes files."""

    context: object
    replicas: int
    shard: tuple = (0, 1)
    writer: bool = True


def data_parallel(batch_size, learning_rate, job=None):
    """Turn on data parallelism over all accelerators of all the `job`'s processes (None: this
    process alone), or CPU devices if there are none. `job` has `coordinator`, `count`, `index` and
    `writer`. The batch size is the global one, split evenly across replicas, and the learning rate
    is used as given; both are printed. Call it before Keras computes anything."""
    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise UserError(f"--distribute is not supported on the {backend} backend; use KERAS_BACKEND=jax or tensorflow")
    if backend == "jax":
        context, replicas, engine = contextlib.nullcontext(), *jax_data_parallel(job)
    else:
        strategy, engine = tensorflow_strategy(job)
        context, replicas = strategy.scope(), strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise UserError(f"--batch_size {batch_size} does not split evenly over {replicas} replicas")
    processes = f" in {job.count} processes" if job else ""
    print(f"data parallel ({engine}): {replicas} replica(s){processes}, global batch {batch_size} "
          f"({batch_size // replicas} per replica), learning rate {learning_rate} (not scaled)", flush=True)
    return Parallel(context, replicas, (job.index, job.count) if job else (0, 1), job is None or job.writer)


def jax_data_parallel(job):
    """(replicas, engine): DataParallel over every process's devices; each process feeds its own shard."""
    import jax
    from jax.experimental import multihost_utils

    if job:
        # On CPUs the processes exchange gradients through gloo; GPUs use their own collectives.
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(job.coordinator, job.count, job.index)
    devices = keras.distribution.list_devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices, auto_shard_dataset=job is None))
    if job:
        with quiet.backend_import():  # gloo prints a line per peer when the first collective connects them
            multihost_utils.sync_global_devices("rnn_draw: all processes joined")
    return len(devices), "keras.distribution.DataParallel"


def tensorflow_strategy(job):
    """(strategy, engine name) for TensorFlow: across the job's workers, or this machine's devices."""
    import tensorflow as tf

    if not job:
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices]), "MirroredStrategy"

    class MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        """As Keras 3.15's fit needs it (keras-team/keras#20585). Keras asks the strategy to reduce a
        whole (inputs, targets) batch at once, only to learn its shapes, and scalar logs (the loss)
        along axis 0; the stock strategy refuses both. This one averages scalars across the workers
        and answers a batch with this worker's own part, without communicating."""

        def reduce(self, reduce_op, value, axis=None):
            def one(part):
                local = self.experimental_local_results(part)[0]
                if local.shape.rank:
                    return local
                return super(MultiWorkerStrategy, self).reduce(reduce_op, part, None)

            return tf.nest.map_structure(one, value)

    return MultiWorkerStrategy(), "MultiWorkerMirroredStrategy"


def feed(make_batches):
    """(data, steps) for model.fit from `make_batches()`, a PyDataset of this process's shard: the
    dataset itself (steps None) except under TensorFlow's multi-worker strategy, which Keras cannot
    feed a PyDataset to: there a tf.data pipeline over it that loops over the epochs, restarting
    from the first epoch whenever Keras restarts it, and the number of batches per epoch."""
    if keras.backend.backend() != "tensorflow":
        return make_batches(), None
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return make_batches(), None
    first = make_batches()
    local_replicas = len(strategy.extended.worker_devices)  # each takes its part of this process's batch
    spec = tf.nest.map_structure(lambda part: tf.TensorSpec((None,) + part.shape[1:], part.dtype), first[0])

    def batches():
        source = make_batches()
        while True:
            # As Keras does with the PyDataset itself on one process: it calls on_epoch_end once as it
            # starts feeding (its restart of the data before training), then after every epoch.
            source.on_epoch_end()
            for index in range(len(source)):
                batch = source[index]  # ((tokens, labels), labels)
                size = len(batch[1]) // local_replicas
                for replica in range(local_replicas):
                    yield tf.nest.map_structure(lambda part, r=replica: part[r * size : (r + 1) * size], batch)

    pipeline = strategy.distribute_datasets_from_function(
        lambda _: tf.data.Dataset.from_generator(batches, output_signature=spec))
    return pipeline, len(first)


def use_mixed_precision():
    """bfloat16 compute with float32 weights; create_model keeps the logits and softmax in float32."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")


def use_deterministic_kernels():
    """Ask the backend for kernels that give the same result every run on the same machine (TensorFlow's
    op determinism, PyTorch's deterministic algorithms; JAX's XLA kernels on a CPU already are). With
    the same seed, two runs then write the same weights. Call it before Keras computes anything."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        torch.use_deterministic_algorithms(True)
