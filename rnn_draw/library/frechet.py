"""The Fréchet distance between two sets of images, in the feature space of a small CNN classifier trained here.

It is the FID recipe with the project's own network in place of Inception (no weights are downloaded):
Gaussians fitted to the two sets' activations of the classifier's `features` layer, and the distance
between them. It puts samples of any generator (GANs, the pixel RNNs) on one scale at the data set's native
size, beside the floor that real test images reach against real training images.

Images here are uint8 grey values 0..255, (N, H, W) for grey or (N, H, W, C).
"""

import time
from pathlib import Path

import numpy as np

import config
from rnn_draw.library import quiet, saving, write_json

with quiet.backend_import():
    import keras

FILTERS = (32, 64, 32)  # the last one narrow: Flatten -> Dense(128) holds most of the weights
FEATURES = 128  # width of the `features` layer: the space distances are measured in
BATCH_SIZE = 128
PREDICT_BATCH_SIZE = 1024  # forward passes only: larger batches are cheaper


def with_channels(images):
    """uint8 images (N, H, W) or (N, H, W, C) -> (N, H, W, C), a view; kept uint8, the network casts
    each batch (a float32 copy of CIFAR-10 would be 600 MB)."""
    images = np.asarray(images)
    return images[..., None] if images.ndim == 3 else images


def feature_network(image_shape, num_classes):
    """An untrained classifier of images (H, W, C) given as floats 0..255: three conv blocks, the
    Dense(128) layer named `features`, then class probabilities (N, num_classes)."""
    inputs = keras.Input(shape=tuple(image_shape), name="images")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    for filters in FILTERS:
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(FEATURES, activation="relu", name="features")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name="feature_network")


def train_feature_network(images, labels, num_classes, epochs=config.FRECHET_EPOCHS, seed=0):
    """A feature network fitted to uint8 `images` (N, H, W[, C]) and integer `labels` (N,)."""
    images = with_channels(images)
    keras.utils.set_random_seed(seed)
    model = feature_network(images.shape[1:], num_classes)
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(images, np.asarray(labels), batch_size=BATCH_SIZE, epochs=epochs, shuffle=True, verbose=2)
    return model


def features(model, images, batch_size=PREDICT_BATCH_SIZE):
    """float64 (N, 128): the `features` layer's activations for uint8 `images` (N, H, W[, C])."""
    extractor = keras.Model(model.inputs, model.get_layer("features").output)
    return np.asarray(extractor.predict(with_channels(images), batch_size=batch_size, verbose=0), dtype=np.float64)


def frechet_distance(features_a, features_b):
    """Fréchet distance between Gaussians fitted to two feature sets (N, D) and (M, D), in squared
    feature units: ||mu_a - mu_b||^2 + Tr(C_a + C_b - 2 sqrtm(C_a C_b)). 0 for a set against itself."""
    import warnings

    from scipy.linalg import LinAlgWarning, sqrtm

    features_a, features_b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    mean_a, mean_b = features_a.mean(axis=0), features_b.mean(axis=0)
    cov_a, cov_b = np.atleast_2d(np.cov(features_a, rowvar=False)), np.atleast_2d(np.cov(features_b, rowvar=False))
    with warnings.catch_warnings():  # units dead in a set make it singular; its root's trace stays accurate
        warnings.simplefilter("ignore", LinAlgWarning)
        root = sqrtm(cov_a @ cov_b)
    if not np.isfinite(root).all():  # a root that failed all the same: nudge both off singularity, as FID's code does
        nudge = 1e-6 * np.eye(len(cov_a))
        root = sqrtm((cov_a + nudge) @ (cov_b + nudge))
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(np.real(root))
    return max(float(distance), 0.0)  # round-off leaves tiny negatives where the sets match


def to_native(level_images, max_intensity, size):
    """Level images (N, s, s[, C]) of values 0..max_intensity -> uint8 (N, size, size[, C]): grey
    values 0..255, resized bilinearly, so that a model's samples and real images meet the same network."""
    from skimage.transform import resize

    grey = np.asarray(level_images, dtype=np.float32) * (255.0 / max_intensity)
    shape = (len(grey), size, size, *grey.shape[3:])  # the batch and channel axes keep their length
    native = resize(grey, shape, order=1, mode="edge", anti_aliasing=False, preserve_range=True)
    return np.clip(np.rint(native), 0, 255).astype(np.uint8)


def accuracy(model, images, labels):
    """Share of `images` the network assigns to their `labels`."""
    predicted = model.predict(with_channels(images), batch_size=PREDICT_BATCH_SIZE, verbose=0).argmax(axis=1)
    return float(np.mean(predicted == np.asarray(labels)))


def feature_network_for(dataset, path):
    """The feature network saved at `path` (.keras), or one trained on `dataset`'s training images
    and saved there, with a record beside it (`<stem>.json`: dataset, epochs, test_accuracy, seconds)."""
    path = Path(path)
    if path.is_file():
        return saving.load_model(path)
    started = time.perf_counter()
    model = train_feature_network(dataset.x_train, dataset.y_train, len(dataset.class_names))
    seconds = time.perf_counter() - started
    test_accuracy = accuracy(model, dataset.x_test, dataset.y_test)
    print(f"feature network for {dataset.name}: test accuracy {test_accuracy:.4f} after {config.FRECHET_EPOCHS} "
          f"epoch(s), {seconds:.0f} s; saved in {path}", flush=True)
    # A new Model on the same layers carries no optimizer: the file holds weights only, a third of the size.
    saving.save_model(keras.Model(model.inputs, model.outputs, name=model.name), path)
    write_json(path.with_suffix(".json"), {"dataset": dataset.name, "epochs": config.FRECHET_EPOCHS,
                                           "test_accuracy": test_accuracy, "seconds": round(seconds, 1)})
    return model


def reference(model, test_images, train_images):
    """What a generator's samples are measured against: (features (N, F) of the real `test_images`,
    the floor: their Fréchet distance from as many of the real `train_images`, which is sampling
    noise plus the train/test gap)."""
    test = features(model, test_images)
    return test, frechet_distance(test, features(model, train_images[: len(test_images)]))
