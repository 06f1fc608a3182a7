"""Defaults for every script, in one place.

These are the tutorial's settings: 10x10 images, 7 intensity levels (0..6), one GRU(256) per digit,
batch size 32, 12 epochs. Every command-line flag takes its default from here.
"""

from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent

# The oldest Keras that may load a model: releases before 3.14.0 have published ways for a crafted
# .keras file to run code despite safe_mode (CVE-2025-1550, CVE-2025-8747, CVE-2025-9906,
# CVE-2026-1462). requirements.txt asks for it too.
KERAS_FLOOR = "3.14.0"

# Preprocessing: images are shrunk to TARGET_SIZE x TARGET_SIZE and quantized to MAX_INTENSITY + 1 levels.
TARGET_SIZE = 10
MAX_INTENSITY = 6

# Model and training.
MODE = "pixel"  # pixel: one sub-pixel per step; row: one image row per step
CELL = "gru"  # one of CELLS
# The recurrent cells --cell takes: the Keras layer of each, and its weight blocks (gates) for the memory
# estimate. Adding a cell is adding a row here (a Keras layer with `units` and `return_sequences`).
CELLS = {"gru": {"layer": "GRU", "gates": 3}, "lstm": {"layer": "LSTM", "gates": 4}, "simple": {"layer": "SimpleRNN", "gates": 1}}
# What each step reads besides the recurrent state (--context, pixel mode; rnn_draw/library/context.py):
# the tutorial reads the previous pixel only; the others add pixels of the rows above, which raster
# order puts a row's worth of steps back (PixelRNN's Row LSTM reads the row above).
CONTEXT = "previous"
CONTEXTS = {
    "previous": "the previous pixel (the tutorial)",
    "above": "the previous pixel and the one above",
    "neighbours": "the previous pixel, the one above and its left and right neighbours",
    "last_row": "the previous SIZE + 1 pixels: the row above from the pixel above-left on, and the row so far",
    "last_two_rows": "the previous 2 x SIZE + 1 pixels: two rows above as last_row reads one",
}
UNITS = 256
LAYERS = 1
DROPOUT = 0.0
BATCH_SIZE = 32
EPOCHS = 12
# The tutorial fits on every image it selects (`model.fit(xs, ys, ...)`, no split); hold some out with
# --validation_split to see a val_loss, to stop early or to compare runs (classification.py --split validation).
VALIDATION_SPLIT = 0.0
LEARNING_RATE = 1e-3
SEED = 0
# Hybrid training (--discriminative_weight W, conditional models): 0 is plain generative training.
DISCRIMINATIVE_WEIGHT = 0.0
# Validation batches: at least this many images (only forward passes: larger batches are cheaper).
VALIDATION_BATCH_SIZE = 256

# Scoring streams images through the models in batches this large (memory ~ batch x pixels x levels).
SCORE_BATCH_SIZE = 1024

# Named data sets: what `--data NAME` means; anything not named here is a path. Each is read from the
# first of its `copies` (relative to the repository) that exists, else, where it names one, from
# keras.datasets' `download`. `kind` says what it holds and which script trains on it: "mnist" (digits
# 0-9), "cifar10" (its ten classes) or "text" (characters; one class per file or language). Adding a data
# set is adding a row here: every list of names (--help, errors, loaders) reads this table. `made_by`: the
# command that builds a data set the project makes itself, named when it is missing.
SHARED_DATASETS = "../shared/datasets"  # where this project's machines keep the real data sets
DATASETS = {
    "mnist": {"kind": "mnist", "about": "MNIST: 60,000 training and 10,000 test digits", "download": "mnist",
              "copies": ("data/mnist.npz", f"{SHARED_DATASETS}/mnist.npz", "~/.keras/datasets/mnist.npz")},
    # The density table's MNIST (NADE, MADE, PixelRNN): each pixel drawn once from Bernoulli(intensity)
    # with this seed, not the threshold of --binarize; its models read it at 28x28, two levels.
    "mnist-binarized": {"kind": "mnist", "about": "MNIST binarised stochastically once (seed 0), 28x28",
                        "binarized_from": "mnist", "seed": 0, "fixed": {"target_size": 28, "max_intensity": 1},
                        "copies": ()},
    "mnist-mini": {"kind": "mnist", "about": "1,000 training and 100 test images per digit, shipped",
                   "copies": ("data/mnist-mini.npz",)},
    "cifar10": {"kind": "cifar10", "about": "CIFAR-10: 50,000 training and 10,000 test images", "download": "cifar10",
                # cifar-10-python.tar.gz, its extracted folder, or an image tree archive
                "copies": ("data/cifar-10-python.tar.gz", "data/cifar-10-batches-py",
                           f"{SHARED_DATASETS}/cifar10-images.tar.gz", "~/.keras/datasets/cifar-10-batches-py")},
    "cifar10-mini": {"kind": "cifar10", "about": "100 training and 20 test images per class, shipped",
                     "copies": ("data/cifar10-mini.npz",)},
    "nietzsche": {"kind": "text", "about": "Nietzsche's writings, the MXNet tutorial's text",
                  "copies": ("data/nietzsche.txt", f"{SHARED_DATASETS}/nietzsche.txt")},
    "tinyshakespeare": {"kind": "text", "about": "tiny Shakespeare, nanoGPT's text",
                        "copies": ("data/tinyshakespeare.txt", f"{SHARED_DATASETS}/tinyshakespeare.txt")},
    "fortunes-7lang": {"kind": "text", "about": "fortunes in seven languages, with a test split",
                       "copies": ("data/fortunes-7lang.tar.gz", f"{SHARED_DATASETS}/fortunes-7lang.tar.gz")},
    # fortunes-7lang plus Wagtail's and Sphinx's interface messages: built by data/make_messages.py
    "fortunes-messages-7lang": {"kind": "text", "about": "fortunes-7lang with interface messages (data/make_messages.py)",
                                "copies": ("data/fortunes-messages-7lang",), "made_by": "python data/make_messages.py"},
}
MNIST_DATA = "mnist"
CIFAR10_DATA = "cifar10"
# CIFAR-10 defaults, chosen so that all ten class models train on 2 CPU cores in reasonable time.
CIFAR_TARGET_SIZE = 8
CIFAR_MAX_INTENSITY = 6
CIFAR_EPOCHS = 8
CIFAR_BATCH_SIZE = 64
CIFAR_LEARNING_RATE = 3e-3  # 3 epochs on 2,000 images: val loss 0.81 at 1e-3, 0.73 at 3e-3, 0.69 at 1e-2

# Text (train_text.py): characters are the tokens; --data takes a text of DATASETS or a path.
TEXT_DATA = "nietzsche"
TEXT_VALIDATION = 0.1  # the last 10% of a text validates, as nanoGPT's shakespeare_char does
TEXT_VALIDATION_WINDOW = 256  # ... in windows of 256 characters, nanoGPT's block size, whatever --seq_length
SEQ_LENGTH = 128  # characters per training window
TEXT_UNITS = 256
TEXT_BATCH_SIZE = 64
TEXT_EPOCHS = 30
LR_PATIENCE = None  # --lr_patience: epochs without a better validation loss before the rate is cut (None: never)
LR_FACTOR = 0.5  # ... and the factor it is cut by
MIN_LEARNING_RATE = 1e-5  # ... down to this
COSINE_FLOOR = 0.05  # --cosine_decay: the learning rate ends at this share of --learning_rate
TEXT_EARLY_STOPPING = 3  # stop when the validation loss has not improved for 3 epochs, keeping the best
TEXT_LEARNING_RATE = 2e-3
TEXT_MODELS_DIR = "trained/nietzsche"
TEXT_LENGTH = 300  # characters generated after the prime
TEXT_PRIME = "SUPPOSING that Truth is a woman"
TEXT_SAMPLES = 1  # samples drawn at once
TEXT_PREFIXES = (10, 20, 50)  # classification.py on text: also score each string's first 10, 20, 50 characters

# The DCGAN (train_gan.py): the TensorFlow tutorial's networks, sized for 2 CPU cores.
GAN_DATASET = "mnist"  # train_gan.py --dataset: the kind of images
GAN_NOISE = 100  # the generator's input: a standard normal vector of this size
GAN_WIDTH = 32  # filters of the first convolution (the second has twice as many); 64 is 2.6x slower and twice the file
GAN_CLASS_EMBEDDING = 50  # size of a conditional GAN's learned class vector
GAN_CONDITIONING = "projection"  # how a conditional discriminator reads the class: "projection" or "classifier" (AC-GAN)
GAN_LEARNING_RATE = 2e-4  # Adam's step and beta_1, the DCGAN paper's
GAN_BETA_1 = 0.5
GAN_BATCH_SIZE = 128
GAN_EPOCHS = 40
GAN_MAX_MINUTES = None  # --max_minutes: no time limit unless asked
GAN_SAMPLE_BATCH = 256
GAN_MODELS_DIRS = {"mnist": "trained/gan_mnist", "cifar10": "trained/gan_cifar10"}  # + "_conditional" if told the class
GAN_PROGRESS_SAMPLES = 64  # the fixed-noise grid saved after every epoch
# A collapse is reported when the discriminator's loss stays under this many nats for GAN_COLLAPSE_EPOCHS
# epochs (it wins, and the generator's gradient vanishes), or when the fixed-noise images stop varying
# (mean distance between them under GAN_MIN_SPREAD of the grey range).
GAN_COLLAPSE_LOSS = 0.05
GAN_COLLAPSE_EPOCHS = 2
GAN_MIN_SPREAD = 0.02

# Outputs.
MNIST_MODELS_DIR = "trained/mnist_models"  # ships the tutorial command's ten models
CONDITIONAL_MODELS_DIR = "trained/conditional"  # ships one class-conditional model (--recipe conditional-cpu)
UNCONDITIONAL_MODELS_DIR = "trained/unconditional"  # ships one model told no class (--recipe unconditional-cpu)
CIFAR_MODELS_DIR = "trained/cifar_models"
MODELS_DIRS = {"mnist": MNIST_MODELS_DIR, "cifar10": CIFAR_MODELS_DIR}  # what --dataset picks
GENERATED_DIR = "generated"
MANIFEST = "manifest.json"  # each models folder's shared settings
# classification.py classifies the test split by default (validation: the images training held out).
SPLIT = "test"
# "None of these" (classification.py --calibrate): the familiarity score and the share of known
# validation inputs its threshold accepts; images to calibrate on when training held none out.
NOVELTY_METHOD = "combined"  # chosen by bench/none_of_these.py on its validation halves (docs/none_of_these.md)
ACCEPTANCE = 0.99
CALIBRATION_IMAGES = 10_000
CALIBRATION_PIECES = 50  # a class's validation text in fewer pieces is cut into windows to calibrate on
LABELS_FILE = "generated/labels.csv"  # classification.py --inputs / --text_file: the rows, when no --output
# classification.py's reports: in the models folder, or in GENERATED_DIR for an ensemble.
REPORT_NAMES = {"test": "classification.json", "validation": "classification_validation.json"}
ENSEMBLE_REPORT = "ensemble_classification.json"
DENSITY_REPORTS = {"test": "density.json", "validation": "density_validation.json"}  # classification.py --density

# Sampling.
GRID_SIZE = 5
OUTPUT_SIZE = 32  # pixels per grid cell in the written PNG
TEMPERATURE = 1.0
# Judging samples (generate.py --evaluate): samples drawn per class and temperature.
EVALUATE_SAMPLES = 300
FRECHET_EPOCHS = 2  # epochs of the Fréchet distance's small CNN (rnn_draw/library/frechet.py), trained once per data set
FRECHET_DIR = "trained/frechet"  # where that network is saved: <dataset>.keras beside its <dataset>.json record
# Completion keeps the first ~64% of the pixels (500 of 784 at 28x28) and draws the rest.
KEEP_FRACTION = 500 / 784
COMPLETIONS = 4
COMPLETE_IMAGES = 2  # test images completed per class

# Named recipes (`--recipe NAME` in the training scripts): groups of flag values. Flags given on
# the command line win over the recipe's. Each recipe names its data set ("dataset": the training
# script that takes it) and its own models folder, so none overwrites another's models.
# docs/results.md says what each one measured. All but the tutorial's hold out HELD_OUT of the
# images for validation, as when they were measured.
HELD_OUT = 0.1
RECIPES = {
    # The tutorial's settings, which are the defaults above (it trained the shipped trained/mnist_models).
    "tutorial": {"dataset": "mnist", "data": MNIST_DATA, "models_dir": MNIST_MODELS_DIR},
    # The shipped subset (1,000 images per digit): 12 epochs are only 340 updates, so a larger step.
    "demo": {"dataset": "mnist", "data": "mnist-mini", "learning_rate": 3e-3, "models_dir": "trained/demo_pixel_models",
             "validation_split": HELD_OUT},
    # `make demo`: the same in row mode (10 steps of 10 pixels, ten times fewer steps), into its own folder.
    "demo-fast": {"dataset": "mnist", "data": "mnist-mini", "learning_rate": 3e-3, "mode": "row",
                  "models_dir": "trained/demo_models", "validation_split": HELD_OUT},
    # One class-conditional GRU for all digits, trained on the CPU (shipped in trained/conditional).
    "conditional-cpu": {"dataset": "mnist", "data": MNIST_DATA, "conditional": True, "batch_size": 128, "epochs": 12,
                        "learning_rate": 3e-3, "models_dir": CONDITIONAL_MODELS_DIR, "validation_split": HELD_OUT},
    # One GRU for all digits told nothing of classes, at 14x14, on the CPU (shipped in trained/unconditional).
    "unconditional-cpu": {"dataset": "mnist", "data": MNIST_DATA, "unconditional": True, "target_size": 14,
                          "num_images": 2000, "batch_size": 64, "epochs": 8, "learning_rate": 3e-3,
                          "models_dir": UNCONDITIONAL_MODELS_DIR, "validation_split": HELD_OUT},
    # The best that one CPU hour trained here for MNIST: this conditional model (the settings of
    # conditional-cpu), then classify with it and the tutorial's per-digit models as an ensemble.
    "best-mnist-cpu": {"dataset": "mnist", "data": MNIST_DATA, "conditional": True, "batch_size": 128, "epochs": 12,
                       "learning_rate": 3e-3, "models_dir": "trained/best_mnist_cpu", "validation_split": HELD_OUT},
    # CIFAR-10: one conditional model on all 50,000 images at 8x8, 20 epochs (about 35 minutes on 2 cores).
    "best-cifar-cpu": {"dataset": "cifar10", "data": CIFAR10_DATA, "conditional": True, "batch_size": 64, "epochs": 20,
                       "learning_rate": 3e-3, "models_dir": "trained/best_cifar_cpu", "validation_split": HELD_OUT},
    # Text (train_text.py). The char-RNN of the MXNet tutorial's Nietzsche, sized for 2 CPU cores (shipped).
    # The defaults above are these settings: `python train_text.py --data nietzsche` trained the shipped one.
    "nietzsche": {"dataset": "text", "data": "nietzsche", "models_dir": TEXT_MODELS_DIR},
    # tiny Shakespeare, nanoGPT's split: about 3 minutes of training on 2 CPU cores.
    "shakespeare-3min": {"dataset": "text", "data": "tinyshakespeare", "models_dir": "trained/shakespeare_3min",
                         "units": 256, "seq_length": 128, "batch_size": 64, "epochs": 100, "max_minutes": 3,
                         "learning_rate": 3e-3},
    # tiny Shakespeare: at most 30 minutes of training on 2 CPU cores.
    # Two layers learn more per character than one (1.88 against 2.21 after 4 epochs), at 2.4 times the
    # cost. The step is halved when an epoch does not improve: a cosine decay over the 23 epochs that fit
    # in 30 minutes slowed learning (docs/text.md).
    "shakespeare-30min": {"dataset": "text", "data": "tinyshakespeare", "models_dir": "trained/shakespeare_30min",
                          "units": 512, "layers": 2, "dropout": 0.25, "seq_length": 128, "batch_size": 128,
                          "epochs": 100, "max_minutes": 30, "learning_rate": 2e-3, "lr_patience": 1},
    # The DCGAN of train_gan.py on CIFAR-10, told the class, with a budget of 10 minutes on 2 CPU cores.
    "gan-cifar10-cpu": {"dataset": "gan", "data": CIFAR10_DATA, "image_dataset": "cifar10", "conditional": True,
                        "max_minutes": 10, "models_dir": "trained/gan_cifar10_cpu"},
    # One character model per language (shipped: trained/languages), for Bayes' rule: fortunes and
    # interface messages (data/make_messages.py), two domains, so that short strings from outside
    # the fortunes hold up. Small batches of short windows: many updates for the minutes each gets.
    "languages": {"dataset": "text", "data": "fortunes-messages-7lang", "models_dir": "trained/languages",
                  "units": 192, "seq_length": 64, "batch_size": 32, "epochs": 30, "max_minutes": 8,
                  "learning_rate": 3e-3, "lr_patience": 1},
    # The density table's data (binarised MNIST, 28x28): one class-free GRU(256) reading the row above
    # (context last_row), four epochs with the step falling along a cosine, within an hour on 2 CPU
    # cores (docs/density.md). Scored by `classification.py --density`.
    "binarized-mnist-cpu": {"dataset": "mnist", "data": "mnist-binarized", "all_digits": True, "unconditional": True,
                            "context": "last_row", "units": 256, "batch_size": 64, "learning_rate": 2e-3, "epochs": 4,
                            "cosine_decay": True, "max_minutes": 60, "models_dir": "trained/binarized_mnist_cpu",
                            "validation_split": HELD_OUT},
    # The same for an accelerator's hour (not yet measured on one): wider, two layers, larger batches.
    "binarized-mnist-gpu": {"dataset": "mnist", "data": "mnist-binarized", "all_digits": True, "unconditional": True,
                            "context": "last_row", "units": 512, "layers": 2, "batch_size": 128, "learning_rate": 2e-3,
                            "epochs": 40, "cosine_decay": True, "max_minutes": 60, "models_dir": "trained/binarized_mnist_gpu",
                            "validation_split": HELD_OUT},
    # The best of the H100 measurements (conditional, 14x14, batch 256, 30 epochs: 0.9810).
    "best-mnist": {"dataset": "mnist", "data": MNIST_DATA, "conditional": True, "target_size": 14, "batch_size": 256,
                   "epochs": 30, "models_dir": "trained/best_mnist", "validation_split": HELD_OUT},
}
