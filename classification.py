"""Classify test images by Bayes' rule with trained models: argmax_k log p(x | k) + log p(k).

Prints the accuracy (with a 95% confidence interval), per-class accuracy, the test set's negative
log-likelihood under the true class and the confusion matrix; writes a JSON report and the
confusion matrix as a PNG. --num_images N classifies the first N test images, as in the tutorial.
Several --models_dir folders make an ensemble (a product of experts): their log p(x | k) are added
per class, each folder scoring the images with its own preprocessing.
--split validation classifies instead the training images that the models' own training held out
for validation: a figure to choose between runs (seeds, settings) by, leaving the test set alone.
With character models (train_text.py), the same rule names the language of a text: the test
split's pieces (whitespace runs collapsed, ends stripped) are classified whole and by their first 10,
20 and 50 characters; --text names the language of one string.
Example (the tutorial's command):  python classification.py --num_images=10000
Ensemble:  python classification.py --models_dir trained/mnist_models trained/conditional
Languages: python classification.py --models_dir trained/languages --data fortunes-7lang
           python classification.py --models_dir trained/languages --text "Wie spät ist es?"
"""

from pathlib import Path

import config
from rnn_draw.library import UserError
from rnn_draw.commands import cli


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--num_images", type=cli.positive(int), default=None, metavar="N",
                        help="classify the first N test images (default: all)")
    parser.add_argument("--split", choices=tuple(config.REPORT_NAMES), default=config.SPLIT,
                        help="test: the test images; validation: the training images the models' training held out "
                             "(--validation_split), to choose between runs without touching the test set (default: test)")
    parser.add_argument("--dataset", choices=tuple(config.MODELS_DIRS), default=None, help="picks the default --models_dir (default: mnist)")
    parser.add_argument("--models_dir", nargs="+", default=None, metavar="DIR",
                        help=f"trained models; several folders with the same classes make an ensemble "
                             f"(default: {config.MNIST_MODELS_DIR})")
    parser.add_argument("--data", default=None, metavar="NAME_OR_PATH",
                        help="the images: a data set name or a path, as in training (default: the models' data set; "
                             "with --split validation, the data they were trained on)")
    parser.add_argument("--batch_size", type=cli.positive(int, 65_536), default=config.SCORE_BATCH_SIZE,
                        help="images scored at once, 1-65536; fewer if they would not fit in memory (default: %(default)s)")
    parser.add_argument("--uniform_priors", action="store_true", help="ignore class frequencies: p(k) = 1/K")
    parser.add_argument("--only_trained_classes", action="store_true",
                        help="when some classes have no model, classify only the images of those that do")
    parser.add_argument("--text", default=None, metavar="STRING",
                        help="character models: name the class (language) of this string, with each class's posterior")
    parser.add_argument("--report", default=None, metavar="FILE",
                        help="JSON report, or a folder for classification.json (default: MODELS_DIR/classification.json; "
                             f"for an ensemble {config.GENERATED_DIR}/ensemble_classification.json)")
    args = parser.parse_args()
    args.models_dir = args.models_dir or [config.MODELS_DIRS[args.dataset or "mnist"]]
    if args.split == "validation" and len(args.models_dir) > 1:
        parser.error("--split validation takes one --models_dir: each folder's training held out its own images")
    return args


def load_folder(models_dir):
    """(manifest, models) of one folder that can classify."""
    from rnn_draw.commands import trained

    manifest, models = trained.load_models(models_dir)
    if manifest.get("kind") == "gan":
        raise UserError(f"{models_dir} holds a GAN (train_gan.py): a generator has no likelihood, so it cannot compare "
                        "classes by Bayes' rule; classify with per-class or --conditional pixel-RNN models")
    if manifest["unconditional"]:
        raise UserError(f"{models_dir} holds one model told nothing of classes: it samples and completes images "
                        "but cannot compare classes; classify with per-class or --conditional models")
    return manifest, models


def report_path(args):
    """--report (a folder gets the report's usual name), else in the models folder, or generated/ for an ensemble."""
    name = config.REPORT_NAMES[args.split]
    if args.report:
        return cli.output_file(args.report, name)
    if len(args.models_dir) == 1:
        return Path(args.models_dir[0]) / name
    return Path(config.GENERATED_DIR) / config.ENSEMBLE_REPORT


def split_images(args, manifest):
    """(images, labels) to classify: the first --num_images of the test split, or of the training
    images that the models' training held out for validation."""
    from rnn_draw.library import datasets, folders

    runs = folders.training_runs(args.models_dir[0]) if args.split == "validation" else []
    trained_on = {run.get("data") for run in runs}
    if not args.data and len(trained_on) > 1:
        raise UserError(f"{args.models_dir[0]}: its models were trained on different data ({', '.join(sorted(map(str, trained_on)))}); "
                        "say which with --data")
    data = args.data or (trained_on.pop() if runs else None) or manifest["dataset"]
    dataset = datasets.load_dataset(data, manifest["dataset"])
    if dataset.class_names != manifest["class_names"]:
        raise UserError(f"the data's classes {dataset.class_names} are not the models' {manifest['class_names']}")
    if runs:
        images, labels = datasets.held_out_images(dataset.x_train, dataset.y_train, runs)
        if not len(images):
            raise UserError(f"{args.models_dir[0]}: its training held out no images (--validation_split 0)")
        print(f"classifying the {len(images)} training images that {args.models_dir[0]}'s training held out")
    else:
        images, labels = dataset.x_test, dataset.y_test
    chosen = datasets.first_images(images, labels, args.num_images)
    if args.num_images and args.num_images > len(images):
        print(f"note: the {'test' if args.split == 'test' else 'held-out'} set has {len(images)} images; classifying all of them")
    return chosen


def only_trained(args, folders, images, labels):
    """The images of classes that every folder has a model of (--only_trained_classes), else a one-line refusal."""
    import numpy as np

    trained = np.logical_and.reduce([np.isin(labels, list(models)) for _, models in folders])
    if trained.all():
        return images, labels
    names = folders[0][0]["class_names"]
    missing = sorted({names[k] for k in set(labels[~trained].tolist())})
    if not args.only_trained_classes:
        raise UserError(f"{' and '.join(args.models_dir)}: no model for class(es) {', '.join(missing)}: train them, "
                        "or pass --only_trained_classes to classify the other classes' images only")
    print(f"note: no models for {', '.join(missing)}; classifying the {trained.sum()} images of the other classes")
    return images[trained], labels[trained]


def text_pieces(args, manifest):
    """(strings, labels) of the test split of the text the models were trained on (or --data),
    each string's whitespace runs collapsed and its ends stripped."""
    import numpy as np

    from rnn_draw.library import text

    corpus = text.load_corpus(args.data or manifest["dataset"])
    if corpus.class_names != manifest["class_names"]:
        raise UserError(f"the data's classes {corpus.class_names} are not the models' {manifest['class_names']}")
    strings, labels = [], []
    for label, name in enumerate(corpus.class_names):
        cleaned = [" ".join(piece.split()) for piece in corpus.test.get(name, [])]
        strings += cleaned
        labels += [label] * len(cleaned)
    if not strings:
        raise UserError(f"{args.data or manifest['dataset']}: no test/<class>.txt pieces to classify")
    return strings[: args.num_images], np.array(labels[: args.num_images])


def name_the_class(args, folders):
    """--text: print the most probable class of one string and every class's posterior."""
    import numpy as np

    import util
    from rnn_draw.library import text

    manifest = folders[0][0]
    text.encode_typed(args.text, manifest["vocabulary"], "--text")  # refuses characters never seen
    if not args.text.strip():
        raise UserError("--text is empty: give a string to name the language of")
    predictions, scores, classes, prior, _ = util.classify(folders, [args.text], args.uniform_priors, args.batch_size)
    posterior = np.exp(scores[0] + prior - np.logaddexp.reduce(scores[0] + prior))
    names = [manifest["class_names"][label] for label in classes]
    print(f"{manifest['class_names'][predictions[0]]}")
    print("posterior: " + "  ".join(f"{name}: {p:.3f}" for name, p in sorted(zip(names, posterior), key=lambda x: -x[1])))


def text_report(args, folders):
    """The test split classified whole and by its first config.TEXT_PREFIXES characters: one report each."""
    import numpy as np

    import util
    from rnn_draw.library import reports

    manifest = folders[0][0]
    strings, labels = text_pieces(args, manifest)
    results = {}
    for length in (*config.TEXT_PREFIXES, None):
        chosen = [index for index, string in enumerate(strings) if length is None or len(string) >= length]
        cut = [strings[index][:length] for index in chosen]
        print(f"{'whole strings' if length is None else f'first {length} characters'}: {len(cut)} strings", flush=True)
        if not cut:
            continue
        predictions, scores, classes, _, _ = util.classify(folders, cut, args.uniform_priors, args.batch_size)
        truth = labels[chosen]
        report = reports.classification_report(manifest, truth, predictions, scores, classes,
                                               dims=np.array([len(string) for string in cut]))
        report["unit"] = "strings"
        results["whole" if length is None else str(length)] = report
        print(reports.format_report({**report, "split": args.split}))
    return results


def main():
    args = parse_args()
    import util  # after the flags are checked: importing Keras takes seconds, --help should not wait
    from rnn_draw.library import ensemble, pictures, reports, write_json
    from rnn_draw.library import folders as folder_files

    folders = [load_folder(folder) for folder in args.models_dir]
    if folder_files.is_text(folders[0][0]):
        if len(folders) > 1 or args.split != "test":
            raise UserError("character models classify with one --models_dir and the test split")
        if args.text is not None:
            return name_the_class(args, folders)
        out = report_path(args)
        write_json(out, {"split": "test", "by_length": text_report(args, folders)})
        print(f"report written to {out}")
        return
    if args.text is not None:
        raise UserError(f"--text goes with character models; {args.models_dir[0]} holds image models")
    manifests = [manifest for manifest, _ in folders]
    ensemble.check_same_classes(manifests, args.models_dir)
    images, labels = only_trained(args, folders, *split_images(args, manifests[0]))
    predictions, scores, classes, prior, members = util.classify(
        folders, images, args.uniform_priors, args.batch_size, util.progress_verbosity(), args.data or manifests[0]["dataset"])
    report = reports.classification_report(manifests[0], labels, predictions, scores, classes)
    report["split"] = args.split
    if len(folders) > 1:  # the sum of the members' log-likelihoods is no likelihood: report each member's
        report.update(nll_true_class_nats=None, bits_per_dim_true_class=None, members=[
            {"models_dir": folder, **reports.classification_report(
                their_manifest, labels, util.bayes_rule(their_scores, classes, prior), their_scores, classes)}
            for folder, their_manifest, their_scores in zip(args.models_dir, manifests, members)
        ])
    print(reports.format_report(report))
    out = report_path(args)
    write_json(out, report)
    pictures.save_confusion_png(report, out.with_suffix(".png"))
    print(f"report written to {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    cli.run_cli(main)
