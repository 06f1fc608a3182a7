"""Hybrid training: generative loss plus W times the Bayes posterior's cross-entropy (conditional models)."""

import json

import keras
import numpy as np
import pytest
import reference
from conftest import TINY_TRAINING, assert_one_line_error, run_script

import util
from rnn_draw.library import folders, saving
from rnn_draw.commands import trained, training

LEVELS, K, SIZE = 4, 2, 4


def toy_tokens(rng, count):
    """Two classes of 4x4 images with 4 levels: class 0 inked on the left half, class 1 on the right."""
    levels = rng.integers(0, 2, size=(count, SIZE, SIZE))
    labels = rng.integers(0, K, size=count)
    levels[labels == 0, :, :2] += 2
    levels[labels == 1, :, 2:] += 2
    return levels.reshape(count, -1).astype(np.uint8), labels


def bayes_for(model, weight, learning_rate=1e-3):
    """The compiled model hybrid training fits: (tokens, labels) -> log p(x | k) (B, K), or log p(x | label)
    (B,) when `weight` is 0 (plain generative training)."""
    return util.fitting_model(model, SIZE * SIZE, learning_rate, None, weight, np.log(np.full(K, 1 / K)))


def as_inputs(tokens, labels):
    return tokens[..., None].astype(np.int32), labels.astype(np.int32)


def test_the_class_log_likelihoods_are_the_conditional_models_scores():
    keras.utils.set_random_seed(0)
    model = util.create_model(LEVELS, units=8, num_classes=K)
    tokens, labels = toy_tokens(np.random.default_rng(1), 6)
    scores = np.asarray(bayes_for(model, 1.0).predict_on_batch(as_inputs(tokens, labels)))
    for k in range(K):
        expected = reference.log_likelihood(model, tokens, reference.class_one_hot(np.full(6, k), K))
        np.testing.assert_allclose(scores[:, k], expected, rtol=1e-4)


def test_weight_zero_is_the_one_hot_paths_generative_loss():
    keras.utils.set_random_seed(0)
    model = util.create_model(LEVELS, units=8, num_classes=K)
    tokens, labels = toy_tokens(np.random.default_rng(2), 16)
    one_hot_path = keras.losses.SparseCategoricalCrossentropy()(
        tokens.astype(np.int32), model.predict_on_batch(reference.one_hot_inputs(tokens, LEVELS, reference.class_one_hot(labels, K))))
    plain = bayes_for(model, 0.0).evaluate(as_inputs(tokens, labels), labels, batch_size=16, verbose=0)
    np.testing.assert_allclose(plain, float(one_hot_path), rtol=1e-5)
    # Weight W and a prior: that loss plus W times the Bayes posterior's cross-entropy, from the one-hot path's scores.
    scores = np.stack([reference.log_likelihood(model, tokens, reference.class_one_hot(np.full(16, k), K))
                       for k in range(K)], axis=1)
    log_prior = np.log([0.8, 0.2])
    posterior = scores + log_prior - np.logaddexp.reduce(scores + log_prior, axis=1, keepdims=True)
    cross_entropy = -posterior[np.arange(16), labels].mean()
    hybrid = util.fitting_model(model, SIZE * SIZE, 1e-3, None, 2.5, log_prior)
    np.testing.assert_allclose(hybrid.evaluate(as_inputs(tokens, labels), labels, batch_size=16, verbose=0),
                               plain + 2.5 * cross_entropy, rtol=1e-5)


def test_the_discriminative_gradient_raises_the_true_class_posterior():
    keras.utils.set_random_seed(0)
    model = util.create_model(LEVELS, units=8, num_classes=K)
    tokens, labels = toy_tokens(np.random.default_rng(3), 64)
    bayes = bayes_for(model, 50.0, learning_rate=1e-2)  # the posterior term dominates

    def true_posterior():
        scores = np.asarray(bayes.predict_on_batch(as_inputs(tokens, labels)), np.float64)
        posterior = np.exp(scores - scores.max(1, keepdims=True))
        return (posterior / posterior.sum(1, keepdims=True))[np.arange(len(labels)), labels].mean()

    before = true_posterior()
    bayes.fit(as_inputs(tokens, labels), labels, batch_size=64, epochs=20, verbose=0, shuffle=False)
    assert true_posterior() > before + 0.05


class InterruptAfter(keras.callbacks.Callback):
    """Ctrl-C at the end of an epoch, after the checkpoint of that epoch is written."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise KeyboardInterrupt


def test_a_resumed_hybrid_run_equals_an_uninterrupted_one(tmp_path):
    """Two epochs straight, or one, Ctrl-C, and --resume for the second: the same weights and losses.
    The optimizer's state travels in the checkpoint (a resumed run once restarted Adam from zero)."""
    tokens, labels = toy_tokens(np.random.default_rng(4), 48)
    images = tokens.reshape(-1, SIZE, SIZE).astype(np.uint8) * 85  # levels 0..3 back to grey values
    setup = folders.settings("toy", ["left", "right"], SIZE, LEVELS - 1, conditional=True, units=8)

    def run(folder, **options):
        keras.utils.set_random_seed(0)
        return training.train_classes(images, labels, [0, 1], folder, setup, epochs=2, batch_size=8,
                                      validation_split=0.25, learning_rate=1e-2, discriminative_weight=1.0,
                                      verbose=0, **options)

    run(tmp_path / "straight")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "resumed", callbacks=[InterruptAfter(1)])
    run(tmp_path / "resumed", resume=True)
    straight, resumed = (saving.load_model(tmp_path / name / "model_all.keras").get_weights() for name in ("straight", "resumed"))
    for a, b in zip(straight, resumed):
        np.testing.assert_allclose(a, b, atol=1e-5)
    histories = [json.loads((tmp_path / name / "model_all.json").read_text())["history"] for name in ("straight", "resumed")]
    np.testing.assert_allclose(histories[0]["loss"], histories[1]["loss"], rtol=1e-5)


def test_hybrid_training_from_the_command_line(tmp_path):
    result = run_script("train_mnist.py", "--all_digits", "--conditional", "--discriminative_weight", "0.5",
                        "--num_images", "20", "--models_dir", tmp_path, *TINY_TRAINING[:-4], "--epochs", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads((tmp_path / "model_all.json").read_text())
    assert record["discriminative_weight"] == 0.5 and trained.load_models(tmp_path)[1].keys() == set(range(10))
    assert_one_line_error(run_script("train_mnist.py", "--digit", "3", "--discriminative_weight", "1"), "--conditional")


def test_fine_tuning_starts_from_the_given_folders_weights(tmp_path):
    first, tuned = tmp_path / "first", tmp_path / "tuned"
    common = ["--all_digits", "--conditional", "--num_images", "20", *TINY_TRAINING[:-4], "--epochs", "1"]
    assert run_script("train_mnist.py", *common, "--models_dir", first).returncode == 0
    result = run_script("train_mnist.py", *common, "--models_dir", tuned, "--init_from", first,
                        "--discriminative_weight", "1", "--learning_rate", "1e-9")
    assert result.returncode == 0, result.stderr[-2000:]
    before, after = (saving.load_model(folder / "model_all.keras").get_weights() for folder in (first, tuned))
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(before, after))
    other = run_script("train_mnist.py", *common, "--units", "8", "--models_dir", tmp_path / "x", "--init_from", first)
    assert_one_line_error(other, "units")
