"""The density table's pieces: binarised MNIST drawn once, contexts that read the rows above, and
classification.py --density (log p(x) of any folder, nats per image and bits per dimension)."""

import json

import numpy as np
import pytest
from keras import ops
from conftest import LEVELS, REPO, SIZE, TINY_TRAINING
from scripted import run_in_process

import config
import util
from rnn_draw.commands import trained
from rnn_draw.library import context, datasets
from rnn_draw.library.context import offsets_for

CONTEXTS = tuple(config.CONTEXTS)


@pytest.mark.parametrize("name", CONTEXTS)
def test_each_step_reads_only_earlier_steps(name):
    """Changing the token at step t changes no distribution at steps <= t, and does change later ones
    (the context reaches forward, never back); at step t + SIZE the pixel above is read in every context but
    the tutorial's."""
    model = util.create_model(LEVELS, units=8, offsets=offsets_for(name, SIZE))
    tokens = np.random.default_rng(1).integers(0, LEVELS, (1, SIZE * SIZE, 1))
    changed = tokens.copy()
    step = 7
    changed[0, step, 0] = (tokens[0, step, 0] + 1) % LEVELS
    probs = [ops.convert_to_numpy(model(util.network_inputs(t, LEVELS, offsets=context.offsets_of(model)))) for t in (tokens, changed)]
    assert np.array_equal(probs[0][0, : step + 1], probs[1][0, : step + 1])
    assert not np.allclose(probs[0][0, step + 1], probs[1][0, step + 1])
    inputs = ops.convert_to_numpy(util.network_inputs(changed, LEVELS, offsets=offsets_for(name, SIZE)))
    blocks = inputs[0, step + SIZE].reshape(-1, LEVELS)
    above = list(offsets_for(name, SIZE)).index(SIZE) if name != "previous" else None
    if above is not None:
        assert blocks[above].argmax() == changed[0, step, 0] and blocks[above].sum() == 1


@pytest.mark.parametrize("name", CONTEXTS)
def test_sampler_and_scorer_agree_for_every_context(name):
    """The sampler carries the last steps drawn and reads them as training's inputs did: the distributions
    it drew from give the log-likelihood the scorer computes."""
    model = util.create_model(LEVELS, units=8, offsets=offsets_for(name, SIZE), num_classes=3)
    tokens, probs = util.sample_tokens(model, 5, SIZE * SIZE, seed=2, label=1, with_probs=True)
    nats, _ = util.log_likelihood(model, tokens, labels=np.ones(5))
    from_probs = np.log(np.take_along_axis(probs, tokens[..., None].astype(int), -1)[..., 0]).sum(axis=(1, 2))
    np.testing.assert_allclose(nats, from_probs, rtol=1e-4)
    assert util.num_classes_of(model) == 3


def test_contexts_reach_the_rows_above():
    assert offsets_for("previous", 28) == (1,)
    assert offsets_for("above", 28) == (1, 28)
    assert offsets_for("neighbours", 28) == (1, 27, 28, 29)
    assert offsets_for("last_row", 28) == tuple(range(1, 30))
    assert offsets_for("last_two_rows", 4) == tuple(range(1, 10))


def test_a_saved_model_remembers_its_context(tmp_path):
    model = util.create_model(LEVELS, units=4, offsets=(1, 3))
    model.save(tmp_path / "m.keras")
    from rnn_draw.library import saving

    assert context.offsets_of(saving.load_model(tmp_path / "m.keras")) == (1, 3)
    assert context.offsets_of(util.create_model(LEVELS, units=4)) == (1,)  # the tutorial's network unchanged
    assert "context" not in [layer.name for layer in util.create_model(LEVELS, units=4).layers]


def test_stochastic_binarisation_draws_each_pixel_once_from_its_intensity():
    images = np.tile(np.array([0, 64, 128, 255], np.uint8), (2000, 28, 7))
    source = datasets.Dataset("mnist", datasets.MNIST_CLASS_NAMES, images, np.zeros(2000, int), images[:10], np.zeros(10, int))
    drawn = datasets.binarized(source, "mnist-binarized", seed=0)
    again = datasets.binarized(source, "mnist-binarized", seed=0)
    assert drawn.name == "mnist-binarized" and set(np.unique(drawn.x_train)) == {0, 255}
    assert np.array_equal(drawn.x_train, again.x_train) and np.array_equal(drawn.x_test, again.x_test)
    assert not np.array_equal(drawn.x_train, datasets.binarized(source, "b", seed=1).x_train)
    share_on = (drawn.x_train == 255).reshape(-1, 4).mean(axis=0)
    np.testing.assert_allclose(share_on, [0, 64 / 255, 128 / 255, 1], atol=0.005)


@pytest.mark.skipif(not (REPO / config.SHARED_DATASETS / "mnist.npz").exists(), reason="needs ../shared/datasets/mnist.npz")
def test_the_named_data_set_is_mnist_drawn_once():
    binarized, mnist = datasets.load_dataset("mnist-binarized"), datasets.load_dataset("mnist")
    assert binarized.x_train.shape == mnist.x_train.shape == (60000, 28, 28)
    assert np.array_equal(binarized.y_test, mnist.y_test)
    on = binarized.x_test == 255
    assert on[mnist.x_test == 0].sum() == 0 and on[mnist.x_test == 255].all()
    assert 0.1 < on.mean() < 0.15 and not np.array_equal(on, mnist.x_test >= 128)  # drawn, not thresholded
    tokens = util.to_tokens(binarized.x_test[:5], 28, 1)
    assert np.array_equal(tokens, on[:5].reshape(5, -1))  # read as they are: nothing shrunk or re-thresholded


def density_of(folder, tmp_path, *flags):
    code, out, err = run_in_process("classification.py", ["--models_dir", folder, "--density", "--data", "mnist-mini",
                                                          "--report", tmp_path / "d.json", *flags], tmp_path)
    assert code == 0, err[-2000:]
    return json.loads((tmp_path / "d.json").read_text()), out


def test_density_of_per_class_models_is_their_mixture(tiny_models_dir, tmp_path):
    """log p(x) = log sum_k p(k) p(x | k) over the folder's classes, p(k) their training shares."""
    report, out = density_of(tiny_models_dir, tmp_path, "--num_images", "30")
    manifest, models = trained.load_models(tiny_models_dir)
    images = datasets.load_dataset("mnist-mini").x_test[:30]
    tokens = util.tokens_for(manifest, images)
    scores = np.stack([util.log_likelihood(models[k], tokens)[0] for k in (0, 1)], axis=1)
    counts = np.array([manifest["train_counts"][k] for k in ("0", "1")], float)
    expected = -np.logaddexp.reduce(scores + np.log(counts / counts.sum()), axis=1)
    assert report["classes_mixed"] == 2 and report["num_images"] == 30 and report["dims"] == SIZE * SIZE
    assert report["nll_nats"] == pytest.approx(expected.mean(), rel=1e-6)
    half = 1.959964 * expected.std(ddof=1) / np.sqrt(30)
    assert report["nll_nats_95ci"] == pytest.approx([expected.mean() - half, expected.mean() + half], rel=1e-6)
    assert report["bits_per_dim"] == pytest.approx(expected.mean() / (SIZE * SIZE * np.log(2)), rel=1e-6)
    assert f"{report['nll_nats']:.2f} nats per image" in out and "bits/dim" in out


def test_density_of_a_class_free_folder_with_a_wider_context(tmp_path):
    """A class-free model (which Bayes' rule cannot use) is scored by its own log p(x), its held-out images too."""
    folder = tmp_path / "free"
    code, _, err = run_in_process("train_mnist.py", ["--all_digits", "--unconditional", "--context", "neighbours",
                                                     "--num_images", "20", "--validation_split", "0.2", "--models_dir",
                                                     folder, *TINY_TRAINING], tmp_path)
    assert code == 0, err[-2000:]
    assert json.loads((folder / "manifest.json").read_text())["context"] == "neighbours"
    report, _ = density_of(folder, tmp_path)
    manifest, models = trained.load_models(folder)
    assert context.offsets_of(models[None]) == offsets_for("neighbours", SIZE)
    nats, bits = util.log_likelihood(models[None], util.tokens_for(manifest, datasets.load_dataset("mnist-mini").x_test))
    assert report["classes_mixed"] == 1 and report["context"] == "neighbours"
    assert report["nll_nats"] == pytest.approx(-nats.mean(), rel=1e-6)
    assert report["bits_per_dim"] == pytest.approx(bits.mean(), rel=1e-6)
    code, out, err = run_in_process("classification.py", ["--models_dir", folder, "--density", "--split", "validation"], tmp_path)
    assert code == 0, err[-2000:]
    held_out = json.loads((folder / "density_validation.json").read_text())
    assert held_out["split"] == "validation" and held_out["num_images"] == 40 and "scoring the 40 training images" in out


def test_only_pixel_rnn_folders_read_a_context(tmp_path):
    """Folders written before --context read as the tutorial's context; GAN and text folders have none, so
    resuming them compares no context; an image folder refuses models trained with another context."""
    from rnn_draw.library import folders, write_json

    image = folders.settings("mnist", datasets.MNIST_CLASS_NAMES)
    written = {"old": {key: value for key, value in image.items() if key != "context"},
               "gan": folders.gan_settings("mnist", datasets.MNIST_CLASS_NAMES, 28, 1, True),
               "text": folders.text_settings("nietzsche", ["nietzsche"], ["?", "a"])}
    for name, manifest in written.items():
        write_json(tmp_path / name / "manifest.json", manifest)
    assert folders.read_manifest(tmp_path / "old")["context"] == "previous"
    assert "context" not in folders.read_manifest(tmp_path / "gan") and "context" not in folders.read_manifest(tmp_path / "text")
    assert folders.open_manifest(tmp_path / "gan", written["gan"], write=False)  # resuming: nothing differs
    with pytest.raises(Exception, match="context=previous, not last_row"):
        folders.open_manifest(tmp_path / "old", {**image, "context": "last_row"}, write=False)
