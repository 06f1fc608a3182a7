"""Every JSON file the project reads is checked against its shape: malformed JSON of any shape is one
line naming the file and the field (shapes.checked), and the shipped folders' files all pass."""

import copy
import itertools
import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import config
from rnn_draw.library import UserError
from rnn_draw.library.shapes import checked

REPO = Path(__file__).resolve().parent.parent
FILES = {"manifest": "models/manifest.json", "record": "models/model_3.json", "checkpoint": "models/model_3.ckpt.json"}
EXAMPLES = settings(max_examples=100, deadline=None)

# --- what the test holds a valid file to be (written apart from rnn_draw.library.shapes) ---------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
FINITE = st.floats(allow_nan=False, allow_infinity=False)
NOT_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])


def below(low):
    """Whole numbers under `low`, the one just under it often."""
    return st.just(low - 1) | st.integers(max_value=low - 1)


NOT_A_FRACTION = st.sampled_from([1.0, -1e-300]) | FINITE.filter(lambda v: not 0 <= v < 1) | NOT_FINITE


def json_type(value):
    """The JSON type of a value, telling true/false from whole numbers (bool is an int in Python)."""
    for kind, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"), (list, "list"), (dict, "object")):
        if isinstance(value, kind):
            return name
    return "null"


ACCEPTS = {"str": {"str"}, "int": {"int"}, "bool": {"bool"}, "number": {"int", "float"},
           "number|null": {"int", "float", "null"}, "list": {"list"}, "object": {"object"}}

# Each field: its path in the document, the JSON type it takes, and values of that type it refuses.
MANIFEST_FIELDS = {
    ("dataset",): ("str", None),
    ("class_names",): ("list", st.just([])),
    ("class_names", 0): ("str", None),
    ("target_size",): ("int", below(1)),
    ("max_intensity",): ("int", below(1)),
    ("levels",): ("int", below(2)),
    ("channels",): ("int", below(1)),
    ("mode",): ("str", st.text(max_size=8).filter(lambda v: v not in ("pixel", "row"))),
    ("conditional",): ("bool", None),
    ("cell",): ("str", st.text(max_size=8).filter(lambda v: v not in config.CELLS)),
    ("units",): ("int", below(1)),
    ("layers",): ("int", below(1)),
    ("unconditional",): ("bool", None),
    ("dropout",): ("number", NOT_A_FRACTION),
    ("grayscale",): ("bool", None),
    ("keras_version",): ("str", None),
}
HISTORY_FIELDS = {
    ("history",): ("object", None),
    ("history", "loss"): ("list", None),
    ("history", "loss", 0): ("number", NOT_FINITE),
}
RECORD_FIELDS = {
    ("command",): ("str", None),
    ("data",): ("str", None),
    ("epochs",): ("int", below(0)),
    ("seed",): ("int", below(0)),
    ("validation_split",): ("number", NOT_A_FRACTION),
    ("discriminative_weight",): ("number", st.floats(max_value=-1e-300) | NOT_FINITE),
    ("train_counts",): ("object", st.dictionaries(st.text(max_size=4).filter(lambda k: not re.fullmatch("[0-9]+", k)),
                                                  st.integers(0, 9), min_size=1)),
    ("train_counts", "3"): ("int", below(0)),
    **HISTORY_FIELDS,
    ("settings",): ("object", None),
    **{("settings", *path): field for path, field in MANIFEST_FIELDS.items()},
    ("best_epoch",): ("int", below(1)),
}
CHECKPOINT_FIELDS = {
    ("epochs_done",): ("int", below(0)),
    **HISTORY_FIELDS,
    ("best_epoch",): ("int", below(0)),
    ("best_val_loss",): ("number|null", NOT_FINITE),
}
FIELDS = {"manifest": MANIFEST_FIELDS, "record": RECORD_FIELDS, "checkpoint": CHECKPOINT_FIELDS}
REQUIRED = {
    "manifest": ["dataset", "class_names", "target_size", "max_intensity", "levels", "channels", "mode",
                 "conditional", "cell", "units", "layers"],
    "record": [],
    "checkpoint": ["epochs_done", "history"],
}

MANIFEST_VALUES = {
    "dataset": st.text(max_size=8),
    "class_names": st.lists(st.text(max_size=6), min_size=1, max_size=4),
    "target_size": st.integers(1, 256),
    "max_intensity": st.integers(1, 255),
    "levels": st.integers(2, 256),
    "channels": st.integers(1, 4),
    "mode": st.sampled_from(["pixel", "row"]),
    "conditional": st.booleans(),
    "cell": st.sampled_from(sorted(config.CELLS)),
    "units": st.integers(1, 65536),
    "layers": st.integers(1, 16),
}
MANIFEST_OPTIONAL = {"unconditional": st.booleans(), "dropout": st.floats(0, 1, exclude_max=True),
                     "grayscale": st.booleans(), "keras_version": st.text(max_size=8)}
HISTORY = st.dictionaries(st.text(max_size=8), st.lists(FINITE | st.integers(-10**6, 10**6), max_size=4), max_size=3)
OTHER_KEYS = st.dictionaries(st.sampled_from(["accuracy", "accuracy_95ci", "note", ""]), JSON_VALUES, max_size=2)


def with_other_keys(documents):
    """Documents with keys no check knows about: they are allowed and left alone."""
    return st.builds(lambda extra, document: {**extra, **document}, OTHER_KEYS, documents)


VALID = {
    "manifest": with_other_keys(st.fixed_dictionaries(MANIFEST_VALUES, optional=MANIFEST_OPTIONAL)),
    "record": with_other_keys(st.fixed_dictionaries({}, optional={
        "command": st.text(max_size=20), "data": st.text(max_size=8), "epochs": st.integers(0, 10**4),
        "seed": st.integers(0, 2**32 - 1), "validation_split": st.floats(0, 1, exclude_max=True),
        "discriminative_weight": st.floats(0, 100), "best_epoch": st.integers(1, 10**4),
        "train_counts": st.dictionaries(st.integers(0, 99).map(str), st.integers(0, 10**5), max_size=4),
        "history": HISTORY,
        "settings": st.fixed_dictionaries({}, optional={**MANIFEST_VALUES, **MANIFEST_OPTIONAL}),
    })),
    "checkpoint": with_other_keys(st.fixed_dictionaries(
        {"epochs_done": st.integers(0, 10**4), "history": HISTORY},
        optional={"best_epoch": st.integers(0, 10**4), "best_val_loss": st.none() | FINITE},
    )),
}


def put(document, path, value):
    """A copy of `document` with `value` at `path`; an object on the way is made if missing, a list
    index (only ever the last step, 0) makes the list [value]."""
    document = copy.deepcopy(document)
    node = document
    for key, inner in itertools.pairwise(path):
        if isinstance(inner, int):
            node[key] = [None]
        elif not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return document


def assert_named(kind, document, *names):
    """checked() refuses `document` with one line naming the file and every one of `names`."""
    with pytest.raises(UserError) as refused:
        checked(FILES[kind], document, kind)
    message = str(refused.value)
    assert message.startswith(FILES[kind] + ": ") and "\n" not in message, message
    for name in names:
        assert name in message, (name, message)
    return message


# --- the properties ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", FILES)
@EXAMPLES
@given(data=st.data())
def test_a_valid_document_passes_unchanged(kind, data):
    document = data.draw(VALID[kind])
    before = copy.deepcopy(document)
    assert checked(FILES[kind], document, kind) is document
    assert json.dumps(document, sort_keys=True) == json.dumps(before, sort_keys=True)


@pytest.mark.parametrize("kind", FILES)
@EXAMPLES
@given(value=JSON_VALUES.filter(lambda v: not isinstance(v, dict)) | NOT_FINITE)
def test_a_document_that_is_not_an_object_names_the_file(kind, value):
    assert "object" in assert_named(kind, value)


@pytest.mark.parametrize("kind", ["manifest", "checkpoint"])
@EXAMPLES
@given(data=st.data())
def test_a_missing_required_field_is_named(kind, data):
    document = data.draw(VALID[kind])
    field = data.draw(st.sampled_from(REQUIRED[kind]))
    del document[field]
    assert "missing" in assert_named(kind, document, field)


@pytest.mark.parametrize("kind", FILES)
@EXAMPLES
@given(data=st.data())
def test_a_field_of_another_type_is_named(kind, data):
    document = data.draw(VALID[kind])
    path = data.draw(st.sampled_from(sorted(FIELDS[kind], key=str)))
    accepted = ACCEPTS[FIELDS[kind][path][0]]
    value = data.draw(JSON_VALUES.filter(lambda v: json_type(v) not in accepted))
    assert_named(kind, put(document, path, value), *(key for key in path if isinstance(key, str)))


@pytest.mark.parametrize("kind", FILES)
@EXAMPLES
@given(data=st.data())
def test_a_value_out_of_range_or_not_finite_is_named(kind, data):
    document = data.draw(VALID[kind])
    path = data.draw(st.sampled_from(sorted((p for p, (_, bad) in FIELDS[kind].items() if bad is not None), key=str)))
    value = data.draw(FIELDS[kind][path][1])
    assert_named(kind, put(document, path, value), *(key for key in path if isinstance(key, str)))


@pytest.mark.parametrize("value", [True, False, 3.0, "3", None])
def test_a_whole_number_is_not_true_false_or_a_float(value):
    manifest = json.loads((REPO / "trained/mnist_models/manifest.json").read_text())
    assert_named("manifest", put(manifest, ("units",), value), "units")


def test_an_unknown_kind_is_a_bug_not_a_user_error():
    with pytest.raises(KeyError):
        checked("x.json", {}, "no such kind")


# --- the shipped folders -------------------------------------------------------------------------


def shipped(pattern):
    return sorted(path for path in REPO.glob(pattern) if ".ckpt" not in path.name)


@pytest.mark.parametrize("path", shipped("trained/*/manifest.json"), ids=str)
def test_the_shipped_manifests_pass(path):
    manifest = json.loads(path.read_text())
    checked(path, manifest, {"text": "text_manifest", "gan": "gan_manifest"}.get(manifest.get("kind"), "manifest"))


@pytest.mark.parametrize("path", shipped("trained/*/model_*.json"), ids=str)
def test_the_shipped_model_records_pass(path):
    checked(path, json.loads(path.read_text()), "record")


def test_the_shipped_folders_are_there():
    assert len(shipped("trained/*/manifest.json")) >= 3 and len(shipped("trained/*/model_*.json")) >= 3


# --- end to end: a models folder with any JSON in its files, loaded as the scripts load it ----------

FOLDER_FILES = ("manifest.json", "model_0.json", "model_1.json")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_json_in_a_models_folder_is_one_line_naming_the_file(data, tiny_models_dir, tmp_path_factory):
    """Whatever JSON value replaces a field, or a whole file, of a trained folder: the folder loads, or
    loading ends in a UserError that names the file; never another exception (an "internal error")."""
    import shutil

    from rnn_draw.commands import trained

    folder = tmp_path_factory.mktemp("folder") / "models"
    shutil.copytree(tiny_models_dir, folder)
    name = data.draw(st.sampled_from(FOLDER_FILES))
    document = json.loads((folder / name).read_text())
    if data.draw(st.booleans()) and document:
        key = data.draw(st.sampled_from(sorted(document)))
        document[key] = data.draw(JSON_VALUES | NOT_FINITE)
    else:
        document = data.draw(JSON_VALUES)
    (folder / name).write_text(json.dumps(document))
    try:
        trained.load_models(folder)
    except UserError as error:
        assert str(folder) in str(error) and "\n" not in str(error), str(error)
