"""Characters as tokens: vocabulary, windows, the shared sampler and likelihood on text, languages told
apart by Bayes' rule, and the text scripts' bad inputs."""

import json
import time

import keras
import numpy as np
import pytest
import reference
from conftest import TINY_TEXT_TRAINING as TINY, assert_one_line_error, run_script, two_languages

import config
import util
from rnn_draw.library import UserError, background, text
from rnn_draw.commands import trained

def test_the_vocabulary_round_trips_and_reads_unseen_characters_as_unknown():
    vocab = text.vocabulary(["hello world", "wörld"])
    assert vocab[0] == text.UNKNOWN and vocab[1:] == sorted(set("hello wörld"))
    assert text.decode(text.encode("hello wörld", vocab), vocab) == "hello wörld"
    assert text.encode("h€", vocab).tolist() == [vocab.index("h"), 0]
    with pytest.raises(UserError, match="never saw.*'€'"):
        text.encode_typed("h€", vocab, "--prime")


def test_windows_are_consecutive_and_their_shifted_targets_are_the_next_characters():
    vocab = text.vocabulary(["abcdefghij"])
    windows = text.windows(text.encode("abcdefghij" * 3, vocab), 7)
    assert windows.shape == (4, 7) and text.decode(windows[1], vocab) == "hijabcd"
    inputs = reference.one_hot_inputs(windows, len(vocab))  # what the network reads: the previous character
    np.testing.assert_array_equal(inputs[:, 1:].argmax(-1), windows[:, :-1])
    assert not inputs[:, 0].any()


def test_the_sampler_continues_a_prime_as_the_full_forward_pass_would():
    keras.utils.set_random_seed(0)
    vocab = text.vocabulary(["the quick brown fox"])
    model = util.create_model(len(vocab), units=12)
    prime = text.encode("the q", vocab)
    logits = model.get_layer("logits")
    logits.kernel.assign(logits.kernel * 8)  # sharper distributions: a character drawn from the wrong one shows
    drawn = util.continue_text(model, prime, 20, num_samples=300, seed=1)
    assert drawn.shape == (300, 20)
    whole = np.concatenate([np.tile(prime, (300, 1)), drawn], axis=1)
    tokens, probs = util.sample_tokens(model, 300, whole.shape[1], seed=1, prefix=whole[..., None], keep=whole.shape[1],
                                       with_probs=True)
    np.testing.assert_array_equal(tokens[..., 0], whole)
    full = model.predict_on_batch(reference.one_hot_inputs(whole, len(vocab)))
    np.testing.assert_allclose(probs[:, :, 0], full, atol=1e-4)
    # The 6000 characters drawn follow those distributions, each its own given what came before; the first
    # ones, alone, the distribution after the prime (which a sampler that forgot the prime would miss).
    reference.assert_draws_follow(drawn, full[:, len(prime):])
    reference.assert_draws_follow(drawn[:, 0], full[:, len(prime)])


def test_padded_texts_score_as_their_own_sum_of_logs():
    keras.utils.set_random_seed(0)
    vocab = text.vocabulary(["abc de"])
    model = util.create_model(len(vocab), units=8)
    strings = ["abc", "de ab cd", "a"]
    nats, bits = util.log_likelihood(model, text.padded([text.encode(s, vocab) for s in strings]))
    for string, got in zip(strings, nats):
        tokens = text.encode(string, vocab)[None]
        np.testing.assert_allclose(got, reference.log_likelihood(model, tokens)[0], rtol=1e-5)
    np.testing.assert_allclose(bits, -nats / (np.array([3, 8, 1]) * np.log(2)))


def test_a_string_to_classify_is_scored_after_a_line_break_it_is_not_charged_for():
    keras.utils.set_random_seed(0)
    vocab = text.vocabulary(["ab c\nde"])
    model = util.create_model(len(vocab), units=8)
    strings = ["abc", "de ab cd" * 8, "a"]  # 64 characters and the line break: scored past the first 64 steps
    manifest = {"kind": "text", "vocabulary": vocab}
    nats, bits = util.log_likelihood(model, util.tokens_for(manifest, strings))
    after_break = [reference.log_likelihood(model, text.encode("\n" + s, vocab)[None])[0] for s in strings]
    line_break = reference.log_likelihood(model, text.encode("\n", vocab)[None])[0]
    np.testing.assert_allclose(nats, np.array(after_break) - line_break, rtol=1e-5)  # log p(s | "\n")
    np.testing.assert_allclose(bits, -nats / (np.array([3, 64, 1]) * np.log(2)))  # per character of s only
    assert not np.allclose(nats, util.log_likelihood(model, text.padded([text.encode(s, vocab) for s in strings]))[0])
    # a vocabulary without line breaks reads the string from the start vector, as before
    plain = text.vocabulary(["abc de"])
    assert text.line_tokens(["ab"], plain)[0].tolist() == text.encode("ab", plain).tolist()


def test_the_background_reads_given_context_and_scores_only_the_string():
    vocab = text.vocabulary(["ab\n"])
    model = background.fit([text.encode("\nab\nba\nab", vocab)], len(vocab))
    given = background.log_likelihood(model, text.padded(text.line_tokens(["ab"], vocab)))
    whole = background.log_likelihood(model, text.padded([text.encode("\nab", vocab)]))
    alone = background.log_likelihood(model, text.padded([text.encode("\n", vocab)]))
    np.testing.assert_allclose(given, whole - alone)


def test_a_corpus_the_project_makes_says_how_to_make_it_when_missing(monkeypatch, tmp_path):
    entry = {**config.DATASETS["fortunes-messages-7lang"], "copies": (str(tmp_path / "not_made"),)}
    monkeypatch.setitem(config.DATASETS, "fortunes-messages-7lang", entry)
    with pytest.raises(UserError, match="no local copy.*; make it with python data/make_messages.py"):
        text.load_corpus("fortunes-messages-7lang")


def test_two_languages_are_told_apart_by_bayes_rule(languages):
    data, models = languages
    manifest, loaded = trained.load_models(models)
    assert manifest["kind"] == "text" and sorted(loaded) == [0, 1]
    strings = ["abba ab baab", "zyx xyz zz", "ab", "xz"]
    predictions, scores, _, _, _ = util.classify([(manifest, loaded)], strings)
    assert predictions.tolist() == [0, 1, 0, 1] and scores.shape == (4, 2)


def test_classification_reports_every_prefix_length_and_names_a_typed_string(languages, tmp_path):
    data, models = languages
    result = run_script("classification.py", "--models_dir", models, "--data", data, "--report", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())["by_length"]
    assert set(report) == {"10", "20", "50", "whole"}
    assert report["whole"]["num_images"] == 40 and report["whole"]["accuracy"] >= 0.9
    named = run_script("classification.py", "--models_dir", models, "--text", "zyx zz y")
    assert named.returncode == 0 and named.stdout.splitlines()[0] == "xyz", named.stdout + named.stderr


def test_generate_writes_the_prime_and_its_continuation(languages, tmp_path):
    _, models = languages
    out = tmp_path / "t.txt"
    result = run_script("generate.py", "--models_dir", models, "--label", "ab", "--prime", "ab ba", "--length", "40",
                        "--seed", "0", "--samples", "2", "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    written = out.read_text().split("\n\n")
    assert len(written) == 2 and all(sample.startswith("ab ba") and len(sample.strip("\n")) == 45 for sample in written)


def bad_text_inputs(tmp_path, models):
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    return [
        (["train_text.py", "--data", tmp_path / "missing.txt"], "no such file"),
        (["train_text.py", "--data", tmp_path / "empty.txt"], "empty"),
        (["train_text.py", "--data", tmp_path / "binary.txt"], "binary"),
        (["train_text.py", "--data", tmp_path / "empty.txt", "--seq_length", "0"], "--seq_length"),
        (["train_text.py", "--data", "nietzsche", "--recipe", "demo"], "--recipe demo"),
        (["generate.py", "--models_dir", models, "--label", "ab", "--prime", "a€b"], "never saw"),
        (["generate.py", "--models_dir", models, "--label", "ab", "--length", "10000000"], "--length"),
        (["generate.py", "--models_dir", models, "--label", "ab", "--prime_file", tmp_path / "binary.txt"], "binary"),
        (["classification.py", "--models_dir", models, "--text", "x€"], "never saw"),
    ]


def test_bad_text_inputs_are_one_line_and_write_nothing(languages, tmp_path):
    _, models = languages
    before = sorted(path.name for path in models.iterdir())
    out = tmp_path / "out"
    where = {"train_text.py": ["--models_dir", out], "generate.py": ["--out", out / "x.txt"],
             "classification.py": ["--report", out / "r.json"]}
    for command, fragment in bad_text_inputs(tmp_path, models):
        assert_one_line_error(run_script(*command, *where[command[0]]), fragment)
        assert not out.exists(), command
    assert sorted(path.name for path in models.iterdir()) == before


def test_a_time_budget_stops_training_after_the_epoch_that_spends_it(tmp_path):
    data = two_languages(tmp_path / "data")
    started = time.monotonic()
    result = run_script("train_text.py", "--data", data, "--class_name", "ab", "--models_dir", tmp_path / "m",
                        *TINY[:2], "--epochs", "5", *TINY[4:], "--max_minutes", "0.0001")
    whole_run = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-2000:]
    assert "time limit:" in result.stdout
    history = json.loads((tmp_path / "m" / "model_0.json").read_text())["history"]
    counted = history["seconds"]  # the record's count of training time: one epoch's worth, not a speed target
    assert len(history["loss"]) == 1 and len(counted) == 1
    # The stop rule on the record's own count: another epoch as long would pass the budget of 0.006 s...
    assert 2 * counted[0] > 0.0001 * 60
    # ...and the count is this run's seconds (not milliseconds, nor a clock's reading): within its whole run's.
    assert counted[0] <= whole_run, (counted, whole_run)
