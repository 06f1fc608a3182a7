"""Benchmark: language identification, the project's models against three baselines, on fortunes-7lang's
test split or on an out-of-domain set (--test_set: a folder of <language>.txt, one string per line, such
as data/messages/known, Django's interface messages, made by data/make_messages.py).

Protocol (the one classification.py uses on text): the test split of the corpus, read by the project's
own parser (rnn_draw.library.text.load_corpus), or the lines of --test_set; each string's whitespace runs
collapsed to one space and its ends stripped (empty lines of --test_set left out); then each string cut to its first L characters for L in config.TEXT_PREFIXES
(10, 20, 50), and whole. Strings shorter than L are left out at that L. Accuracy over all test strings,
all languages pooled, with a 95% Wilson interval (rnn_draw.library.reports.wilson_interval).

Methods:
 - naive Bayes: scikit-learn CountVectorizer(analyzer="char", ngram_range=(1, 4)) (its defaults
   otherwise: lowercase=True) + MultinomialNB() (default alpha=1.0, class priors from the training
   pieces' counts), fit on the training pieces of --data (the project's models' own training text) (text.pieces of each language's training text,
   whitespace-collapsed the same way) with their language labels;
 - py3langid, its bundled model restricted to the corpus's languages (LanguageIdentifier.set_languages;
   a string holding none of the model's features gets equal scores and its first language, cs here);
 - lingua, LanguageDetectorBuilder.from_languages(...) of the corpus's languages, default settings
   (high-accuracy mode, minimum relative distance 0, models loaded lazily on first use); detect_language_of
   one string at a time. A None answer (lingua declines) counts as wrong;
 - the project's models (--models_dir): Bayes' rule over its character models (util.classify, as
   classification.py runs it), one batch per length; a character it never saw is token 0.
Times are wall-clock seconds on this machine: setup (fit or model load) and classifying every string at
every length, one string at a time for the two packages, one batch per length for naive Bayes and the
project; strings per second are printed per length.

Baseline packages (benchmark only): pip install -r bench/requirements.txt

Usage: python bench/language_id.py [--data fortunes-7lang] [--models_dir trained/languages] [--out FILE]
                                   [--methods nb py3langid lingua project] [--test_set data/messages/known]
"""

import argparse
import datetime
import json
import sys
from pathlib import Path

from common import REPO, machine, seconds, versions as installed

import config
from rnn_draw.library import UserError, reports, text

LENGTHS = (*config.TEXT_PREFIXES, None)  # None: whole strings
COLUMNS = [("whole" if length is None else str(length)) for length in LENGTHS]
HEADINGS = [("whole" if length is None else f"first {length}") for length in LENGTHS]
METHODS = ("nb", "py3langid", "lingua", "project")
TITLES = {"nb": "char 1-4-gram naive Bayes (scikit-learn)", "py3langid": "py3langid, restricted",
          "lingua": "lingua, restricted, high-accuracy mode", "project": "project: one character model per language"}


def collapsed(string):
    return " ".join(string.split())


def cut(strings, languages):
    """{column: (strings, languages)}: the strings cut to each length (shorter ones left out)."""
    sets = {}
    for column, length in zip(COLUMNS, LENGTHS):
        chosen = [index for index, string in enumerate(strings) if length is None or len(string) >= length]
        sets[column] = ([strings[index][:length] for index in chosen], [languages[index] for index in chosen])
    return sets


def test_sets(corpus):
    """{column: (strings, languages)}: the collapsed test pieces, cut to each length."""
    strings, languages = [], []
    for name in corpus.class_names:
        cleaned = [collapsed(piece) for piece in corpus.test.get(name, [])]
        strings += cleaned
        languages += [name] * len(cleaned)
    empty = sum(1 for string in strings if not string)
    if empty:
        print(f"note: {empty} test pieces are empty after collapsing whitespace (kept, as classification.py keeps them)")
    return cut(strings, languages)


def line_sets(folder, class_names):
    """{column: (strings, languages)} of a folder of <language>.txt files (data/make_messages.py's), one
    string per line, whitespace-collapsed, empty lines left out; cut to each length."""
    strings, languages = [], []
    for name in class_names:
        path = Path(folder) / f"{name}.txt"
        if not path.is_file():
            raise UserError(f"{folder}: no {name}.txt (make it with python data/make_messages.py)")
        lines = [collapsed(line) for line in path.read_text(encoding="utf-8").splitlines()]
        strings += [line for line in lines if line]
        languages += [name] * sum(1 for line in lines if line)
    return cut(strings, languages)


def naive_bayes(corpus):
    """(predict(strings) -> languages, notes() -> str): the char 1-4-gram naive Bayes fit on the training fortunes."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline

    strings, languages = [], []
    for name in corpus.class_names:
        fortunes = [collapsed(piece) for piece in text.pieces(corpus.train[name])]
        strings += fortunes
        languages += [name] * len(fortunes)
    model = make_pipeline(CountVectorizer(analyzer="char", ngram_range=(1, 4)), MultinomialNB())
    model.fit(strings, languages)
    features = len(model[0].vocabulary_)
    notes = f"{len(strings)} training fortunes, {features:,} distinct n-grams, alpha {model[1].alpha}"
    return (lambda batch: list(model.predict(batch))), lambda: notes


def py3langid(corpus):
    """(predict, notes): py3langid's bundled model restricted to the corpus's languages."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    missing = sorted(set(corpus.class_names) - set(identifier.labels))
    if missing:
        raise UserError(f"py3langid has no model of {', '.join(missing)}")
    identifier.set_languages(corpus.class_names)
    featureless = {}

    def predict(batch):
        # rank (best first, ties in the model's label order, as classify's argmax) also shows the strings
        # that hold none of the model's features: every score equal, answered with its first language
        ranked = [identifier.rank(string) for string in batch]
        featureless[len(featureless)] = sum(len({score for _, score in scores}) == 1 for scores in ranked)
        return [scores[0][0] for scores in ranked]

    def notes():
        counts = ", ".join(f"{n} at {c}" for c, n in zip(COLUMNS, featureless.values()) if n)
        return (f"languages {', '.join(identifier.labels)}; " + (f"strings with none of its features (answered "
                f"{identifier.labels[0]}, its first language): {counts}" if counts else "every string had features"))
    return predict, notes


def lingua(corpus):
    """(predict, notes): lingua restricted to the corpus's languages, default settings; None stays None."""
    from lingua import Language, LanguageDetectorBuilder

    known = {language.iso_code_639_1.name.lower(): language for language in Language.all()}
    missing = sorted(set(corpus.class_names) - set(known))
    if missing:
        raise UserError(f"lingua has no model of {', '.join(missing)}")
    codes = {known[name]: name for name in corpus.class_names}
    detector = LanguageDetectorBuilder.from_languages(*codes).build()
    names = ", ".join(language.name.lower() for language in codes)

    def predict(batch):
        return [codes.get(detector.detect_language_of(string)) for string in batch]
    return predict, lambda: f"languages {names}"


def project(corpus, models_dir):
    """(predict, notes): the project's models folder under Bayes' rule (util.classify), one batch per length."""
    import util
    from rnn_draw.commands import trained

    manifest, models = trained.load_models(models_dir)
    if manifest["class_names"] != corpus.class_names:
        raise UserError(f"{models_dir}: its classes {manifest['class_names']} are not the corpus's {corpus.class_names}")
    counted = {"strings": 0, "unseen": 0}

    def predict(batch):
        counted["strings"] += len(batch)
        counted["unseen"] += sum(1 for string in batch if set(string) - set(manifest["vocabulary"][1:]))
        labels = util.classify([(manifest, models)], batch)[0]
        return [manifest["class_names"][label] for label in labels]
    return predict, lambda: (f"{models_dir} ({manifest['dataset']}, {len(manifest['vocabulary'])} characters); "
                             f"strings holding characters it never saw (scored as token 0): {counted['unseen']} of {counted['strings']}")


def measured(method, corpus, sets, models_dir=None):
    """{column: (correct, n, declined)} and {"setup": s, "classify": s, "notes": str} for one method."""
    build = {"nb": naive_bayes, "py3langid": py3langid, "lingua": lingua, "project": project}[method]
    (predict, notes), setup = seconds(build, corpus, *([models_dir] if method == "project" else []))
    results, classify = {}, 0.0
    per_language, speed = {}, {}
    for column, (strings, languages) in sets.items():
        predictions, elapsed = seconds(predict, strings)
        classify += elapsed
        speed[column] = len(strings) / max(elapsed, 1e-9)
        correct = sum(p == t for p, t in zip(predictions, languages))
        declined = sum(p is None for p in predictions)
        results[column] = (correct, len(strings), declined)
        per_language[column] = {name: sum(p == t for p, t in zip(predictions, languages) if t == name)
                                / max(languages.count(name), 1) for name in corpus.class_names}
        print(f"  {TITLES[method]}, {HEADINGS[COLUMNS.index(column)]}: {correct / len(strings):.4f} "
              f"({correct}/{len(strings)}{f', {declined} declined' if declined else ''}), {elapsed:.1f} s, "
              f"{len(strings) / max(elapsed, 1e-9):,.0f} strings/s", flush=True)
    return results, {"setup": setup, "classify": classify, "notes": notes(), "per_language": per_language,
                     "strings_per_second": speed}


def cell(result):
    if result is None:
        return "—"
    correct, n, _ = result
    return f"{correct / n:.4f} ({correct}/{n})" if n else "—"


def interval(result):
    if result is None:
        return "—"
    correct, n, _ = result
    low, high = reports.wilson_interval(correct, n)
    return f"[{low:.4f}, {high:.4f}]"


def tables(rows, info, sets, class_names, header):
    """The Markdown report: accuracy table, interval table, test string counts, per-language table, notes."""
    lines = [*header, "",
             "| method | " + " | ".join(HEADINGS) + " | setup s | classify s |",
             "| --- |" + " ---: |" * (len(COLUMNS) + 2)]
    for method, results in rows.items():
        if results is None:
            lines.append(f"| {TITLES[method]} | " + " | ".join(["not trained yet"] * len(COLUMNS)) + " | — | — |")
            continue
        times = f"{info[method]['setup']:.1f} | {info[method]['classify']:.1f}" if "setup" in info[method] else "— | —"
        lines.append(f"| {TITLES[method]} | " + " | ".join(cell(results.get(c)) for c in COLUMNS) + f" | {times} |")
    if any(results is not None for results in rows.values()):
        lines += ["", "95% Wilson intervals:", "",
                  "| method | " + " | ".join(HEADINGS) + " |", "| --- |" + " ---: |" * len(COLUMNS)]
    for method, results in rows.items():
        if results is not None:
            lines.append(f"| {TITLES[method]} | " + " | ".join(interval(results.get(c)) for c in COLUMNS) + " |")
    lines += ["", "Test strings at each length: "
              + ", ".join(f"{heading} {len(sets[c][0])}" for heading, c in zip(HEADINGS, COLUMNS))
              + " (per language, whole: " + ", ".join(f"{name} {sets['whole'][1].count(name)}" for name in class_names) + ")."
              + " Strings without a letter (digits, punctuation, ASCII art only): "
              + ", ".join(f"{heading} {sum(not any(ch.isalpha() for ch in s) for s in sets[c][0])}"
                          for heading, c in zip(HEADINGS, COLUMNS)) + "."]
    shown = [method for method in rows if info[method].get("per_language")]
    if shown:
        lines += ["", "Per-language accuracy:", "",
                  "| method | strings | " + " | ".join(class_names) + " |", "| --- | --- |" + " ---: |" * len(class_names)]
    for column, heading in ((COLUMNS[0], HEADINGS[0]), ("whole", "whole")):
        for method in shown:
            share = info[method]["per_language"].get(column, {})
            lines.append(f"| {TITLES[method]} | {heading} | "
                         + " | ".join(f"{share[name]:.3f}" if name in share else "—" for name in class_names) + " |")
    notes = [f"{TITLES[method]}: {info[method]['notes']}" for method in rows]
    for method, results in rows.items():
        declined = ", ".join(f"{r[2]} at {c}" for c, r in (results or {}).items() if r[2])
        if declined:
            notes.append(f"{TITLES[method]} declined (answered None, counted wrong): {declined}")
    return "\n".join(lines + [""] + [f"- {note}" for note in notes]) + "\n"


def versions():
    return installed(("scikit-learn", "py3langid", "lingua-language-detector"), missing="not installed")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="fortunes-7lang", help="a corpus with a test split (default: %(default)s)")
    parser.add_argument("--models_dir", default=str(REPO / "trained" / "languages"),
                        help="the project's language models (default: trained/languages)")
    parser.add_argument("--test_set", default=None, metavar="FOLDER",
                        help="test on a folder of <language>.txt files, one string per line (data/messages/known, made by "
                             "data/make_messages.py: the out-of-domain set) instead of the corpus's test split")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS), help="default: all")
    parser.add_argument("--out", help="also write the Markdown report to this file")
    parser.add_argument("--report", help="also write the figures as JSON to this file (docs/reports/ style)")
    args = parser.parse_args()

    corpus = text.load_corpus(args.data)
    if not corpus.test and not args.test_set:
        raise UserError(f"{args.data}: no test/<class>.txt pieces to classify")
    sets = line_sets(args.test_set, corpus.class_names) if args.test_set else test_sets(corpus)
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = [f"Language identification, trained on {corpus.name}, tested on {args.test_set or 'its test split'}: {started}",
              f"Machine: {machine()}; Python {sys.version.split()[0]}; {versions()}"]
    print("\n".join(header), flush=True)
    rows, info = {}, {}
    for method in args.methods:
        print(f"{TITLES[method]}:", flush=True)
        rows[method], info[method] = measured(method, corpus, sets, args.models_dir)
        print(f"  setup {info[method]['setup']:.1f} s, classify {info[method]['classify']:.1f} s; "
              f"{info[method]['notes']}", flush=True)
    report = tables(rows, info, sets, corpus.class_names, header)
    print()
    print(report, end="")
    if args.out:
        Path(args.out).write_text(report)
        print(f"report written to {args.out}")
    if args.report:
        Path(args.report).write_text(json.dumps({
            "what": f"Language identification, trained on {corpus.name}, tested on {args.test_set or 'its test split'}: "
                    "accuracy of each method at each length, strings per second",
            "command": "python bench/language_id.py " + " ".join(sys.argv[1:]), "machine": machine(),
            "software": f"Python {sys.version.split()[0]}, {versions()}", "date": started,
            "figures": {method: None if results is None else {
                "by_length": {column: {"correct": correct, "strings": n, "declined": declined, "accuracy": correct / n,
                                       "accuracy_95ci": list(reports.wilson_interval(correct, n))}
                              for column, (correct, n, declined) in results.items()},
                "strings_per_second": info[method].get("strings_per_second"), "per_language": info[method].get("per_language"),
                "notes": info[method]["notes"]} for method, results in rows.items()}}, indent=1) + "\n")
        print(f"report written to {args.report}")


if __name__ == "__main__":
    try:
        main()
    except UserError as error:
        sys.exit(f"error: {error}")
