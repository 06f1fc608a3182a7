"""REFERENCE ONLY: the tutorial's algorithms, re-implemented faithfully so the benchmarks can time them.

The product never imports this file. Each function mirrors what the "RNNs as generative models"
tutorial does, quirks included, on a model built by util.create_model (same weights as the project).
"""

import numpy as np


def tutorial_sample_image(model, target_size, levels, rng):
    """One image, the tutorial's way: pixel 0 fixed to 0, then one `model.predict` per pixel over the
    whole prefix so far (quadratic in the number of pixels). Returns (target_size, target_size) levels."""
    pixels = [0]
    sequence = np.zeros((1, 1, levels))
    sequence[0, 0, 0] = 1.0  # the tutorial feeds one-hot(0), not the zero start vector it trained with
    for _ in range(target_size * target_size - 1):
        probs = model.predict(sequence, verbose=0)[0, -1]
        pixel = rng.choice(levels, p=probs / probs.sum())
        pixels.append(pixel)
        one_hot = np.zeros((1, 1, levels))
        one_hot[0, 0, pixel] = 1.0
        sequence = np.concatenate([sequence, one_hot], axis=1)
    return np.array(pixels).reshape(target_size, target_size)


def tutorial_training_arrays(tokens, levels):
    """The tutorial's recipe materialises float64 one-hot inputs and targets for the whole data set."""
    one_hot = np.eye(levels)[tokens]  # (N, T, levels) float64
    inputs = np.concatenate([np.zeros((len(tokens), 1, levels)), one_hot[:, :-1]], axis=1)
    return inputs, one_hot


def tutorial_classify(models, tokens, levels):
    """The tutorial's classify: per image and per model one `predict`, then the product of the
    probabilities of the image's pixels; the class with the largest product wins (no priors).
    Returns (predictions (N,), products (N, K)); a product below float32's smallest normal has underflowed."""
    labels = sorted(models)
    products = np.zeros((len(tokens), len(labels)), dtype=np.float32)
    for index, image in enumerate(tokens):
        inputs, _ = tutorial_training_arrays(image[None], levels)
        for column, label in enumerate(labels):
            probs = models[label].predict(inputs, verbose=0)[0]
            products[index, column] = np.prod(probs[np.arange(len(image)), image].astype(np.float32))
    return np.array(labels)[products.argmax(axis=1)], products
