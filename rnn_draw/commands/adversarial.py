"""GAN runs: train_gan.py's flags -> one generator-discriminator pair, checkpointed every epoch with its
optimizer state, resumable, its generator saved with its record when done."""

from pathlib import Path

import numpy as np

import config
from rnn_draw.library import UserError, datasets, folders, gan, progress
from rnn_draw.commands.checkpoints import fit_checkpointed
from rnn_draw.commands.training import common_options, start_engines


def real_spread(images, seed):
    """`gan.spread` of as many real images as the progress grid holds: what its images are compared with."""
    rows = np.random.default_rng(seed).permutation(len(images))[: config.GAN_PROGRESS_SAMPLES]
    return gan.spread(images[rows])


def train_gan(images, labels, models_dir, setup, epochs, batch_size, learning_rate, clipnorm=None, seed=0,
              callbacks=(), verbose=None, **run):
    """Train one GAN on uint8 images (N, H, W[, C]) with `labels` (N,) and save its generator into
    `models_dir`; `run` goes to `fit_checkpointed` (resume, record, max_minutes, write). The
    discriminator lives only in the epoch checkpoints: sampling needs the generator alone."""
    size, channels = setup["target_size"], setup["channels"]
    num_classes = len(setup["class_names"]) if setup["conditional"] else 0
    pair = gan.adversarial_pair((size, size, channels), num_classes, setup["noise_size"], learning_rate, clipnorm)
    watch = gan.WatchTraining(pair.generator, Path(models_dir), real_spread(images, seed), num_classes, seed,
                              run.get("write", True))

    def fit(initial_epoch, fit_callbacks, prepare):
        if prepare:
            prepare(pair)
        pair.fit(gan.ImageBatches(images, labels, batch_size, setup["noise_size"], seed, epochs_done=initial_epoch),
                 epochs=epochs, initial_epoch=initial_epoch, shuffle=False,
                 verbose=progress.verbosity() if verbose is None else verbose,
                 callbacks=[*fit_callbacks, watch, *callbacks])

    counts = np.bincount(labels, minlength=len(setup["class_names"]))
    fit_checkpointed(models_dir, None, setup, pair, fit, counts, f"{len(images)} images", saved=pair.generator, **run)


def train_gan_from_flags(args, dataset):
    """Train what train_gan.py's parsed flags ask for: one GAN on the first --num_images images of every class."""
    start_engines(args)
    classes = range(len(dataset.class_names))
    images, labels, short = datasets.first_of_each_class(dataset.x_train, dataset.y_train, classes, args.num_images)
    if short:
        print(datasets.short_classes_note(short, dataset.class_names, args.num_images), flush=True)
    if images.shape[1] != images.shape[2] or images.shape[1] % 4:
        raise UserError(f"{args.data}: images are {images.shape[1]}x{images.shape[2]}; the GAN draws square images "
                        "whose side is a multiple of 4 (it doubles a quarter-size map twice)")
    setup = folders.gan_settings(dataset.name, dataset.class_names, images.shape[1], 1 if images.ndim == 3 else images.shape[-1],
                                 args.conditional)
    folders.open_manifest(args.models_dir, setup)
    options = common_options(args, None, conditional=args.conditional)
    train_gan(images, labels, args.models_dir, setup, args.epochs, args.batch_size, args.learning_rate, args.clipnorm,
              args.seed, resume=args.resume, record=options["record"], max_minutes=args.max_minutes)
    print(f"generator written to {folders.model_path(args.models_dir, None)}; progress pictures in {args.models_dir}/progress/")
