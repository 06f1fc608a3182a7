"""Which rows make each batch: a seeded shuffle, a new one each epoch, resumable and shardable."""

import math

import numpy as np

import config
from rnn_draw.library import quiet

with quiet.backend_import():
    import keras


class ShuffledBatches(keras.utils.PyDataset):
    """The batch order of `count` rows. Subclasses turn `rows(index)` into a batch in `__getitem__`.

    The order is a seeded shuffle, a new one each epoch; `epochs_done` skips the shuffles of epochs
    already trained, so a resumed run sees the batches an uninterrupted one would (`epoch` counts
    from there). `shard` (index, count): this process takes rows index, index + count, ... of every
    batch (several processes training one model; a last batch too small to share is dropped).
    """

    def __init__(self, count, batch_size, shuffle=True, seed=config.SEED, shard=(0, 1), epochs_done=0):
        super().__init__()
        self.count, self.batch_size, self.shuffle, self.seed, self.shard = count, batch_size, shuffle, seed, shard
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(count)
        self.epoch = epochs_done
        for _ in range(1 + epochs_done if shuffle else 0):
            self.order = self.rng.permutation(count)

    def __len__(self):
        return math.ceil(self.count / self.batch_size) - (0 < self.count % self.batch_size < self.shard[1])

    def rows(self, index):
        """This process's rows of batch `index`, in increasing order."""
        rows = np.sort(self.order[index * self.batch_size : (index + 1) * self.batch_size])
        return rows[: len(rows) - len(rows) % self.shard[1]][self.shard[0] :: self.shard[1]]

    def on_epoch_end(self):
        self.epoch += 1
        if self.shuffle:
            self.order = self.rng.permutation(self.count)
