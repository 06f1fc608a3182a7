"""Training runs: parsed flags -> one model per class (or one for all of them), each checkpointed every
epoch with its optimizer state, resumable, saved with its record when done."""

import contextlib
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np

import config
import util
from rnn_draw.library import UserError, datasets, folders, quiet, saving, sizes, text, write_json
from rnn_draw.commands import cli, multihost, trained
from rnn_draw.library.distribute import data_parallel, use_deterministic_kernels, use_mixed_precision

with quiet.backend_import():  # imported already by util; quietly, in any case
    import keras


class EpochCheckpoint(keras.callbacks.Callback):
    """After every epoch, writes the network's weights, the fitted model's optimizer state and the
    history so far into one file, atomically: what `--resume` continues from. The history also
    counts the training seconds so far (`seconds`: for curves of loss against time) and the epoch's
    learning rate. Epochs whose loss
    or weights are not finite numbers are never checkpointed: training stops and the last good one stays.

    Where a validation loss is reported, the weights of the epoch with the lowest one are kept too
    (`best_weights`, `best_epoch`, counting from 1), in the checkpoint as well, so a resumed run still
    knows them: the model written at the end is the best epoch's, not the last's."""

    def __init__(self, path, network, state, write=True):
        super().__init__()
        self.path, self.network, self.write = path, network, write  # write False: not the job's writer
        self.history = {key: list(values) for key, values in state.get("history", {}).items()}
        self.best_epoch, self.best_val_loss = state.get("best_epoch"), state.get("best_val_loss")
        self.best_weights = None
        if self.best_epoch:
            self.best_weights = saving.read_best_weights(path) or network.get_weights()
        self.went_nan = False
        self.started = None

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        logs = {key: float(value) for key, value in (logs or {}).items()}
        weights = self.network.get_weights()
        if not all(map(math.isfinite, logs.values())) or not saving.all_finite(weights):
            self.went_nan = True
            self.model.stop_training = True
            return
        so_far = (self.history.get("seconds") or [0.0])[-1]
        logs["seconds"] = round(so_far + time.monotonic() - self.started, 2)
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))  # this epoch's
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        if "val_loss" in logs and (self.best_val_loss is None or logs["val_loss"] < self.best_val_loss):
            self.best_epoch, self.best_val_loss, self.best_weights = epoch + 1, logs["val_loss"], weights
        state = {"epochs_done": epoch + 1, "history": self.history}
        if self.best_epoch:
            state.update(best_epoch=self.best_epoch, best_val_loss=self.best_val_loss)
        best_apart = self.best_weights if self.best_epoch and self.best_epoch != epoch + 1 else None
        saving.save_checkpoint(self.path, weights, self.model.optimizer, state, self.write, best_apart)


class TimeLimit(keras.callbacks.Callback):
    """Stops training after the epoch past which another epoch would exceed `minutes` of training
    (the checkpoint's count of seconds, resumed runs included): a budget of time, not of epochs."""

    def __init__(self, minutes, checkpoint):
        super().__init__()
        self.seconds, self.checkpoint = minutes * 60, checkpoint

    def on_epoch_end(self, epoch, logs=None):
        done = self.checkpoint.history.get("seconds", [])
        last = done[-1] - (done[-2] if len(done) > 1 else 0) if done else 0
        if done and done[-1] + last > self.seconds:
            print(f"time limit: {done[-1] / 60:.1f} of {self.seconds / 60:g} minutes trained; another epoch would "
                  "pass the limit, so training stops here", flush=True)
            self.model.stop_training = True


def start_of(models_dir, label, setup, network, resume, init_from):
    """(state, prepare) for a class's training: the checkpoint's state and a function that gives the
    fitted model its optimizer state (`--resume`), or a fresh start, from `init_from`'s finished
    model of the class if given (fine-tuning)."""
    path = folders.checkpoint_path(models_dir, label)
    if resume and path.is_file():
        weights, optimizer_variables, state = saving.read_checkpoint(path)
        network.set_weights(weights)
        return state, lambda fitted: saving.restore_optimizer(fitted, optimizer_variables, path)
    if init_from:
        folders.check_settings(Path(init_from) / config.MANIFEST, folders.read_manifest(init_from), setup)
        start = trained.load_checked(folders.model_path(init_from, label), setup)
        network.set_weights(start.get_weights())
    return {}, None


def label_name(setup, label):
    """How progress lines name a model: its class, "all classes", or a lone text's name."""
    if label is None:
        return "all classes"
    lone_text = setup.get("kind") == "text" and len(setup["class_names"]) == 1
    return setup["dataset"] if lone_text else f"class {setup['class_names'][label]}"


def check_memory(setup, batch_size):
    steps, width = util.sequence_shape(setup["target_size"], setup["channels"], setup["mode"])
    num_classes = len(setup["class_names"]) if setup["conditional"] else 0
    sizes.require(
        sizes.training_bytes(setup["cell"], setup["units"], setup["layers"], width * setup["levels"] + num_classes,
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
            raise UserError(f"no training images of {label_name(setup, label)} in the data")
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
            raise UserError(f"{label_name(setup, label)}: its text is shorter than one window of --seq_length {seq_length}")
    manifest = folders.open_manifest(models_dir, setup, options.get("write", True))
    for label, (train, validation) in splits.items():
        counts = np.zeros(len(setup["class_names"]), np.int64)
        counts[label] = len(text.pieces(corpus.train[setup["class_names"][label]]))  # the prior: its share of pieces
        train_one(models_dir, label, setup, train, None, counts, validation_tokens=validation, **options)
    return manifest


def train_one(models_dir, label, setup, tokens, labels, counts, early_stopping=None, lr_patience=None, callbacks=(),
              resume=False, record=None, init_from=None, write=True, max_minutes=None, **train_options):
    """Train and save one model on `tokens` (N, T[, width]) (with `labels` (N,) if conditional), through
    `fit_checkpointed` (which takes `resume`, `record`, `init_from`, `write`, `max_minutes`). `early_stopping` is a patience in epochs on the validation
    loss; `lr_patience` the epochs without a better validation loss after which the learning rate is
    cut (the rate lives in the optimizer's state, so a resumed run goes on at the rate it had
    reached). `train_options` go to `util.train_model`.
    """
    name = label_name(setup, label)
    network = util.create_model(setup["levels"], setup["units"], setup["cell"], setup["layers"], setup["dropout"],
                                *network_shape(setup))
    guards = []
    if (early_stopping or lr_patience) and train_options.get("validation_tokens") is None and not datasets.num_held_out(
            len(tokens), train_options.get("validation_split", config.VALIDATION_SPLIT)):
        print(f"note: {name} has too few images to hold any out at this --validation_split; "
              "--early_stopping and --lr_patience are off for it", flush=True)
    else:
        if early_stopping:
            guards.append(keras.callbacks.EarlyStopping(patience=early_stopping, restore_best_weights=True))
        if lr_patience:
            guards.append(keras.callbacks.ReduceLROnPlateau(factor=config.LR_FACTOR, patience=lr_patience,
                                                            min_lr=config.MIN_LEARNING_RATE, verbose=1))

    def fit(initial_epoch, fit_callbacks, prepare):
        util.train_model(network, tokens, labels, initial_epoch=initial_epoch, callbacks=fit_callbacks,
                         log_prior=np.log(np.maximum(counts, 1) / counts.sum()), prepare=prepare, **train_options)

    fit_checkpointed(models_dir, label, setup, network, fit, counts, f"{len(tokens)} {unit_of(setup)}",
                     resume, guards + list(callbacks), record, init_from, write, max_minutes)


def fit_checkpointed(models_dir, label, setup, network, fit, counts, what, resume=False, callbacks=(), record=None,
                     init_from=None, write=True, max_minutes=None, saved=None):
    """Run `fit(initial_epoch, callbacks, prepare)`, which trains `network` (any model's weights), with
    every epoch checkpointed (`EpochCheckpoint`), then save `saved` (default: the network) with its
    record (`record` and the class counts `counts` (K,) joined) and remove the checkpoint.

    With `resume`, a checkpoint there is continued (optimizer state included) up to the requested
    epochs, and a model already done is skipped. `max_minutes` is a budget of training time
    (`TimeLimit`). `init_from` is a models folder of the same settings whose finished model gives the
    starting weights (fine-tuning). A model whose weights stop being finite numbers is never saved:
    the file already there stays. With `write` False (every process of a multi-process job but the
    first) nothing is written. `what` says in the first progress line what it trains on.
    """
    name = label_name(setup, label)
    checkpoint_file, model_file = folders.checkpoint_path(models_dir, label), folders.model_path(models_dir, label)
    if resume and not checkpoint_file.is_file() and model_file.is_file():
        print(f"{name}: already trained, skipped (--resume)", flush=True)
        return
    state, prepare = start_of(models_dir, label, setup, network, resume, init_from)
    print(f"{name}: {what}" + (f", resuming after epoch {state['epochs_done']}" if state else ""), flush=True)
    checkpoint = EpochCheckpoint(checkpoint_file, network, state, write)
    guards = [checkpoint, keras.callbacks.TerminateOnNaN()] + ([TimeLimit(max_minutes, checkpoint)] if max_minutes else [])
    try:
        fit(state.get("epochs_done", 0), guards + list(callbacks), prepare)
    except KeyboardInterrupt:
        done = saving.read_checkpoint(checkpoint_file)[2]["epochs_done"] if checkpoint_file.is_file() else 0
        print(f"\ninterrupted: {name} has {done} epoch(s) saved in {checkpoint_file}; "
              "run the same command with --resume to continue", flush=True)
        raise
    if checkpoint.went_nan or not saving.all_finite(network.get_weights()):
        kept = f"; {model_file} was left as it was" if model_file.is_file() else ""
        last = f"; the last good epoch is in {checkpoint_file}" if checkpoint_file.is_file() else ""
        raise UserError(f"{name}: training diverged (the loss or the weights became NaN or infinite), so nothing was "
                        f"saved{kept}{last}. Try a smaller --learning_rate or --clipnorm 1")
    if checkpoint.best_weights is not None:  # the epoch with the lowest validation loss, not the last
        network.set_weights(checkpoint.best_weights)
    saving.save_model(network if saved is None else saved, model_file, write)
    if write:
        write_json(folders.record_path(models_dir, label), {
            **(record or {}),
            **({"best_epoch": checkpoint.best_epoch} if checkpoint.best_epoch else {}),
            "train_counts": {str(k): int(n) for k, n in enumerate(counts) if n},
            "history": checkpoint.history,
            "settings": setup,
        })
        checkpoint_file.unlink(missing_ok=True)


def network_shape(setup):
    """(width, num_classes) of a folder's networks: sub-pixels per step and the class input's size."""
    if setup.get("kind") == "text":
        return 1, 0
    _, width = util.sequence_shape(setup["target_size"], setup["channels"], setup["mode"])
    return width, len(setup["class_names"]) if setup["conditional"] else 0


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
