"""Training runs: parsed flags -> one model per class (or one for all of them), each checkpointed every
epoch with its optimizer state, resumable, saved with its record when done."""

import contextlib
import shlex
import sys
from pathlib import Path

import numpy as np

import config
import util
from rnn_draw.library import UserError, datasets, folders, quiet, sizes, text
from rnn_draw.commands import cli, multihost, trained
from rnn_draw.commands.checkpoints import fit_checkpointed
from rnn_draw.library.distribute import data_parallel, use_deterministic_kernels, use_mixed_precision

with quiet.backend_import():  # imported already by util; quietly, in any case
    import keras


def check_memory(setup, batch_size):
    steps, _ = util.sequence_shape(setup["target_size"], setup["channels"], setup["mode"])
    width, num_classes = trained.network_shape(setup)
    reads = len(trained.network_offsets(setup))
    sizes.require(
        sizes.training_bytes(setup["cell"], setup["units"], setup["layers"], reads * width * setup["levels"] + num_classes,
                             width * setup["levels"], batch_size, steps),
        f"training {setup['cell'].upper()}({setup['units']}) x {setup['layers']} layer(s) at batch {batch_size}",
    )


def train_classes(images, labels, classes, models_dir, setup, **options):
    """Train and save a model per class in `classes` (or one conditional or unconditional model for all of them).

    images (N, H, W[, C]) uint8 and labels (N,) are the training split; `setup` is `folders.settings(...)`.
    `options` go to `train_one` (resume, early_stopping, callbacks, record, init_from, write) and on
    to `util.train_model`. Returns the folder's manifest.
    """
    check_memory(setup, options.get("batch_size", config.BATCH_SIZE))  # refusals first: nothing written yet
    one_model = setup["conditional"] or setup["unconditional"]
    groups = [(None, np.isin(labels, list(classes)))] if one_model else [(k, labels == k) for k in classes]
    for label, chosen in groups:
        if not chosen.any():
            raise UserError(f"no training images of {folders.label_name(setup, label)} in the data")
    manifest = folders.open_manifest(models_dir, setup, options.get("write", True))
    for label, chosen in groups:
        tokens = util.to_tokens(images[chosen], setup["target_size"], setup["max_intensity"], setup["mode"])
        counts = np.bincount(labels[chosen], minlength=len(setup["class_names"]))
        train_one(models_dir, label, setup, tokens, labels[chosen] if setup["conditional"] else None, counts, **options)
    return manifest


def train_texts(corpus, classes, models_dir, setup, seq_length=config.SEQ_LENGTH, **options):
    """Train and save one character model per class of `corpus` in `classes` (a text's one class, or
    one per language), each on windows of `seq_length` characters of its training text, validated on
    the last config.TEXT_VALIDATION of it in windows of config.TEXT_VALIDATION_WINDOW characters
    whatever `seq_length` (nanoGPT's block size: runs with different windows compare). `options` as
    for `train_classes`. Returns the manifest."""
    splits = {}
    for label in classes:  # refusals first: nothing written yet
        name = setup["class_names"][label]
        train, validation = text.split_for_validation(corpus.train[name])
        validation = text.encode(validation, setup["vocabulary"])
        splits[label] = [text.windows(text.encode(train, setup["vocabulary"]), seq_length),
                         text.windows(validation, max(1, min(config.TEXT_VALIDATION_WINDOW, len(validation))))]
        if not len(splits[label][0]):
            raise UserError(f"{folders.label_name(setup, label)}: its text is shorter than one window of --seq_length {seq_length}")
    manifest = folders.open_manifest(models_dir, setup, options.get("write", True))
    for label, (train, validation) in splits.items():
        counts = np.zeros(len(setup["class_names"]), np.int64)
        counts[label] = len(text.pieces(corpus.train[setup["class_names"][label]]))  # the prior: its share of pieces
        train_one(models_dir, label, setup, train, None, counts, validation_tokens=validation, **options)
    return manifest


def train_one(models_dir, label, setup, tokens, labels, counts, early_stopping=None, lr_patience=None, callbacks=(),
              resume=False, record=None, init_from=None, write=True, max_minutes=None, validation_tokens=None,
              shard=(0, 1), verbose=None, **schedule):
    """Train and save one model on `tokens` (N, T[, width]) (with `labels` (N,) if conditional), through
    `fit_checkpointed` (which takes `resume`, `record`, `init_from`, `write`, `max_minutes`).
    `early_stopping` is a patience in epochs on the validation loss; `lr_patience` the epochs without a
    better validation loss after which the learning rate is cut (the rate lives in the optimizer's
    state, so a resumed run goes on at the rate it had reached). `schedule` holds the fields of
    `util.Schedule` (epochs, batch_size, learning_rate...); the prior of hybrid training is
    `util.log_priors(counts)`, Bayes' rule's own.
    """
    schedule = util.Schedule(**schedule)
    name = folders.label_name(setup, label)
    network = util.create_model(setup["levels"], setup["units"], setup["cell"], setup["layers"], setup["dropout"],
                                *trained.network_shape(setup), trained.network_offsets(setup))
    guards = []
    if (early_stopping or lr_patience) and validation_tokens is None and not datasets.num_held_out(
            len(tokens), schedule.validation_split):
        print(f"note: {name} has too few images to hold any out at this --validation_split; "
              "--early_stopping and --lr_patience are off for it", flush=True)
    else:
        if early_stopping:
            guards.append(keras.callbacks.EarlyStopping(patience=early_stopping, restore_best_weights=True))
        if lr_patience:
            guards.append(keras.callbacks.ReduceLROnPlateau(factor=config.LR_FACTOR, patience=lr_patience,
                                                            min_lr=config.MIN_LEARNING_RATE, verbose=1))

    def fit(initial_epoch, fit_callbacks, prepare):
        util.train_model(network, tokens, labels, schedule, util.log_priors(counts), validation_tokens, initial_epoch,
                         fit_callbacks, prepare, shard, verbose)

    fit_checkpointed(models_dir, label, setup, network, fit, counts, f"{len(tokens)} {unit_of(setup)}",
                     resume, guards + list(callbacks), record, init_from, write, max_minutes)


def unit_of(setup):
    return "windows" if setup.get("kind") == "text" else "images"


def start_engines(args):
    """Set up what must come before the backend computes anything: quiet imports, data parallelism
    (--distribute; several processes watch each other), the seed and the precision. Returns the
    `Parallel` set up, or None."""
    with quiet.backend_import():
        quiet.tensorflow_too(keras.backend.backend())  # else Keras imports it, loudly, inside fit
    parallel = None
    if getattr(args, "distribute", False):
        job = multihost.job_from_environment(keras.backend.backend())
        if job:  # the processes watch each other; only process 0 prints
            watch = multihost.join(job, Path(sys.argv[0]).name)
            cli.BEFORE_ERROR.append(watch.settle)
            cli.AT_EXIT.append(watch.finish)
        parallel = data_parallel(args.batch_size, args.learning_rate, job)
    keras.utils.set_random_seed(args.seed)
    if args.deterministic:
        use_deterministic_kernels()
    if getattr(args, "mixed_precision", False):
        use_mixed_precision()
    return parallel


def common_options(args, parallel, **record):
    """The options every training run takes from its flags, its record (the command line) included."""
    return dict(
        resume=args.resume, early_stopping=getattr(args, "early_stopping", None), epochs=args.epochs, batch_size=args.batch_size,
        seed=args.seed, learning_rate=args.learning_rate, clipnorm=args.clipnorm, init_from=getattr(args, "init_from", None),
        max_minutes=args.max_minutes, lr_patience=getattr(args, "lr_patience", None),
        cosine_decay=getattr(args, "cosine_decay", False),
        record={"command": shlex.join(["python", Path(sys.argv[0]).name, *sys.argv[1:]]), "data": args.data,
                "epochs": args.epochs, "seed": args.seed, "max_minutes": args.max_minutes,
                **({"deterministic": True} if args.deterministic else {}),
                **({"cosine_decay": True} if getattr(args, "cosine_decay", False) else {}),
                **({"lr_patience": args.lr_patience} if getattr(args, "lr_patience", None) else {}), **record},
        **({"shard": parallel.shard, "write": parallel.writer} if parallel else {}),
    )


def train_from_flags(args, classes, dataset):
    """Train what an image training script's parsed flags ask for on `dataset` (its training split):
    the first --num_images images of each class in `classes`, as the tutorial takes them."""
    parallel = start_engines(args)
    images, labels, short = datasets.first_of_each_class(dataset.x_train, dataset.y_train, classes, args.num_images)
    if short:
        print(datasets.short_classes_note(short, dataset.class_names, args.num_images), flush=True)
    if args.grayscale:
        images = datasets.to_grayscale(images)
    channels = 1 if images.ndim == 3 else images.shape[-1]
    setup = folders.settings(
        dataset.name, dataset.class_names, args.target_size, args.max_intensity, channels, args.mode,
        args.conditional, args.cell, args.units, args.layers, args.dropout, args.grayscale, args.unconditional,
        args.context,
    )
    with parallel.context if parallel else contextlib.nullcontext():
        train_classes(images, labels, classes, args.models_dir, setup, validation_split=args.validation_split,
                      discriminative_weight=args.discriminative_weight,
                      **common_options(args, parallel, discriminative_weight=args.discriminative_weight,
                                       validation_split=args.validation_split))
    print(f"models written to {args.models_dir}/")


def train_text_from_flags(args, corpus, classes):
    """Train what train_text.py's parsed flags ask for: a character model per class in `classes`."""
    parallel = start_engines(args)
    vocabulary = text.vocabulary(corpus.train.values())
    setup = folders.text_settings(corpus.name, corpus.class_names, vocabulary, args.seq_length, args.cell, args.units,
                                  args.layers, args.dropout)
    print(f"{corpus.name}: {sum(map(len, corpus.train.values())):,} characters, a vocabulary of {len(vocabulary)} "
          f"(token 0 stands for characters never seen); the last {config.TEXT_VALIDATION:.0%} of each text validates",
          flush=True)
    with parallel.context if parallel else contextlib.nullcontext():
        train_texts(corpus, classes, args.models_dir, setup, args.seq_length,
                    **common_options(args, parallel, seq_length=args.seq_length))
    print(f"models written to {args.models_dir}/")
