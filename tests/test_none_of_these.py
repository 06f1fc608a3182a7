"""'None of these': the background model, the familiarity scores and their thresholds, calibration of a
models folder, and classification.py labelling a user's own pictures and lines of text, row by row."""

import csv
import itertools
import json
import shutil

import numpy as np
import pytest
from conftest import assert_one_line_error, run_script
from PIL import Image

from rnn_draw.library import background, novelty


def test_the_background_model_is_a_distribution_over_every_sequence():
    rng = np.random.default_rng(0)
    levels, length = 3, 4
    model = background.fit(rng.integers(0, levels, (50, length)), levels, offsets=(1, 2))
    every = np.array(list(itertools.product(range(levels), repeat=length)))
    assert np.isclose(np.exp(background.log_likelihood(model, every)).sum(), 1.0)
    # shorter sequences (padded with -1) are a distribution of their own length
    padded = np.c_[every[:, :2], np.full((len(every), 2), -1)]
    assert np.isclose(np.exp(background.log_likelihood(model, np.unique(padded, axis=0))).sum(), 1.0)


def test_the_background_counts_what_follows_each_context():
    sequences = [np.array([0, 1, 1]), np.array([1, 0])]
    model = background.fit(sequences, 2)
    assert model.counts.tolist() == [[0, 1], [1, 1], [1, 1]]  # after 0; after 1; first tokens (after the start)
    assert (background.fit(np.array([[0, 1, 1], [1, 0, -1]]), 2).counts == model.counts).all()


def test_the_threshold_accepts_the_stated_share_of_validation_inputs():
    familiar = np.random.default_rng(1).normal(size=20_000)
    stored = novelty.quantiles(familiar)
    for acceptance in (0.5, 0.9, 0.99):
        assert abs(np.mean(familiar >= novelty.threshold(stored, acceptance)) - acceptance) < 0.002


def test_auroc_and_the_accepted_share_tell_separated_sets_from_mixed_ones():
    rng = np.random.default_rng(2)
    known = rng.normal(size=2000)
    assert novelty.auroc(known, known - 10) == 1.0 and novelty.auroc(known, known + 10) == 0.0
    assert 0.45 < novelty.auroc(known, rng.normal(size=2000)) < 0.55
    assert novelty.accepted_share(known, known - 10, 0.99) == 0.0
    assert 0.93 < novelty.accepted_share(known, rng.normal(size=5000), 0.95) < 0.97


def test_each_familiarity_reads_the_best_class_and_combined_takes_the_worse_test():
    dims = np.array([10, 10, 20])
    scores = -np.log(2) * np.array([[10.0, 30.0], [50.0, 20.0], [10.0, 40.0]])  # bits: best 1.0, 2.0, 0.5 per dim
    assert np.allclose(novelty.familiarity("likelihood", scores, dims), [-1.0, -2.0, -0.5])
    root = np.sqrt(dims)  # typicality: the distance in bits per dimension, times sqrt(dimensions)
    assert np.allclose(novelty.familiarity("typicality", scores, dims, class_bits=[1.5, 1.0]), [-0.5, -1.0, -1.0] * root)
    background_nats = -np.log(2) * np.array([30.0, 30.0, 10.0])  # bits per dim 3.0, 3.0, 0.5
    assert np.allclose(novelty.familiarity("ratio", scores, dims, background_nats), [2.0, 1.0, 0.0])
    stored = {"typicality": np.linspace(-2, 0, 1001), "ratio": np.linspace(-1, 3, 1001)}
    combined = novelty.familiarity("combined", scores, dims, background_nats, [1.5, 1.0], stored)
    typical = novelty.spread_units(novelty.familiarity("typicality", scores, dims, class_bits=[1.5, 1.0]), stored["typicality"])
    ratio = novelty.spread_units(novelty.familiarity("ratio", scores, dims, background_nats), stored["ratio"])
    assert np.allclose(combined, np.minimum(typical, ratio)) and not np.allclose(typical, ratio)
    assert np.allclose(novelty.spread_units([-1.0, -1.98, -2.96], stored["typicality"]), [0.0, -1.0, -2.0])  # median, 1%


@pytest.fixture(scope="module")
def calibrated_languages(languages, tmp_path_factory):
    """(data, a calibrated copy of the tiny language models)."""
    data, models = languages
    copy = tmp_path_factory.mktemp("calibrated") / "languages"
    shutil.copytree(models, copy)
    result = run_script("classification.py", "--models_dir", copy, "--calibrate", "--data", data)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "accepting 99%" in result.stdout
    return data, copy


def test_calibration_stores_the_background_and_every_methods_quantiles(calibrated_languages):
    _, models = calibrated_languages
    record = novelty.load(models)
    assert record["method"] == "combined" and record["acceptance"] == 0.99 and record["count"] > 0
    assert set(record["quantiles"]) == set(novelty.METHODS)
    assert all(np.all(np.diff(values) >= 0) for values in record["quantiles"].values())
    model = background.load(models)
    assert model.offsets == (1,) and model.counts.sum() > 10_000


def test_calibration_stores_the_method_and_acceptance_it_is_given(calibrated_languages, tmp_path):
    data, models = calibrated_languages
    copy = tmp_path / "languages"
    shutil.copytree(models, copy)
    result = run_script("classification.py", "--models_dir", copy, "--calibrate", "--data", data,
                        "--novelty_method", "ratio", "--acceptance", "0.95")
    assert result.returncode == 0 and "by ratio, accepting 95%" in result.stdout, result.stderr[-2000:]
    record = novelty.load(copy)
    assert (record["method"], record["acceptance"]) == ("ratio", 0.95)
    assert record["quantiles"] == novelty.load(models)["quantiles"]  # the same validation inputs, scored alike


def test_lines_are_labelled_one_row_each_and_a_mixture_is_none_of_these(calibrated_languages, tmp_path):
    _, models = calibrated_languages
    lines = ["abba ab baab ba", "zyx xyz zz yx zy", "", "axbyazbxaybzaxby", "ab € ba", "ba ab"]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n")
    result = run_script("classification.py", "--models_dir", models, "--text_file", tmp_path / "in.txt",
                        "--output", tmp_path / "rows.csv")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = list(csv.DictReader((tmp_path / "rows.csv").open()))
    assert [row["input"] for row in rows] == ["1", "2", "3", "4", "5", "6"]
    assert [row["verdict"] for row in rows[:2]] == ["ab", "xyz"]
    assert rows[2]["verdict"] == "unread: empty line" and rows[4]["verdict"].startswith("unread: characters the models never saw")
    assert rows[3]["verdict"] == "none of these" and rows[3]["class"] in ("ab", "xyz")
    assert float(rows[0]["posterior"]) > 0.9 and float(rows[0]["bits_per_dim"]) < float(rows[3]["bits_per_dim"])
    rejected = sum(row["verdict"] == "none of these" for row in rows)
    assert "6 inputs: " in result.stdout and "2 unread" in result.stdout and f"{rejected} none of these" in result.stdout
    # a lower acceptance rejects more; JSON lines carry the same rows
    strict = run_script("classification.py", "--models_dir", models, "--text_file", tmp_path / "in.txt",
                        "--acceptance", "0.01", "--output", tmp_path / "rows.jsonl")
    assert strict.returncode == 0, strict.stderr[-2000:]
    loose = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert len(loose) == 6 and sum(row["verdict"] == "none of these" for row in loose) > 1


def test_standard_input_is_read_when_the_file_is_a_dash(calibrated_languages, tmp_path):
    import os
    import subprocess
    import sys

    from conftest import REPO

    _, models = calibrated_languages
    result = subprocess.run([sys.executable, "classification.py", "--models_dir", str(models), "--text_file", "-",
                             "--output", str(tmp_path / "rows.csv")], input="ab ba\nxyz zy\n", capture_output=True,
                            text=True, cwd=REPO, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [row["class"] for row in csv.DictReader((tmp_path / "rows.csv").open())] == ["ab", "xyz"]


def test_bad_text_inputs_to_label_are_one_line_and_write_nothing(calibrated_languages, tmp_path):
    _, models = calibrated_languages
    (tmp_path / "empty.txt").write_text(" \n")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    (tmp_path / "unseen.txt").write_text("€€\n\n")
    out = tmp_path / "out" / "rows.csv"
    for args, fragment in [(["--text_file", tmp_path / "empty.txt"], "empty"),
                           (["--text_file", tmp_path / "binary.txt"], "binary"),
                           (["--text_file", tmp_path / "unseen.txt"], "nothing to label"),
                           (["--text_file", tmp_path / "missing.txt"], "missing.txt"),
                           (["--inputs", tmp_path / "empty.txt"], "--inputs takes pictures")]:
        assert_one_line_error(run_script("classification.py", "--models_dir", models, *args, "--output", out), fragment)
        assert not out.parent.exists(), args


def test_pictures_are_labelled_and_an_unreadable_one_is_a_row_with_its_reason(tiny_models_dir, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir, models)
    calibrated = run_script("classification.py", "--models_dir", models, "--calibrate")
    assert calibrated.returncode == 0, calibrated.stderr[-2000:]
    assert "training held none out" in calibrated.stdout
    report = run_script("classification.py", "--models_dir", models, "--data", "mnist-mini", "--only_trained_classes",
                        "--report", tmp_path / "report.json")
    assert report.returncode == 0, report.stderr[-2000:]
    counted = json.loads((tmp_path / "report.json").read_text())["none_of_these"]
    assert counted["of"] == 200 and 0 <= counted["rejected"] < 40 and counted["method"] == "combined"
    assert f"none of these (combined, threshold accepting 99% of validation images): {counted['rejected']} of 200" in report.stdout
    with np.load("data/mnist-mini.npz") as mini:
        digits, labels = mini["x_test"], mini["y_test"]
    pictures = tmp_path / "pictures"
    (pictures / "more").mkdir(parents=True)
    for index in np.flatnonzero(labels < 2)[:6]:
        Image.fromarray(digits[index]).save(pictures / "more" / f"{index}_is_{labels[index]}.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)).save(pictures / "noise.png")
    (pictures / "broken.png").write_bytes(b"\x89PNG\r\n garbage")
    (pictures / "notes.txt").write_text("not a picture, and not named: left out")
    result = run_script("classification.py", "--models_dir", models, "--inputs", pictures, tmp_path / "nothing.png",
                        "--output", tmp_path / "rows.jsonl")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {row["input"]: row for row in map(json.loads, (tmp_path / "rows.jsonl").read_text().splitlines())}
    assert len(rows) == 9 and not any(name.endswith("notes.txt") for name in rows)
    assert rows[str(pictures / "broken.png")]["verdict"].startswith("unread: unreadable image")
    assert rows[str(tmp_path / "nothing.png")]["verdict"] == "unread: no such file"
    assert rows[str(pictures / "noise.png")]["verdict"] == "none of these"
    digits_rows = [row for name, row in rows.items() if "_is_" in name]
    right = sum(row["class"] == name.rsplit("_is_", 1)[1][0] for name, row in rows.items() if "_is_" in name)
    assert len(digits_rows) == 6 and right >= 5
    assert "unread: unreadable image" in result.stdout  # the table shows every row


def mo_file(entries):
    """A GNU .mo catalog (the format gettext reads) of {msgid: msgstr}, with the header entry first."""
    import struct

    entries = {"": "Content-Type: text/plain; charset=UTF-8\n", **entries}
    ids, strs = [key.encode() for key in sorted(entries)], [entries[key].encode() for key in sorted(entries)]
    start = 7 * 4 + 16 * len(ids)
    id_table, str_table, blob = [], [], b""
    for data, table in [(data, id_table) for data in ids] + [(data, str_table) for data in strs]:
        table.append((len(data), start + len(blob)))
        blob += data + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, len(ids), 28, 28 + 8 * len(ids), 0, 0)
    return header + b"".join(struct.pack("<2I", *pair) for pair in id_table + str_table) + blob


def test_the_message_data_keeps_translated_messages_and_spreads_them_among_the_fortunes():
    import importlib.util

    from conftest import REPO

    spec = importlib.util.spec_from_file_location("make_messages", REPO / "data" / "make_messages.py")
    make_messages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_messages)
    catalogs = [("de", mo_file({"Save": "Speichern", "Delete  all": "Alle   löschen", "OK": "OK", "42": "42"})),
                ("de", mo_file({"Save": "Sichern"})), ("pt", mo_file({"Save": "Salvar"}))]
    found = make_messages.messages(catalogs, ("de", "en"))
    # untranslated (OK) and letterless (42) messages are left out, whitespace collapsed, each message once
    assert found["de"] == ["Alle löschen", "Speichern", "Sichern"] and found["en"] == ["Delete all", "OK", "Save"]
    mixed = make_messages.interleaved([f"f{i}" for i in range(10)], ["m0", "m1"], 2)
    assert sorted(mixed) == sorted([f"f{i}" for i in range(10)] + ["m0", "m1"] * 2)
    assert [i for i, piece in enumerate(mixed) if piece.startswith("m")] == [1, 5, 8, 12]  # spread evenly, not appended
