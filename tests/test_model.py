import math

import keras
import numpy as np
import pytest
import reference
from conftest import LEVELS, SIZE

import util
from rnn_draw.library import folders
from rnn_draw.commands import trained, training


def full_forward_log_probs(model, tokens):
    """log p(pixel_t = level | pixels_<t) for every t and level, from one full forward pass."""
    probs = np.asarray(model.predict_on_batch(reference.one_hot_inputs(tokens, LEVELS)), dtype=np.float64)
    return np.log(probs)


def test_output_is_a_distribution_at_every_step_for_any_length(tiny_model):
    tokens = np.random.default_rng(0).integers(0, LEVELS, (3, SIZE * SIZE))
    whole = np.asarray(tiny_model.predict_on_batch(reference.one_hot_inputs(tokens, LEVELS)))
    for steps in (1, 7, SIZE * SIZE):
        probs = np.asarray(tiny_model.predict_on_batch(reference.one_hot_inputs(tokens[:, :steps], LEVELS)))
        assert probs.shape == (3, steps, LEVELS)
        np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
        # Step t reads pixels before t only: a prefix gets the steps of the whole sequence (the sampler relies on it).
        np.testing.assert_allclose(probs, whole[:, :steps], atol=1e-6)
    later = tokens.copy()
    later[:, 7] = (later[:, 7] + 1) % LEVELS  # pixel 7 changed: steps 0..7 unmoved, step 8 (which reads it) moved
    moved = np.asarray(tiny_model.predict_on_batch(reference.one_hot_inputs(later, LEVELS)))
    np.testing.assert_allclose(moved[:, :8], whole[:, :8], atol=1e-6)
    assert (np.abs(moved[:, 8] - whole[:, 8]).max(-1) > 1e-4).all()


def test_training_lowers_the_loss(tiny_model):
    # Images with a clear structure: a bright vertical bar at a random column.
    rng = np.random.default_rng(0)
    images = np.zeros((64, SIZE, SIZE), dtype=np.uint8)
    images[np.arange(64), :, rng.integers(0, SIZE, 64)] = LEVELS - 1
    tokens = images.reshape(64, -1)
    before = -util.log_likelihood(tiny_model, tokens)[0].mean()
    history = util.train_model(tiny_model, tokens, schedule=util.Schedule(epochs=20, batch_size=8, validation_split=0.25),
                               verbose=0)
    after = -util.log_likelihood(tiny_model, tokens)[0].mean()
    assert set(history) == {"loss", "val_loss"} and len(history["loss"]) == 20
    assert history["loss"][-1] < history["loss"][0]
    assert after < 0.8 * before


def test_incremental_sampling_matches_a_full_forward_pass(tiny_model):
    logits = tiny_model.get_layer("logits")
    logits.kernel.assign(logits.kernel * 4)  # sharper distributions (0.04 to 0.9): a wrong draw shows sooner
    tokens, step_probs = util.sample_tokens(tiny_model, 100, SIZE * SIZE, seed=3, with_probs=True)
    assert tokens.shape == (100, SIZE * SIZE, 1)
    full = np.exp(full_forward_log_probs(tiny_model, tokens[..., 0]))
    np.testing.assert_allclose(step_probs[:, :, 0], full, atol=1e-4)
    # ... and the 3600 pixels were drawn from those distributions, each from its own step's.
    reference.assert_draws_follow(tokens[..., 0], full)


def test_sampling_is_reproducible_and_draws_the_first_pixel(tiny_model):
    manifest = folders.settings("toy", ["a"], target_size=SIZE, max_intensity=LEVELS - 1)
    a = util.sample(tiny_model, 50, manifest, seed=7)
    b = util.sample(tiny_model, 50, manifest, seed=7)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (50, SIZE, SIZE)
    assert len(np.unique(a[:, 0, 0])) > 1  # pixel 0 is drawn, not fixed to 0 as in the tutorial


def test_low_temperature_picks_the_most_likely_level(tiny_model):
    tokens, probs = util.sample_tokens(tiny_model, 20, SIZE * SIZE, temperature=1e-6, seed=0, with_probs=True)
    top_two = np.sort(probs[:, :, 0], axis=-1)[..., -2:]
    clear = top_two[..., 1] - top_two[..., 0] > 1e-4  # an untrained model has near-ties
    assert clear.mean() > 0.5
    np.testing.assert_array_equal(tokens[..., 0][clear], probs[:, :, 0].argmax(-1)[clear])


def test_draws_follow_the_model_distribution(tiny_model):
    tokens, probs = util.sample_tokens(tiny_model, 4000, 1, seed=0, with_probs=True)
    frequencies = np.bincount(tokens[:, 0, 0], minlength=LEVELS) / 4000
    np.testing.assert_allclose(frequencies, probs[0, 0, 0], atol=0.03)


def test_log_likelihood_is_the_sum_of_logs_of_a_full_forward_pass(tiny_model, random_tokens):
    nats, bits_per_dim = util.log_likelihood(tiny_model, random_tokens, batch_size=5)
    logp = full_forward_log_probs(tiny_model, random_tokens)
    expected = np.take_along_axis(logp, random_tokens[..., None].astype(int), -1).sum((1, 2))
    np.testing.assert_allclose(nats, expected, rtol=1e-5)
    np.testing.assert_allclose(bits_per_dim, -expected / (SIZE * SIZE * math.log(2)), rtol=1e-5)


def test_log_likelihood_does_not_underflow_on_long_sequences(tiny_model):
    tokens = np.random.default_rng(0).integers(0, LEVELS, (2, 2000))
    nats, _ = util.log_likelihood(tiny_model, tokens)
    assert np.isfinite(nats).all() and (nats < -1000).all()  # a product of 2000 probabilities would be 0


def test_classify_separates_a_toy_two_class_problem(tmp_path):
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(0)
    images = np.zeros((240, 28, 28), dtype=np.uint8)
    labels = np.repeat([0, 1], 120)
    for index, label in enumerate(labels):  # class 0: a horizontal bar, class 1: a vertical bar
        position = rng.integers(0, 20)
        if label == 0:
            images[index, position : position + 8, :] = 255
        else:
            images[index, :, position : position + 8] = 255
    train, test = np.arange(240) % 3 != 0, np.arange(240) % 3 == 0
    setup = folders.settings("toy", ["horizontal", "vertical"], target_size=SIZE, max_intensity=3, units=16)
    training.train_classes(images[train], labels[train], [0, 1], tmp_path, setup, epochs=10, batch_size=8, verbose=0)
    predictions, scores, classes, _, _ = util.classify([trained.load_models(tmp_path)], images[test])
    assert scores.shape == (test.sum(), 2) and classes.tolist() == [0, 1]
    assert (predictions == labels[test]).mean() >= 0.9


def test_hybrid_training_and_bayes_rule_take_one_prior(tmp_path, monkeypatch):
    """log p(k): the shares of the training counts, for classification and for hybrid training alike
    (training once counted a class without images as one image, an unnormalised prior Bayes' rule
    never used; Bayes' rule went uniform as soon as one class had no count)."""
    np.testing.assert_allclose(np.exp(util.log_priors([30, 10])), [0.75, 0.25])
    np.testing.assert_allclose(np.exp(util.log_priors([30, 0, 10])), [0.75, 0, 0.25])
    np.testing.assert_allclose(np.exp(util.log_priors([0, 0, 0])), [1 / 3] * 3)  # no counts known
    taken = {}
    monkeypatch.setattr(util, "train_model", lambda network, tokens, labels, schedule, log_prior, *rest: taken.update(
        log_prior=log_prior))
    images = np.random.default_rng(0).integers(0, 256, (8, SIZE, SIZE), dtype=np.uint8)
    labels = np.array([0, 0, 0, 0, 0, 0, 2, 2])  # class 1 has no images
    setup = folders.settings("toy", ["a", "b", "c"], target_size=SIZE, max_intensity=3, units=4, conditional=True)
    training.train_classes(images, labels, [0, 1, 2], tmp_path, setup, epochs=1, discriminative_weight=1.0, verbose=0)
    np.testing.assert_allclose(np.exp(taken["log_prior"]), [0.75, 0, 0.25])
    _, _, classes, log_prior, _ = util.classify([trained.load_models(tmp_path)], images[:2])
    assert classes.tolist() == [0, 2]  # the class without images has no model to classify with
    np.testing.assert_allclose(log_prior, taken["log_prior"][classes])


INTEGER_PATH_CASES = {"per-class": (1, 0), "conditional": (1, 3), "row mode": (SIZE, 0), "conditional rows": (SIZE, 3)}


@pytest.mark.parametrize("width, num_classes", INTEGER_PATH_CASES.values(), ids=INTEGER_PATH_CASES.keys())
def test_the_integer_path_gives_the_one_hot_paths_log_likelihoods_and_loss(width, num_classes):
    """Integer tokens, one-hot made inside the compiled call, against numpy one-hot inputs on the host."""
    keras.utils.set_random_seed(0)
    model = util.create_model(LEVELS, units=12, width=width, num_classes=num_classes)
    rng = np.random.default_rng(5)
    tokens = rng.integers(0, LEVELS, (10, SIZE * SIZE // width, width)).astype(np.uint8)
    labels = rng.integers(0, max(num_classes, 1), 10)
    conditions = reference.class_one_hot(labels, num_classes) if num_classes else None
    nats, _ = util.log_likelihood(model, tokens, labels if num_classes else None, batch_size=4)
    np.testing.assert_allclose(nats, reference.log_likelihood(model, tokens, conditions), rtol=1e-5)
    probs = model.predict_on_batch(reference.one_hot_inputs(tokens, LEVELS, conditions))
    one_hot_loss = float(keras.losses.SparseCategoricalCrossentropy()(tokens.reshape(probs.shape[:-1]).astype(np.int32), probs))
    fitted = util.fitting_model(model, SIZE * SIZE)
    integer_loss = fitted.evaluate((tokens.astype(np.int32), labels.astype(np.int32)), labels, batch_size=10, verbose=0)
    np.testing.assert_allclose(integer_loss, one_hot_loss, rtol=1e-5)


def test_batches_carry_integer_tokens_and_labels_only(random_tokens):
    labels = np.arange(len(random_tokens)) % 3
    batches = util.TokenBatches(random_tokens, 1, batch_size=5, labels=labels)
    (tokens, their_labels), targets = batches[0]
    assert tokens.dtype == np.int32 and tokens.shape == (5, SIZE * SIZE, 1)
    assert their_labels.dtype == np.int32 and (targets == their_labels).all()
    rows = [np.flatnonzero((random_tokens == row[:, 0]).all(1))[0] for row in tokens]
    np.testing.assert_array_equal(their_labels, labels[rows])


def test_a_resumed_epoch_sees_the_batches_of_an_uninterrupted_run(random_tokens):
    straight = util.TokenBatches(random_tokens, 1, batch_size=4, seed=3)
    straight.on_epoch_end()
    resumed = util.TokenBatches(random_tokens, 1, batch_size=4, seed=3, epochs_done=1)
    np.testing.assert_array_equal(straight.order, resumed.order)
    assert not np.array_equal(util.TokenBatches(random_tokens, 1, batch_size=4, seed=3).order, resumed.order)


def test_both_ways_of_the_likelihood_give_the_same_number():
    """Training reads it through the fused cross-entropy, scoring through the logsumexp: one number."""
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (4, 9, 2 * LEVELS)).astype(np.float32)
    tokens = rng.integers(0, LEVELS, (4, 9, 2)).astype(np.int32)
    tokens[1, 6:] = -1  # a padded sequence
    fused, plain = (np.asarray(util.sequence_log_likelihood(logits, tokens, way)) for way in (True, False))
    probs = np.exp(logits.reshape(4, 9, 2, LEVELS).astype(np.float64))
    probs /= probs.sum(-1, keepdims=True)
    expected = np.where(tokens >= 0, np.log(np.take_along_axis(probs, np.maximum(tokens, 0)[..., None], -1)[..., 0]), 0)
    np.testing.assert_allclose(fused, expected.sum((1, 2)), rtol=1e-5)
    np.testing.assert_allclose(plain, expected.sum((1, 2)), rtol=1e-5)
