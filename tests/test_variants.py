"""Cells, depth, row mode, colour and class-conditional models: the incremental sampler must give the
same per-step distributions as one full forward pass, for every variant; completion keeps its prefix."""

import keras
import numpy as np
import pytest
import reference
from conftest import LEVELS, SIZE

import config
import util
from rnn_draw.library import UserError, folders, pictures, progress, sizes


def full_forward_probs(model, tokens, conditions=None):
    """Per-step distributions (N, steps, width, levels) from one full forward pass over `tokens`."""
    probs = np.asarray(model.predict_on_batch(reference.one_hot_inputs(tokens, LEVELS, conditions)))
    return probs.reshape(tokens.shape + (LEVELS,))


VARIANTS = [
    (cell, mode, channels)
    for cell in config.CELLS
    for mode, channels in (("pixel", 1), ("row", 1), ("row", 3))
]


@pytest.mark.parametrize("cell, mode, channels", VARIANTS)
def test_incremental_sampling_matches_a_full_forward_pass(cell, mode, channels):
    keras.utils.set_random_seed(0)
    steps, width = util.sequence_shape(SIZE, channels, mode)
    model = util.create_model(LEVELS, units=12, cell=cell, num_layers=2, dropout=0.2, width=width)
    tokens, probs = util.sample_tokens(model, 6, steps, seed=1, with_probs=True)
    assert tokens.shape == (6, steps, width) and probs.shape == (6, steps, width, LEVELS)
    np.testing.assert_allclose(probs, full_forward_probs(model, tokens), atol=1e-4)


def test_conditional_sampling_uses_the_class_and_matches_a_full_forward_pass():
    keras.utils.set_random_seed(0)
    model = util.create_model(LEVELS, units=12, num_classes=3)
    assert util.num_classes_of(model) == 3
    tokens, probs = util.sample_tokens(model, 5, SIZE * SIZE, seed=2, label=2, with_probs=True)
    conditions = reference.class_one_hot(np.full(5, 2), 3)
    np.testing.assert_allclose(probs, full_forward_probs(model, tokens, conditions), atol=1e-4)
    other = full_forward_probs(model, tokens, reference.class_one_hot(np.full(5, 0), 3))
    assert np.abs(other - probs).max() > 1e-3  # the class really reaches the network
    with pytest.raises(UserError, match="class-conditional"):
        util.sample_tokens(model, 1, 4)


@pytest.mark.parametrize("mode, channels", [("pixel", 1), ("row", 1), ("pixel", 3)])
def test_completion_keeps_the_given_prefix_and_draws_the_rest_given_it(mode, channels):
    keras.utils.set_random_seed(0)
    manifest = folders.settings("toy", ["a"], target_size=SIZE, max_intensity=LEVELS - 1, channels=channels, mode=mode)
    steps, width = util.sequence_shape(SIZE, channels, mode)
    model = util.create_model(LEVELS, units=12, width=width)
    rng = np.random.default_rng(0)
    images = rng.integers(0, LEVELS, (2, SIZE, SIZE) + ((3,) if channels == 3 else ()), dtype=np.uint8)
    keep = 23  # pixels; not a whole number of rows, so row mode keeps part of a row
    completions = util.complete(model, images, keep, 3, manifest, seed=0)
    assert completions.shape == (2, 3) + images.shape[1:]
    flat = completions.reshape(2, 3, SIZE * SIZE, channels)
    truth = images.reshape(2, 1, SIZE * SIZE, channels)
    assert (flat[:, :, :keep] == truth[:, :, :keep]).all()
    assert (flat[:, :, keep:] != truth[:, :, keep:]).any()  # the rest is drawn, not copied
    prefix = np.repeat(images.reshape(2, steps, width), 3, axis=0)
    tokens, probs = util.sample_tokens(model, 6, steps, seed=0, prefix=prefix, keep=keep * channels, with_probs=True)
    np.testing.assert_allclose(probs, full_forward_probs(model, tokens), atol=1e-4)


def test_row_mode_scores_with_a_softmax_per_pixel():
    keras.utils.set_random_seed(0)
    model = util.create_model(LEVELS, units=12, width=SIZE)
    tokens = np.random.default_rng(0).integers(0, LEVELS, (4, SIZE, SIZE))
    probs = full_forward_probs(model, tokens)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
    expected = np.log(np.take_along_axis(probs, tokens[..., None], -1)).sum((1, 2, 3))
    np.testing.assert_allclose(util.log_likelihood(model, tokens)[0], expected, rtol=1e-5)


def test_drawing_frames_and_gif(tmp_path):
    from PIL import Image

    colour = np.random.default_rng(0).integers(0, 256, (4, SIZE, SIZE, 3), dtype=np.uint8)
    frames = pictures.drawing_frames(colour, 2, 10, first_row=2)
    assert frames.shape == (SIZE - 2 + 1, 2 * 12 + 2, 2 * 12 + 2, 3)
    pictures.save_gif(frames, tmp_path / "draw.gif")
    with Image.open(tmp_path / "draw.gif") as gif:
        assert gif.n_frames == SIZE - 1 and gif.size == (26, 26)


def test_long_sampling_and_scoring_print_a_line_per_chunk(monkeypatch, capsys):
    """Work split into several chunks (by memory) says how far it is, in lines, as a log wants."""
    keras.utils.set_random_seed(0)
    model = util.create_model(LEVELS, units=8)
    monkeypatch.setattr(sizes, "CHUNK_BYTES", 60_000)  # a few images per call
    monkeypatch.setattr(progress, "PROGRESS_SECONDS", 0)  # a line for every chunk
    tokens = util.sample_tokens(model, 40, SIZE * SIZE, seed=0, verbose=2)
    drawn = [line for line in capsys.readouterr().out.splitlines() if line.startswith("drawn: ")]
    assert len(drawn) > 2 and drawn[-1] == "drawn: 40/40"
    util.log_likelihood(model, tokens, verbose=2)
    scored = [line for line in capsys.readouterr().out.splitlines() if line.startswith("scored: ")]
    assert len(scored) > 2 and scored[-1] == "scored: 40/40"
    util.sample_tokens(model, 2, SIZE * SIZE, seed=0, verbose=2)
    assert capsys.readouterr().out == ""  # one chunk: nothing to report
