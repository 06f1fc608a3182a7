"""Benchmark: "none of these". How well each familiarity score (rnn_draw.library.novelty) tells the inputs
a models folder knows from inputs of no class it has, on unknown sets built here, offline.

images (trained/mnist_models): known = the 10,000 MNIST test digits; unknown = CIFAR-10 test pictures in
  grey, uniform noise, constant pictures, near-constant ones (a constant plus noise of sd 8), inverted and
  rotated (90 and 180 degrees) test digits, and letters drawn with the DejaVu fonts matplotlib ships.
languages (trained/languages): known = fortunes-7lang's test fortunes (in domain) and Django's messages in
  the seven languages (out of domain: data/make_messages.py); unknown = Django's messages in ten other
  languages, random strings, and leave one language out: six of the seven models, the seventh language's
  test fortunes unknown (every rotation; the background and the thresholds recounted on the six).

The protocol, fixed before any measurement:
 - every unknown set is split in halves, its even rows for validation and odd rows for test. The method
   a folder ships (config.NOVELTY_METHOD) is the one with the highest mean AUROC over the validation
   halves of its domain's sets; the tables give the test halves;
 - AUROC: the known test inputs against each unknown set's half; "accepted at 95% / 99%": the share of the
   unknown half above the familiarity that accepts 95% / 99% of the known test inputs;
 - the shipped threshold (MODELS_DIR/none_of_these.json, fixed on validation inputs, not test ones): the
   share of known test inputs it accepts and of each unknown half.
The folder must be calibrated first (classification.py --calibrate).

Usage: python bench/none_of_these.py images|languages [--models_dir DIR] [--report FILE.json]
"""

import argparse
import datetime
import json
import sys
from pathlib import Path

import numpy as np
from common import REPO, hardware, software

import config
from rnn_draw.commands import calibrating, trained
from rnn_draw.library import UserError, background, datasets, novelty, text

PER_SET = 2000  # inputs per unknown image set: 1,000 to choose by, 1,000 to report
SEED = 0
RANDOM_STRINGS = 2000


def halves(values):
    """(validation, test) halves of an array: its even and odd rows."""
    return values[0::2], values[1::2]


# --- images ---------------------------------------------------------------------------------------


def letters(count, rng):
    """`count` letters (A-Z, a-z) drawn white on black, 28x28, with DejaVu Sans (regular, bold, oblique)."""
    import matplotlib
    from PIL import Image, ImageDraw, ImageFont

    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    faces = [ImageFont.truetype(str(fonts / name), size) for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf",
             "DejaVuSans-Oblique.ttf") for size in (18, 20, 22, 24)]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    out = np.zeros((count, 28, 28), np.uint8)
    for index in range(count):
        picture = Image.new("L", (28, 28))
        draw = ImageDraw.Draw(picture)
        face = faces[rng.integers(len(faces))]
        letter = alphabet[rng.integers(len(alphabet))]
        left, top, right, bottom = draw.textbbox((0, 0), letter, font=face)
        x = (28 - (right - left)) / 2 - left + rng.integers(-2, 3)
        y = (28 - (bottom - top)) / 2 - top + rng.integers(-2, 3)
        draw.text((x, y), letter, fill=255, font=face)
        out[index] = np.asarray(picture)
    return out


def image_sets(digits):
    """{name: pictures (PER_SET, 28, 28) uint8}: the unknown image sets, built with a fixed seed."""
    rng = np.random.default_rng(SEED)
    cifar = datasets.load_dataset("cifar10", "cifar10")
    constant = np.repeat(rng.integers(0, 256, PER_SET, dtype=np.uint8)[:, None, None], 28, 1).repeat(28, 2)
    near = np.clip(constant + rng.normal(0, 8, constant.shape), 0, 255).astype(np.uint8)
    return {
        "CIFAR-10 in grey": datasets.to_grayscale(cifar.x_test[:PER_SET]),
        "uniform noise": rng.integers(0, 256, (PER_SET, 28, 28), dtype=np.uint8),
        "constant": constant,
        "near-constant": near,
        "inverted digits": 255 - digits[:PER_SET],
        "digits rotated 90": np.rot90(digits[:PER_SET], 1, axes=(1, 2)).copy(),
        "digits rotated 180": np.rot90(digits[:PER_SET], 2, axes=(1, 2)).copy(),
        "letters (DejaVu)": letters(PER_SET, rng),
    }


def familiar(folder, inputs, model, record):
    """{method: familiarity (N,)} and the Scored of `inputs` under a folder."""
    result = calibrating.scored(folder, inputs, model)
    return calibrating.familiarities(result, record), result


def images(models_dir):
    folder = trained.load_models(models_dir)
    record, model = novelty.load(models_dir), background.load(models_dir)
    mnist = datasets.load_dataset("mnist", "mnist")
    known, result = familiar(folder, mnist.x_test, model, record)
    print(f"known: {len(mnist.x_test)} MNIST test digits, accuracy {np.mean(result.predictions == mnist.y_test):.4f}", flush=True)
    unknown = {}
    for name, pictures in image_sets(mnist.x_test).items():
        unknown[name], _ = familiar(folder, pictures, model, record)
        print(f"scored {name}", flush=True)
    return {"unknown": unknown, "known_sets": {"MNIST test digits": known}, "record": record,
            "known_of": {name: "MNIST test digits" for name in unknown}}


# --- languages ------------------------------------------------------------------------------------


def lines(path):
    return [" ".join(line.split()) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def random_strings(strings, vocabulary, rng):
    """RANDOM_STRINGS strings of the vocabulary's letters, uniformly drawn, as long as `strings` are."""
    alphabet = np.array([char for char in vocabulary[1:] if char.isalpha()])
    lengths = rng.choice([len(string) for string in strings], RANDOM_STRINGS)
    return ["".join(rng.choice(alphabet, length)) for length in lengths]


def scores_of(folder, strings):
    """A Scored of strings under every class, and their token ids."""
    return calibrating.scored(folder, strings), calibrating.util.tokens_for(folder[0], strings)


def with_classes(result, tokens, columns, model):
    """A Scored cut to the class models of `columns`, its background log-likelihoods from `model`."""
    return result._replace(scores=result.scores[:, columns], classes=np.asarray(columns),
                           background_nats=background.log_likelihood(model, tokens))


def languages(models_dir, data, messages, source="Django"):
    folder = trained.load_models(models_dir)
    manifest = folder[0]
    names = manifest["class_names"]
    record, model = novelty.load(models_dir), background.load(models_dir)
    by_class, validation, validation_labels, _ = calibrating.text_inputs(manifest, data)
    class_counts = {label: background.fit(pieces, manifest["levels"], model.offsets).counts for label, pieces in by_class.items()}
    corpus = text.load_corpus(data)
    fortunes = [(" ".join(piece.split()), label) for label, name in enumerate(names) for piece in corpus.test[name]]
    fortune_labels = np.array([label for _, label in fortunes])
    sets = {"validation": validation, "fortunes": [s for s, _ in fortunes],
            f"{source}, seven languages": [line for name in names for line in lines(Path(messages) / "known" / f"{name}.txt")]}
    for path in sorted((Path(messages) / "unknown").glob("*.txt")):
        sets[f"{source}, {path.stem}"] = lines(path)
    sets["random letters"] = random_strings(sets[f"{source}, seven languages"], manifest["vocabulary"], np.random.default_rng(SEED))
    scored = {}
    for name, strings in sets.items():
        scored[name] = scores_of(folder, strings)
        print(f"scored {name}: {len(strings)} strings", flush=True)
    everything = list(range(len(names)))

    def familiarity_of(name, columns, used, calibration):
        return calibrating.familiarities(with_classes(*scored[name], columns, used), calibration)

    known_sets = {"fortunes": familiarity_of("fortunes", everything, model, record),
                  f"{source}, seven languages": familiarity_of(f"{source}, seven languages", everything, model, record)}
    unknown = {name: familiarity_of(name, everything, model, record) for name in sets
               if name.startswith(f"{source}, ") and name != f"{source}, seven languages" or name == "random letters"}
    known_of = {name: f"{source}, seven languages" for name in unknown}
    labels = np.asarray(validation_labels)
    for left_out, language in enumerate(names):
        six = [label for label in everything if label != left_out]
        six_model = background.Background(sum(class_counts[label] for label in six), model.offsets)
        result, tokens = scored["validation"]
        rows = labels != left_out
        held = with_classes(result._replace(scores=result.scores[rows], dims=result.dims[rows]), tokens[rows], six, six_model)
        calibration = calibrating.calibration_of(held, labels[rows])
        whole = familiarity_of("fortunes", six, six_model, calibration)
        kept = fortune_labels != left_out
        known_sets[f"fortunes without {language}"] = {m: v[kept] for m, v in whole.items()}
        unknown[f"leave {language} out"] = {m: v[~kept] for m, v in whole.items()}
        known_of[f"leave {language} out"] = f"fortunes without {language}"
    return {"unknown": unknown, "known_sets": known_sets, "record": record, "known_of": known_of}


# --- the tables -----------------------------------------------------------------------------------


def measured(found):
    """{"choice": ..., "validation": {set: {method: auroc}}, "test": {set: {method: separation}}, "shipped": ...}."""
    validation, test = {}, {}
    for name, scores in found["unknown"].items():
        known = found["known_sets"][found["known_of"][name]]
        validation[name] = {m: novelty.auroc(known[m], halves(scores[m])[0]) for m in novelty.METHODS}
        test[name] = {m: novelty.separation(known[m], halves(scores[m])[1]) for m in novelty.METHODS}
    mean = {m: float(np.mean([validation[name][m] for name in validation])) for m in novelty.METHODS}
    choice = max(mean, key=mean.get)
    record = found["record"]
    limits = {m: novelty.threshold(record["quantiles"][m], record["acceptance"]) for m in novelty.METHODS}
    shipped = {"method": record["method"], "acceptance": record["acceptance"],
               "known_accepted": {name: float(np.mean(scores[record["method"]] >= limits[record["method"]]))
                                  for name, scores in found["known_sets"].items()},
               "unknown_accepted": {name: float(np.mean(halves(scores[record["method"]])[1] >= limits[record["method"]]))
                                    for name, scores in found["unknown"].items()}}
    return {"choice": choice, "mean_validation_auroc": mean, "validation_auroc": validation, "test": test, "shipped": shipped}


def printed(result):
    lines_out = [f"method chosen on the validation halves (mean AUROC): {result['choice']} "
                 + ", ".join(f"{m} {v:.4f}" for m, v in result["mean_validation_auroc"].items()), "",
                 "| unknown set (test half) | n | " + " | ".join(f"{m}: AUROC / acc. 95% / 99%" for m in novelty.METHODS) + " |",
                 "| --- | ---: |" + " --- |" * len(novelty.METHODS)]
    for name, by_method in result["test"].items():
        cells = [f"{s['auroc']:.4f} / {s['accepted_at_95']:.3f} / {s['accepted_at_99']:.3f}" for s in by_method.values()]
        lines_out.append(f"| {name} | {next(iter(by_method.values()))['count']} | " + " | ".join(cells) + " |")
    shipped = result["shipped"]
    lines_out += ["", f"shipped threshold ({shipped['method']}, {shipped['acceptance']:.0%} of validation inputs): known accepted "
                  + ", ".join(f"{k} {v:.4f}" for k, v in shipped["known_accepted"].items()),
                  "unknown accepted (test halves): " + ", ".join(f"{k} {v:.4f}" for k, v in shipped["unknown_accepted"].items())]
    return "\n".join(lines_out)


def rounded(value, digits=6):
    """`value` with every float rounded to `digits` significant digits: a report small enough to commit."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(item, digits) for item in value]
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("domain", choices=("images", "languages"))
    parser.add_argument("--models_dir", default=None, help="default: trained/mnist_models or trained/languages")
    parser.add_argument("--data", default="fortunes-messages-7lang", help="languages: the models' training corpus")
    parser.add_argument("--messages", default=str(REPO / "data" / "messages"), help="languages: data/make_messages.py's folder")
    parser.add_argument("--messages_label", default="Django", help="languages: what the messages are, in the tables")
    parser.add_argument("--report", default=None, help="write the measurements as JSON here")
    args = parser.parse_args()
    started = datetime.datetime.now(datetime.UTC)
    if args.domain == "images":
        found = images(args.models_dir or config.MODELS_DIRS["mnist"])
    else:
        found = languages(args.models_dir or str(REPO / "trained" / "languages"), args.data, args.messages, args.messages_label)
    result = measured(found)
    print(printed(result))
    if args.report:
        ended = datetime.datetime.now(datetime.UTC)
        Path(args.report).write_text(json.dumps({
            "what": f"'None of these' on {args.domain}: AUROC and unknown inputs accepted, each familiarity score, "
                    "test halves; the method chosen on the validation halves; the shipped threshold's acceptances",
            "command": "python bench/none_of_these.py " + " ".join(sys.argv[1:]), "machine": hardware(),
            "software": software(), "date": f"{started:%Y-%m-%d %H:%M} to {ended:%H:%M} UTC", "figures": rounded(result)},
            indent=1) + "\n")
        print(f"report written to {args.report}")


if __name__ == "__main__":
    try:
        main()
    except UserError as error:
        sys.exit(f"error: {error}")
