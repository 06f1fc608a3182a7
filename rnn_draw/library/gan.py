"""The DCGAN: a generator of transposed convolutions and a convolutional discriminator, trained together by fit().

Images travel as uint8 (N, H, W[, C]) and are scaled to [-1, 1] inside the compiled calls, the range of
the generator's tanh. A GAN has no likelihood: it draws a whole image in one pass but cannot score one.
"""

import numpy as np

import config
from rnn_draw.library import quiet
from rnn_draw.library.batches import ShuffledBatches

with quiet.backend_import():
    import keras
    from keras import layers, ops


def label_input():
    return keras.Input((), dtype="int32", name="labels")


def generator(image_shape, noise_size=config.GAN_NOISE, num_classes=0, width=config.GAN_WIDTH):
    """(noise (B, noise_size), labels (B,)) -> images (B, H, W, C) in [-1, 1].

    Dense to a (H/4, W/4, 2 * width) map, then two stride-2 transposed convolutions, batch norm and
    leaky ReLUs between (the DCGAN of the TensorFlow tutorial). With `num_classes`, a learned
    embedding of the class joins the noise; without, the labels are read by nothing."""
    height, image_width, channels = image_shape
    noise, labels = keras.Input((noise_size,), name="noise"), label_input()
    hidden = noise
    if num_classes:
        hidden = layers.Concatenate()([noise, layers.Embedding(num_classes, config.GAN_CLASS_EMBEDDING)(labels)])
    hidden = layers.Dense(height // 4 * image_width // 4 * 2 * width, use_bias=False)(hidden)
    hidden = layers.LeakyReLU(0.2)(layers.BatchNormalization()(hidden))
    hidden = layers.Reshape((height // 4, image_width // 4, 2 * width))(hidden)
    hidden = layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False)(hidden)
    hidden = layers.LeakyReLU(0.2)(layers.BatchNormalization()(hidden))
    images = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh", dtype="float32")(hidden)
    return keras.Model([noise, labels], images, name="generator")


def discriminator(image_shape, num_classes=0, width=config.GAN_WIDTH, conditioning=config.GAN_CONDITIONING):
    """(images (B, H, W, C) in [-1, 1], labels (B,)) -> logits (B, 1) that the image is real (B, 1 + K
    for an auxiliary classifier: then which class it shows).

    Two stride-2 convolutions with leaky ReLUs, then the logit. With `num_classes`, the class enters
    as `conditioning` says: "projection" (Miyato and Koyama's projection discriminator: a learned
    vector per class, its dot product with the image's features added to the logit, so the
    discriminator judges "a real 7" rather than "a real digit"), or "classifier" (AC-GAN: not told the
    class, it names it; see AdversarialPair). Labels are read by nothing otherwise."""
    images, labels = keras.Input(image_shape, name="images"), label_input()
    hidden = images
    for filters in (width, 2 * width):
        hidden = layers.LeakyReLU(0.2)(layers.Conv2D(filters, 4, strides=2, padding="same")(hidden))
    features = layers.Flatten()(hidden)
    if num_classes and conditioning == "classifier":
        return keras.Model([images, labels], layers.Dense(1 + num_classes, dtype="float32")(features), name="discriminator")
    logits = layers.Dense(1, dtype="float32")(features)
    if num_classes:
        class_vectors = layers.Embedding(num_classes, features.shape[-1])(labels)
        logits = layers.Add(dtype="float32")([logits, layers.Dot(axes=1, dtype="float32")([features, class_vectors])])
    return keras.Model([images, labels], logits, name="discriminator")


def to_unit_range(images):
    """uint8 (B, H, W[, C]) -> float32 (B, H, W, C) in [-1, 1]."""
    images = ops.cast(images, "float32") / 127.5 - 1.0
    return images if len(images.shape) == 4 else images[..., None]


def to_pixels(images):
    """Generator output (B, H, W, C) in [-1, 1] -> uint8 (B, H, W) for grey, (B, H, W, C) for colour (numpy)."""
    pixels = np.clip(np.round((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return pixels[..., 0] if pixels.shape[-1] == 1 else pixels


class AdversarialPair(keras.Model):
    """The two networks trained as one model: (real uint8 images (B, H, W[, C]), labels (B,), noise (B, Z))
    -> per-image losses (B, 2) in nats: the discriminator's binary cross-entropy on the real image and
    on a generated one, and the generator's non-saturating loss, -log D(G(z)). With an auxiliary
    classifier (AC-GAN), its cross-entropy of the true class joins both: on the real image for the
    discriminator, on the generated one for the generator.

    fit() minimises their sum, and each loss reaches only its own network: the discriminator sees the
    generated image through stop_gradient, and the generator is judged by the discriminator's weights
    under stop_gradient (a stateless call). One Adam step thus moves both networks at once, each down
    its own gradient: the simultaneous updates of the TensorFlow DCGAN tutorial, with no per-backend
    train_step."""

    def __init__(self, generator_network, discriminator_network, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator_network, discriminator_network
        self.auxiliary_classifier = discriminator_network.outputs[0].shape[-1] > 1

    def call(self, inputs, training=False):
        real, labels, noise = inputs
        fake = self.generator([noise, labels], training=training)
        real_logits = self.discriminator([to_unit_range(real), labels], training=training)
        fake_logits = self.discriminator([ops.stop_gradient(fake), labels], training=training)
        frozen = [ops.stop_gradient(variable) for variable in self.discriminator.trainable_variables]
        judged, _ = self.discriminator.stateless_call(frozen, self.discriminator.non_trainable_variables,
                                                      [fake, labels], training=training)
        # Binary cross-entropy from logits: -log sigmoid(x) = softplus(-x), -log(1 - sigmoid(x)) = softplus(x).
        discriminator_loss = ops.softplus(-real_logits[:, :1]) + ops.softplus(fake_logits[:, :1])
        generator_loss = ops.softplus(-judged[:, :1])
        if self.auxiliary_classifier:
            discriminator_loss += class_cross_entropy(labels, real_logits[:, 1:])
            generator_loss += class_cross_entropy(labels, judged[:, 1:])
        return ops.concatenate([discriminator_loss, generator_loss], axis=-1)


def class_cross_entropy(labels, class_logits):
    """-log p(label | image) (B, 1) in nats, from the auxiliary classifier's logits (B, K)."""
    labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
    return keras.losses.sparse_categorical_crossentropy(labels, class_logits, from_logits=True)[:, None]


def summed_losses(_labels, losses):
    return ops.sum(losses, axis=-1)


def discriminator_loss(_labels, losses):
    return losses[:, 0]


def generator_loss(_labels, losses):
    return losses[:, 1]


def adversarial_pair(image_shape, num_classes=0, noise_size=config.GAN_NOISE, learning_rate=config.GAN_LEARNING_RATE,
                     clipnorm=None):
    """The pair, compiled (Adam with the DCGAN paper's beta_1 0.5); fit() logs both networks' losses."""
    pair = AdversarialPair(generator(image_shape, noise_size, num_classes), discriminator(image_shape, num_classes))
    pair.compile(optimizer=keras.optimizers.Adam(learning_rate, beta_1=config.GAN_BETA_1, clipnorm=clipnorm),
                 loss=summed_losses, metrics=[discriminator_loss, generator_loss])
    return pair


def noise_for(seed, epoch, index, count, noise_size):
    """Standard normal noise (count, noise_size) for batch `index` of `epoch`: the same on every run and
    after any resume, whatever was drawn before."""
    return np.random.default_rng([seed, epoch, index]).standard_normal((count, noise_size), dtype=np.float32)


class ImageBatches(ShuffledBatches):
    """((images uint8 (B, H, W[, C]), labels (B,) int32, noise (B, Z) float32), labels): the pair's batches,
    a seeded shuffle a new one each epoch, with seeded noise (`noise_for`)."""

    def __init__(self, images, labels, batch_size, noise_size, seed=config.SEED, shard=(0, 1), epochs_done=0):
        super().__init__(len(images), batch_size, True, seed, shard, epochs_done)
        self.images, self.labels, self.noise_size = images, np.asarray(labels, np.int32), noise_size

    def __getitem__(self, index):
        rows = self.rows(index)
        noise = noise_for(self.seed, self.epoch, index, self.batch_size, self.noise_size)[self.shard[0] :: self.shard[1]]
        return (self.images[rows], self.labels[rows], noise[: len(rows)]), self.labels[rows]


def draw(generator_network, count, seed=None, labels=None, noise_size=None, batch_size=config.GAN_SAMPLE_BATCH):
    """`count` images from the generator: uint8 (count, H, W[, C]). `labels` (count,) for a
    conditional generator (zeros otherwise); `seed` fixes the noise."""
    noise_size = noise_size or generator_network.inputs[0].shape[-1]
    noise = np.random.default_rng(seed).standard_normal((count, noise_size), dtype=np.float32)
    labels = np.zeros(count, np.int32) if labels is None else np.asarray(labels, np.int32)
    return to_pixels(generator_network.predict([noise, labels], batch_size=batch_size, verbose=0))


# ------------------------------------------------------------------------------------------------
# Watching training: a fixed-noise grid per epoch, and collapse told in one line
# ------------------------------------------------------------------------------------------------


def spread(images):
    """Mean over pixels of the standard deviation across `images` uint8 (N, H, W[, C]), as a share of
    the grey range: 0 when every image is the same."""
    return float(np.mean(np.std(np.asarray(images, np.float32) / 255.0, axis=0)))


def collapse_warning(discriminator_losses, spreads, real_spread):
    """One line saying how training collapsed, or None. Per epoch: the discriminator's loss (nats per
    image pair) and the `spread` of the fixed-noise images (real images': `real_spread`). A collapse
    is config.GAN_COLLAPSE_EPOCHS epochs in a row with the loss under config.GAN_COLLAPSE_LOSS (the
    discriminator wins outright), or with the spread under config.GAN_MIN_SPREAD (mode collapse)."""
    count = config.GAN_COLLAPSE_EPOCHS
    losses, recent = discriminator_losses[-count:], spreads[-count:]
    if len(losses) == count and max(losses) < config.GAN_COLLAPSE_LOSS:
        return (f"collapse: the discriminator's loss has been under {config.GAN_COLLAPSE_LOSS} for {count} epochs "
                "(it wins, and the generator learns nothing more); try a smaller --learning_rate, a larger "
                "--batch_size, or train again from another --seed")
    if len(recent) == count and max(recent) < config.GAN_MIN_SPREAD:
        return (f"collapse: the generated images have stopped varying for {count} epochs (spread {recent[-1]:.3f}, "
                f"real images {real_spread:.3f}): mode collapse; try a smaller --learning_rate or another --seed")
    return None


class WatchTraining(keras.callbacks.Callback):
    """After every epoch: the generator's images for fixed noise (and classes) as a PNG grid in
    `folder`/progress/, and a collapse warning (`collapse_warning`) when one shows. At the end, a GIF
    of all the grids there, resumed runs' included."""

    def __init__(self, generator_network, folder, real_spread, num_classes=0, seed=config.SEED, write=True):
        super().__init__()
        count = config.GAN_PROGRESS_SAMPLES
        self.generator_network, self.folder, self.real_spread, self.write = generator_network, folder, real_spread, write
        self.discriminator_losses, self.spreads = [], []
        self.noise = np.random.default_rng(seed).standard_normal((count, generator_network.inputs[0].shape[-1]),
                                                                  dtype=np.float32)
        self.labels = (np.arange(count) % num_classes if num_classes else np.zeros(count)).astype(np.int32)

    def on_epoch_end(self, epoch, logs=None):
        from rnn_draw.library import pictures

        images = to_pixels(self.generator_network.predict([self.noise, self.labels], verbose=0))
        if self.write:
            pictures.save_grid(images, self.folder / "progress" / f"epoch_{epoch + 1:03d}.png", config.OUTPUT_SIZE)
        self.discriminator_losses.append(float((logs or {}).get("discriminator_loss", np.inf)))
        self.spreads.append(spread(images))
        warning = collapse_warning(self.discriminator_losses, self.spreads, self.real_spread)
        if warning:
            print(warning, flush=True)

    def on_train_end(self, logs=None):
        from PIL import Image

        from rnn_draw.library import pictures

        grids = sorted((self.folder / "progress").glob("epoch_*.png"))
        if grids and self.write:
            pictures.save_gif(np.stack([np.asarray(Image.open(path)) for path in grids]), self.folder / "progress.gif")
