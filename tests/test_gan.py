"""The DCGAN: its networks' shapes, each loss reaching only its own network, resume equal to an
uninterrupted run, the collapse report, and the scripts on a GAN folder (grid drawn, classification
refused, bad inputs one line each)."""

import json

import keras
import numpy as np
import pytest
from conftest import run_script
from scripted import lines, run_in_process
from test_failures import InterruptAfter

from rnn_draw.library import folders, gan, saving
from rnn_draw.commands import adversarial, checkpoints, trained

# A GAN that trains in seconds: 8x8 images, narrow networks.
TINY = ["--data", "mnist-mini", "--num_images", "30", "--epochs", "1", "--batch_size", "32"]


def tiny_images(count=64, size=8, seed=0):
    """uint8 (count, size, size): bright top halves for class 0, bright bottom halves for class 1, and noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 2
    top = np.arange(size)[None, :, None] < size // 2  # (1, size, 1): the rows of the top half
    bright = np.where(top == (labels == 0)[:, None, None], 180, 0)
    return (rng.integers(0, 60, (count, size, size)) + bright).astype(np.uint8), labels


@pytest.mark.parametrize("shape, num_classes, conditioning, logits_width", [
    ((28, 28, 1), 0, "projection", 1), ((28, 28, 1), 10, "projection", 1), ((32, 32, 3), 10, "projection", 1),
    ((28, 28, 1), 10, "classifier", 11),  # AC-GAN: real or not, then which class
])
def test_the_networks_map_noise_to_images_and_images_to_logits(shape, num_classes, conditioning, logits_width):
    generator = gan.generator(shape, 16, num_classes, width=4)
    discriminator = gan.discriminator(shape, num_classes, width=4, conditioning=conditioning)
    noise, labels = np.random.default_rng(0).standard_normal((3, 16)).astype(np.float32), np.array([0, 1, 2], np.int32)
    images = keras.ops.convert_to_numpy(generator([noise, labels]))
    assert images.shape == (3, *shape) and images.dtype == np.float32
    # Real images meet the discriminator in [-1, 1], and to_pixels brings that range back to their very pixels...
    real = np.random.default_rng(1).integers(0, 256, (3, *shape), dtype=np.uint8)
    back = gan.to_pixels(keras.ops.convert_to_numpy(gan.to_unit_range(real)))
    np.testing.assert_array_equal(back, real[..., 0] if shape[2] == 1 else real)
    # ...and the generator ends in that range: pushed far past it (its last layer's kernel x 1000), it saturates at -1 and 1.
    last = generator.layers[-1]
    last.kernel.assign(last.kernel * 1000)
    pushed = keras.ops.convert_to_numpy(generator([noise, labels]))
    saturated = (np.abs(pushed) > 0.999).mean()
    assert np.abs(pushed).max() <= 1 and saturated > 0.5, (np.abs(pushed).max(), saturated)
    logits = keras.ops.convert_to_numpy(discriminator([images, labels]))
    assert logits.shape == (3, logits_width) and logits.dtype == np.float32
    other_labels = keras.ops.convert_to_numpy(discriminator([images, labels + 3]))
    told_the_class = num_classes and conditioning == "projection"  # the class moves the logit itself
    assert (not np.allclose(logits, other_labels)) == bool(told_the_class)
    pixels = gan.to_pixels(images)
    assert pixels.dtype == np.uint8 and pixels.shape == ((3, *shape[:2]) if shape[2] == 1 else (3, *shape))


def trainable_values(model):
    return [np.array(variable) for variable in model.trainable_variables]


@pytest.mark.parametrize("loss, moves", [(gan.discriminator_loss, "discriminator"), (gan.generator_loss, "generator")])
def test_each_loss_moves_only_its_own_network(loss, moves):
    keras.utils.set_random_seed(0)
    pair = gan.AdversarialPair(gan.generator((8, 8, 1), 16, 2, width=4), gan.discriminator((8, 8, 1), 2, width=4))
    pair.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    before = {name: trainable_values(getattr(pair, name)) for name in ("generator", "discriminator")}
    pair.fit(gan.ImageBatches(*tiny_images(), 16, 16), epochs=1, verbose=0)
    for name, values in before.items():
        changed = any(not np.array_equal(a, b) for a, b in zip(values, trainable_values(getattr(pair, name))))
        assert changed == (name == moves), name


def test_a_few_steps_of_the_summed_loss_change_both_networks():
    keras.utils.set_random_seed(0)
    pair = gan.adversarial_pair((8, 8, 1), 2, 16)
    before = {name: trainable_values(getattr(pair, name)) for name in ("generator", "discriminator")}
    history = pair.fit(gan.ImageBatches(*tiny_images(), 16, 16), epochs=1, verbose=0).history
    assert {"discriminator_loss", "generator_loss", "loss"} <= history.keys()
    assert np.isclose(history["loss"][0], history["discriminator_loss"][0] + history["generator_loss"][0], rtol=1e-4)
    for name, values in before.items():
        assert any(not np.array_equal(a, b) for a, b in zip(values, trainable_values(getattr(pair, name)))), name


def test_the_noise_of_a_batch_depends_on_seed_epoch_and_batch_only():
    assert np.array_equal(gan.noise_for(0, 3, 5, 4, 8), gan.noise_for(0, 3, 5, 4, 8))
    assert not np.array_equal(gan.noise_for(0, 3, 5, 4, 8), gan.noise_for(0, 4, 5, 4, 8))
    resumed = gan.ImageBatches(*tiny_images(), 16, 8, epochs_done=2)
    fresh = gan.ImageBatches(*tiny_images(), 16, 8)
    fresh.on_epoch_end(), fresh.on_epoch_end()
    for a, b in zip(resumed[1][0], fresh[1][0]):
        assert np.array_equal(a, b)


def train_tiny(folder, epochs, callbacks=(), resume=False):
    images, labels = tiny_images()
    setup = folders.gan_settings("tiny", ["top", "bottom"], 8, 1, conditional=True, noise_size=16)
    folders.open_manifest(folder, setup)
    keras.utils.set_random_seed(0)
    adversarial.train_gan(images, labels, folder, setup, epochs, 16, 1e-3, callbacks=callbacks, verbose=0,
                          resume=resume)


def test_a_resumed_gan_equals_an_uninterrupted_one(tmp_path):
    train_tiny(tmp_path / "straight", 3)
    with pytest.raises(KeyboardInterrupt):
        train_tiny(tmp_path / "resumed", 3, callbacks=[InterruptAfter(0)])
    assert checkpoints.read_checkpoint(tmp_path / "resumed" / "model_all.ckpt.npz")[2]["epochs_done"] == 1
    train_tiny(tmp_path / "resumed", 3, resume=True)
    straight, resumed = (saving.load_model(tmp_path / name / "model_all.keras").get_weights() for name in ("straight", "resumed"))
    for a, b in zip(straight, resumed):
        np.testing.assert_allclose(a, b, atol=1e-5)
    record = json.loads((tmp_path / "resumed" / "model_all.json").read_text())
    assert len(record["history"]["discriminator_loss"]) == 3
    assert len(list((tmp_path / "resumed" / "progress").glob("epoch_*.png"))) == 3
    assert (tmp_path / "resumed" / "progress.gif").is_file()


def test_collapse_is_reported_for_a_winning_discriminator_or_images_that_stopped_varying():
    healthy = [0.3, 0.3, 0.3]
    assert gan.collapse_warning([0.9, 0.01, 0.02], healthy, 0.25).startswith("collapse: the discriminator")
    assert gan.collapse_warning([0.9, 0.7, 0.8], [0.3, 0.001, 0.002], 0.25).startswith("collapse: the generated images")
    assert gan.collapse_warning([0.01], [0.001], 0.25) is None  # one epoch is not yet a collapse
    assert gan.collapse_warning([0.01, 1.2], [0.001, 0.3], 0.25) is None  # it recovered


def test_a_forced_collapse_is_reported_in_one_line(tmp_path, capsys):
    generator = gan.generator((8, 8, 1), 16, 0, width=4)
    generator.layers[-1].set_weights([np.zeros_like(w) for w in generator.layers[-1].get_weights()])  # every image grey
    watch = gan.WatchTraining(generator, tmp_path, real_spread=0.3)
    watch.on_epoch_end(0, {"discriminator_loss": 1.0})
    assert not capsys.readouterr().out
    watch.on_epoch_end(1, {"discriminator_loss": 1.0})
    out = lines(capsys.readouterr().out)
    assert len(out) == 1 and "stopped varying" in out[0] and "--learning_rate" in out[0]
    assert gan.spread(np.zeros((5, 8, 8), np.uint8)) == 0 and gan.spread(np.arange(2)[:, None] * np.full((2, 4), 255)) == 0.5


@pytest.fixture(scope="module")
def gan_folder(tmp_path_factory):
    """A conditional GAN trained by train_gan.py for one epoch on a few MNIST images."""
    folder = tmp_path_factory.mktemp("gan")
    code, out, err = run_in_process("train_gan.py", [*TINY, "--conditional", "--models_dir", folder], folder)
    assert code == 0, err[-3000:]
    assert "generator written to" in out and (folder / "progress" / "epoch_001.png").is_file()
    return folder


def test_train_gan_writes_a_generator_that_fits_its_manifest(gan_folder):
    manifest, models = trained.load_models(gan_folder)
    assert folders.is_gan(manifest) and manifest["conditional"] and sorted(models) == list(range(10))
    record = json.loads((gan_folder / "model_all.json").read_text())
    assert record["command"].startswith("python train_gan.py") and sum(record["train_counts"].values()) == 300
    assert not list(gan_folder.glob("*.ckpt.npz"))


def test_generate_draws_a_grid_from_a_gan_folder(gan_folder, tmp_path):
    code, _, err = run_in_process("generate.py", ["--models_dir", gan_folder, "--digit", "7", "--seed", "1"], tmp_path)
    assert code == 0, err[-2000:]
    from PIL import Image

    grid = np.asarray(Image.open(tmp_path / "generated" / "samples_of_7.png"))
    assert grid.shape[0] > 5 * 28 and grid.std() > 0


@pytest.mark.parametrize("script, args, fragment", [
    ("classification.py", [], "no likelihood"),
    ("generate.py", ["--digit", "3", "--complete"], "--complete"),
    ("generate.py", ["--digit", "3", "--gif"], "--gif"),
    ("generate.py", ["--digit", "3", "--temperature", "0.5"], "--temperature"),
])
def test_what_a_gan_cannot_do_is_one_line(gan_folder, tmp_path, script, args, fragment):
    code, _, err = run_in_process(script, ["--models_dir", gan_folder, *args], tmp_path)
    assert code == 2 and len(lines(err)) == 1 and fragment in err, err[-2000:]
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("args, fragment", [
    (["--epochs", "0"], "--epochs"),
    (["--dataset", "svhn"], "--dataset"),
    (["--learning_rate", "-1"], "--learning_rate"),
    (["--recipe", "demo"], "--recipe demo"),
    (["--data", "no/such/mnist.npz"], "no such file"),
    (["--num_images", "0"], "--num_images"),
])
def test_train_gan_bad_input_is_one_line(tmp_path, args, fragment):
    code, _, err = run_in_process("train_gan.py", [*TINY, "--models_dir", tmp_path / "g", *args], tmp_path)
    assert code == 2 and len(lines(err)) == 1 and fragment in err, err[-2000:]
    assert not (tmp_path / "g").exists()


def test_train_gan_refuses_images_it_cannot_draw(tmp_path):
    odd = tmp_path / "odd.npz"
    np.savez(odd, x_train=np.zeros((4, 30, 30), np.uint8), y_train=np.arange(4) % 2,
             x_test=np.zeros((2, 30, 30), np.uint8), y_test=np.arange(2))
    code, _, err = run_in_process("train_gan.py", ["--data", odd, "--epochs", "1", "--models_dir", tmp_path / "g"], tmp_path)
    assert code == 2 and "multiple of 4" in err and not (tmp_path / "g").exists(), err[-2000:]


def test_train_gan_help_names_the_shared_flags():
    result = run_script("train_gan.py", "--help")
    assert result.returncode == 0
    for flag in ("--dataset", "--conditional", "--num_images", "--resume", "--recipe", "--max_minutes", "--seed"):
        assert flag in result.stdout, flag
