"""Hybrid training: generative loss plus W times the Bayes posterior's cross-entropy (conditional models)."""

import json

import numpy as np

import util
from conftest import TINY_TRAINING, assert_one_line_error, run_script
from rnn_draw import hybrid

LEVELS, K, SIZE = 4, 2, 4


def toy_tokens(rng, count):
    """Two classes of 4x4 images with 4 levels: class 0 inked on the left half, class 1 on the right."""
    levels = rng.integers(0, 2, size=(count, SIZE, SIZE))
    labels = rng.integers(0, K, size=count)
    levels[labels == 0, :, :2] += 2
    levels[labels == 1, :, 2:] += 2
    return levels.reshape(count, -1).astype(np.uint8), labels


def bayes_for(model, weight):
    log_prior = np.log(np.full(K, 1 / K))
    return hybrid.bayes_model(model, util.logits_model(model), LEVELS, 1, K, weight, log_prior, dims=SIZE * SIZE)


def test_the_class_log_likelihoods_are_the_conditional_models_scores():
    util.keras.utils.set_random_seed(0)
    model = util.create_model(LEVELS, units=8, num_classes=K)
    tokens, labels = toy_tokens(np.random.default_rng(1), 6)
    scores = np.asarray(bayes_for(model, 1.0).predict_on_batch(tokens[..., None].astype(np.int32)))
    for k in range(K):
        expected = util.log_likelihood(model, tokens, np.full(6, k))[0]
        np.testing.assert_allclose(scores[:, k], expected, rtol=1e-4)


def test_weight_zero_is_todays_generative_loss():
    util.keras.utils.set_random_seed(0)
    model = util.create_model(LEVELS, units=8, num_classes=K)
    tokens, labels = toy_tokens(np.random.default_rng(2), 16)
    today = model.evaluate(util.one_hot_inputs(tokens, LEVELS, util.class_one_hot(labels, K)), tokens.astype(np.int32),
                           batch_size=16, verbose=0)
    hybrid_zero = bayes_for(model, 0.0).evaluate(tokens[..., None].astype(np.int32), labels, batch_size=16, verbose=0)
    np.testing.assert_allclose(hybrid_zero, today, rtol=1e-5)
    assert bayes_for(model, 1.0).evaluate(tokens[..., None].astype(np.int32), labels, batch_size=16, verbose=0) > today


def test_the_discriminative_gradient_raises_the_true_class_posterior():
    util.keras.utils.set_random_seed(0)
    model = util.create_model(LEVELS, units=8, num_classes=K, learning_rate=1e-2)
    tokens, labels = toy_tokens(np.random.default_rng(3), 64)
    inputs = tokens[..., None].astype(np.int32)
    bayes = bayes_for(model, 50.0)  # the posterior term dominates

    def true_posterior():
        scores = np.asarray(bayes.predict_on_batch(inputs), np.float64)
        posterior = np.exp(scores - scores.max(1, keepdims=True))
        return (posterior / posterior.sum(1, keepdims=True))[np.arange(len(labels)), labels].mean()

    before = true_posterior()
    bayes.fit(inputs, labels, batch_size=64, epochs=5, verbose=0, shuffle=False)
    assert true_posterior() > before + 0.05


def test_hybrid_training_from_the_command_line(tmp_path):
    result = run_script("train_mnist.py", "--all_digits", "--conditional", "--discriminative_weight", "0.5",
                        "--num_images", "20", "--models_dir", tmp_path, *TINY_TRAINING[:-4], "--epochs", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads((tmp_path / "model_all.json").read_text())
    assert record["discriminative_weight"] == 0.5 and util.load_models(tmp_path)[1].keys() == set(range(10))
    assert_one_line_error(run_script("train_mnist.py", "--digit", "3", "--discriminative_weight", "1"), "--conditional")


def test_fine_tuning_starts_from_the_given_folders_weights(tmp_path):
    first, tuned = tmp_path / "first", tmp_path / "tuned"
    common = ["--all_digits", "--conditional", "--num_images", "20", *TINY_TRAINING[:-4], "--epochs", "1"]
    assert run_script("train_mnist.py", *common, "--models_dir", first).returncode == 0
    result = run_script("train_mnist.py", *common, "--models_dir", tuned, "--init_from", first,
                        "--discriminative_weight", "1", "--learning_rate", "1e-9")
    assert result.returncode == 0, result.stderr[-2000:]
    before, after = (util.load_model(folder / "model_all.keras").get_weights() for folder in (first, tuned))
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(before, after))
    other = run_script("train_mnist.py", *common, "--units", "8", "--models_dir", tmp_path / "x", "--init_from", first)
    assert_one_line_error(other, "units")
