import keras
import numpy as np
import reference
from conftest import LEVELS, MAX_INTENSITY, SIZE

import util


def test_shrink_keeps_range_and_averages_strokes():
    image = np.zeros((28, 28), dtype=np.uint8)
    image[:, 14:] = 255  # right half white
    small = util.shrink(image, 10)
    assert small.shape == (10, 10) and small.dtype == np.float32
    assert small.min() >= 0.0 and small.max() <= 1.0
    assert small[:, 0].max() < 0.05 and small[:, -1].min() > 0.95
    thin = np.zeros((28, 28), dtype=np.uint8)
    thin[:, 13] = 255  # a one-pixel stroke: anti-aliasing blends it in instead of dropping it
    assert 0.1 < util.shrink(thin, 10).max() < 0.9


def test_shrink_all_matches_shrink_per_image():
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    batch = util.shrink_all(images, 7)
    assert batch.shape == (3, 7, 7)
    for image, small in zip(images, batch):
        np.testing.assert_allclose(util.shrink(image, 7), small, atol=1e-6)


def test_quantize_rounds_to_levels_and_dequantize_spans_bytes():
    levels = util.quantize(np.array([0.0, 0.08, 0.09, 0.5, 0.99, 1.0, 1.7, -0.3]), 6)
    assert levels.tolist() == [0, 0, 1, 3, 6, 6, 6, 0]
    assert util.dequantize(np.array([0, 3, 6]), 6).tolist() == [0, 128, 255]


def test_to_tokens_is_raster_order_of_quantized_pixels():
    image = np.zeros((1, SIZE, SIZE), dtype=np.uint8)
    image[0, 1, 2] = 255
    tokens = util.to_tokens(image, SIZE, MAX_INTENSITY)
    assert tokens.shape == (1, SIZE * SIZE) and tokens.dtype == np.uint8
    assert np.flatnonzero(tokens[0]).tolist() == [1 * SIZE + 2]
    assert tokens[0, SIZE + 2] == MAX_INTENSITY
    np.testing.assert_array_equal(util.tokens_to_images(tokens, SIZE), util.quantize(image / 255.0, MAX_INTENSITY))


def test_one_hot_inputs_start_with_zero_vector_and_shift_by_one(random_tokens):
    inputs = reference.one_hot_inputs(random_tokens, LEVELS)
    assert inputs.shape == random_tokens.shape + (LEVELS,) and inputs.dtype == np.float32
    assert not inputs[:, 0].any()
    np.testing.assert_array_equal(inputs[:, 1:].argmax(-1), random_tokens[:, :-1])
    assert (inputs[:, 1:].sum(-1) == 1).all()


def test_pre_process_is_the_tutorial_layout():
    images = np.random.default_rng(1).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    sequences = util.pre_process(images, SIZE, MAX_INTENSITY)
    tokens = util.to_tokens(images, SIZE, MAX_INTENSITY)
    assert sequences.shape == (4, SIZE * SIZE + 1, LEVELS)
    assert not sequences[:, 0].any()
    np.testing.assert_array_equal(sequences[:, 1:].argmax(-1), tokens)
    np.testing.assert_array_equal(sequences[:, :-1], reference.one_hot_inputs(tokens, LEVELS))


def test_token_batches_cover_every_image_once_per_epoch(random_tokens):
    batches = util.TokenBatches(random_tokens, 1, batch_size=5)
    assert len(batches) == 3
    seen = []
    for index in range(len(batches)):
        (tokens, _), _ = batches[index]
        assert tokens.shape[1:] == (SIZE * SIZE, 1) and tokens.dtype == np.int32
        seen += [tuple(row) for row in tokens[..., 0]]
    assert sorted(seen) == sorted(tuple(row) for row in random_tokens.astype(np.int32))


def test_network_inputs_made_in_the_compiled_call_are_the_one_hot_shift(random_tokens):
    tokens = random_tokens.reshape(len(random_tokens), -1, 1).astype(np.int32)
    made = np.asarray(util.network_inputs(keras.ops.convert_to_tensor(tokens), LEVELS))
    np.testing.assert_array_equal(made, reference.one_hot_inputs(random_tokens, LEVELS))
    labels = np.arange(len(tokens)) % 3
    made = np.asarray(util.network_inputs(keras.ops.convert_to_tensor(tokens), LEVELS, keras.ops.convert_to_tensor(labels), 3))
    np.testing.assert_array_equal(made, reference.one_hot_inputs(random_tokens, LEVELS, reference.class_one_hot(labels, 3)))
