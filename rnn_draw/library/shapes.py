"""The shape of every JSON file the project reads, and one check that names the file and the field.

Each kind of file is a table of field -> check. `checked(path, data, kind)` returns `data` when it
fits, else raises a one-line UserError: "PATH: FIELD: expected WHAT, got VALUE". Keys not in a table
are allowed and ignored; a missing required field is an error; an optional one is checked only where
present. Numbers must be finite, and a whole number is never true or false (bool is an int in Python).
"""

import json
import re
import sys

import config
from rnn_draw.library import UserError


class Mismatch(Exception):
    """Raised by a check: `field` (a path such as settings.units or history.loss[3]) is not `what`."""

    def __init__(self, field, what, value):
        super().__init__(field, what, value)
        self.field, self.what, self.value = field, what, value


MISSING = object()  # the value of a required field that is not there


def short(value, limit=40):
    """A value as JSON spells it (true, null, NaN, "text"), cut to `limit` characters."""
    try:
        text = json.dumps(value, default=repr)
    except (ValueError, RecursionError):  # a 5000-digit number, a list nested a thousand deep
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def field_name(parent, key):
    """parent.key; an odd key (empty, long, spaces, not a string) spelled as JSON."""
    name = key if isinstance(key, str) and re.fullmatch(r"[\w.-]{1,40}", key) else short(key)
    return f"{parent}.{name}" if parent else name


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    """A finite int or float (not nan, not inf, not an int too large to be a float)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= sys.float_info.max


# --- checks: each is check(value, field), raises Mismatch, and says what it expects in check.what --


def check_that(what, test):
    def check(value, field):
        if not test(value):
            raise Mismatch(field, what, value)
    check.what = what
    return check


def integer(low):
    return check_that(f"a whole number >= {low}", lambda v: _is_int(v) and v >= low)


def number(low=None, below=None):
    """A finite number, >= low and < below where given."""
    what = "a finite number" if low is None else f"a number >= {low:g}"
    if below is not None:
        what = f"a number in [{low:g}, {below:g})"
    return check_that(what, lambda v: _is_number(v) and (low is None or v >= low) and (below is None or v < below))


def one_of(*choices):
    return check_that(" or ".join(map(json.dumps, choices)), lambda v: isinstance(v, str) and v in choices)


TEXT = check_that("a string", lambda v: isinstance(v, str))
FLAG = check_that("true or false", lambda v: isinstance(v, bool))
NUMBER_OR_NULL = check_that("a finite number or null", lambda v: v is None or _is_number(v))


def list_of(what, item, non_empty=False):
    """A list (non-empty where asked) whose elements pass `item`; `what` says so in words."""
    def check(value, field):
        if not isinstance(value, list) or (non_empty and not value):
            raise Mismatch(field, what, value)
        for index, element in enumerate(value):
            item(element, f"{field}[{index}]")
    check.what = what
    return check


def mapping(what, keys, key_test, item):
    """An object whose keys pass `key_test` (`keys` names them) and whose values pass `item`."""
    def check(value, field):
        if not isinstance(value, dict):
            raise Mismatch(field, what, value)
        for key, element in value.items():
            if not key_test(key):
                raise Mismatch(field, f"{keys} as keys", key)
            item(element, field_name(field, key))
    check.what = what
    return check


def fields(required, optional=()):
    """An object with every `required` field, and the `optional` ones checked where present."""
    table = {**dict(required), **dict(optional)}

    def check(value, field):
        if not isinstance(value, dict):
            raise Mismatch(field, "an object", value)
        for name in required:
            if name not in value:
                raise Mismatch(field_name(field, name), table[name].what, MISSING)
        for name, item in table.items():
            if name in value:
                item(value[name], field_name(field, name))
    check.what = "an object"
    return check


# --- the kinds of file ---------------------------------------------------------------------------

HISTORY = mapping("an object mapping names to lists of numbers", "names", lambda key: isinstance(key, str),
                  list_of("a list of finite numbers", number()))

# A models folder's manifest.json: the settings every model in the folder was trained with.
MANIFEST = {
    "dataset": TEXT,
    "class_names": list_of("a non-empty list of strings", TEXT, non_empty=True),
    "target_size": integer(1),
    "max_intensity": integer(1),
    "levels": integer(2),
    "channels": integer(1),
    "mode": one_of("pixel", "row"),
    "conditional": FLAG,
    "cell": one_of(*config.CELLS),
    "units": integer(1),
    "layers": integer(1),
}
MANIFEST_OPTIONAL = {"unconditional": FLAG, "dropout": number(0, 1), "grayscale": FLAG, "keras_version": TEXT}

# The manifest of a folder of character models (train_text.py): token 0 of the vocabulary is UNKNOWN.
TEXT_MANIFEST = {
    "kind": one_of("text"),
    "dataset": TEXT,
    "class_names": list_of("a non-empty list of strings", TEXT, non_empty=True),
    "vocabulary": list_of("a non-empty list of single characters",
                          check_that("a single character", lambda v: isinstance(v, str) and len(v) == 1), non_empty=True),
    "levels": integer(2),
    "seq_length": integer(1),
    "cell": one_of(*config.CELLS),
    "units": integer(1),
    "layers": integer(1),
}
TEXT_MANIFEST_OPTIONAL = {"conditional": FLAG, "unconditional": FLAG, "dropout": number(0, 1), "keras_version": TEXT}

# The manifest of a GAN folder (train_gan.py): level images are the data set's own pixels (256 levels).
GAN_MANIFEST = {
    "kind": one_of("gan"),
    "dataset": TEXT,
    "class_names": list_of("a non-empty list of strings", TEXT, non_empty=True),
    "target_size": integer(4),
    "max_intensity": check_that("255", lambda v: _is_int(v) and v == 255),
    "levels": check_that("256", lambda v: _is_int(v) and v == 256),
    "channels": integer(1),
    "mode": one_of("pixel"),
    "conditional": FLAG,
    "unconditional": FLAG,
    "noise_size": integer(1),
    "width": integer(1),
}
GAN_MANIFEST_OPTIONAL = {"keras_version": TEXT}

# model_K.json beside each finished model: how it was trained. Every field optional.
RECORD_OPTIONAL = {
    "command": TEXT,
    "data": TEXT,
    "epochs": integer(0),
    "seed": integer(0),
    "validation_split": number(0, 1),
    "discriminative_weight": number(0),
    "train_counts": mapping("an object mapping class numbers to image counts", "class numbers (0, 1, ...)",
                            lambda key: isinstance(key, str) and re.fullmatch("[0-9]+", key), integer(0)),
    "history": HISTORY,
    "settings": fields({}, {**MANIFEST, **MANIFEST_OPTIONAL}),
    "best_epoch": integer(1),
    "max_minutes": check_that("a positive number or null", lambda v: v is None or (_is_number(v) and v > 0)),
    "seq_length": integer(1),
    "lr_patience": integer(1),
    "deterministic": FLAG,
    "cosine_decay": FLAG,
    "conditional": FLAG,
}

# The state inside MODEL.ckpt.npz, saved with each epoch's checkpoint: what --resume continues from.
CHECKPOINT = {"epochs_done": integer(0), "history": HISTORY}
CHECKPOINT_OPTIONAL = {"best_epoch": integer(0), "best_val_loss": NUMBER_OR_NULL}

KINDS = {
    "manifest": fields(MANIFEST, MANIFEST_OPTIONAL),
    "text_manifest": fields(TEXT_MANIFEST, TEXT_MANIFEST_OPTIONAL),
    "gan_manifest": fields(GAN_MANIFEST, GAN_MANIFEST_OPTIONAL),
    "record": fields({}, RECORD_OPTIONAL),
    "checkpoint": fields(CHECKPOINT, CHECKPOINT_OPTIONAL),
}


def checked(path, data, kind):
    """`data` (a JSON file's contents) if it has the shape of `kind` (a key of KINDS), else a
    one-line UserError naming `path`, the field, what was expected and what is there."""
    try:
        KINDS[kind](data, "")
    except Mismatch as wrong:
        if not wrong.field:
            raise UserError(f"{path}: expected a JSON object, got {short(data)}") from None
        got = "but the field is missing" if wrong.value is MISSING else f"got {short(wrong.value)}"
        raise UserError(f"{path}: {wrong.field}: expected {wrong.what}, {got}") from None
    return data
