"""classification.py's work: parsed flags -> Bayes' rule over one or more models folders, on a data
set's test split, the images training held out, or the test pieces of a text, or a folder's density
(--density); the report printed and written. `classify(args)` runs it."""

from pathlib import Path

import numpy as np

import config
import util
from rnn_draw.commands import calibrating, cli, labelling, trained
from rnn_draw.library import UserError, datasets, ensemble, folders, pictures, progress, reports, text, write_json


def load_folder(models_dir):
    """(manifest, models) of one folder that can classify."""
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
        print(f"{'scoring' if getattr(args, 'density', False) else 'classifying'} the {len(images)} training images "
              f"that {args.models_dir[0]}'s training held out")
    else:
        images, labels = dataset.x_test, dataset.y_test
    chosen = datasets.first_images(images, labels, args.num_images)
    if args.num_images and args.num_images > len(images):
        print(f"note: the {'test' if args.split == 'test' else 'held-out'} set has {len(images)} images; classifying all of them")
    return chosen


def only_trained(args, loaded, images, labels):
    """The images of classes that every folder has a model of (--only_trained_classes), else a one-line refusal."""
    trained = np.logical_and.reduce([np.isin(labels, list(models)) for _, models in loaded])
    if trained.all():
        return images, labels
    names = loaded[0][0]["class_names"]
    missing = sorted({names[k] for k in set(labels[~trained].tolist())})
    if not args.only_trained_classes:
        raise UserError(f"{' and '.join(args.models_dir)}: no model for class(es) {', '.join(missing)}: train them, "
                        "or pass --only_trained_classes to classify the other classes' images only")
    print(f"note: no models for {', '.join(missing)}; classifying the {trained.sum()} images of the other classes")
    return images[trained], labels[trained]


def text_pieces(args, manifest):
    """(strings, labels) of the test split of the text the models were trained on (or --data),
    each string's whitespace runs collapsed and its ends stripped."""
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


def name_the_class(args, loaded):
    """--text: print the most probable class of one string and every class's posterior."""
    manifest = loaded[0][0]
    text.refuse_unseen(args.text, manifest["vocabulary"], "--text")  # util.classify encodes it
    if not args.text.strip():
        raise UserError("--text is empty: give a string to name the language of")
    predictions, scores, classes, prior, _ = util.classify(loaded, [args.text], args.uniform_priors, args.batch_size)
    posterior = np.exp(scores[0] + prior - np.logaddexp.reduce(scores[0] + prior))
    names = [manifest["class_names"][label] for label in classes]
    print(f"{manifest['class_names'][predictions[0]]}")
    print("posterior: " + "  ".join(f"{name}: {p:.3f}" for name, p in sorted(zip(names, posterior), key=lambda x: -x[1])))


def text_report(args, loaded):
    """The test split classified whole and by its first config.TEXT_PREFIXES characters: one report each."""
    manifest = loaded[0][0]
    strings, labels = text_pieces(args, manifest)
    results = {}
    for length in (*config.TEXT_PREFIXES, None):
        chosen = [index for index, string in enumerate(strings) if length is None or len(string) >= length]
        cut = [strings[index][:length] for index in chosen]
        print(f"{'whole strings' if length is None else f'first {length} characters'}: {len(cut)} strings", flush=True)
        if not cut:
            continue
        predictions, scores, classes, _, _ = util.classify(loaded, cut, args.uniform_priors, args.batch_size)
        truth = labels[chosen]
        report = reports.classification_report(manifest, truth, predictions, scores, classes,
                                               dims=np.array([len(string) for string in cut]))
        report["unit"] = "strings"
        if length is None:
            report["none_of_these"] = calibrating.rejections(args.models_dir[0], manifest, cut, scores)
        results["whole" if length is None else str(length)] = report
        print(reports.format_report({**report, "split": args.split}))
    return results


def density(args):
    """--density: the test split's (or the held-out images') negative log-likelihood under one folder's
    models, log p(x) = log sum_k p(k) p(x | k) (a class-free model's own log p(x)), in nats per image and
    bits per dimension with 95% intervals; printed, and written to the folder's density report."""
    folder = args.models_dir[0]
    manifest, models = trained.load_models(folder)
    if folders.is_gan(manifest):
        raise UserError(f"{folder} holds a GAN (train_gan.py): a generator has no likelihood to score; "
                        "--density scores pixel-RNN folders")
    if folders.is_text(manifest):
        raise UserError(f"--density scores image models; {folder} holds character models, whose bits per character "
                        "classification.py reports")
    images, _ = split_images(args, manifest)
    scores, classes = util.class_log_likelihoods(manifest, models, util.tokens_for(manifest, images, args.data or folder),
                                                 args.batch_size, progress.verbosity())
    log_prior = util.log_priors([manifest["train_counts"].get(str(label), 0) for label in classes])
    steps, width = util.sequence_shape(manifest["target_size"], manifest["channels"], manifest["mode"])
    report = {"split": args.split, "data": args.data or manifest["dataset"], "models_dir": folder,
              "classes_mixed": len(classes), "levels": manifest["levels"], "context": manifest.get("context", config.CONTEXT),
              **reports.density_report(-util.log_density(scores, log_prior), steps * width)}
    print(reports.format_density(report))
    out = cli.output_file(args.report, config.DENSITY_REPORTS[args.split]) if args.report else Path(folder) / config.DENSITY_REPORTS[args.split]
    write_json(out, report)
    print(f"report written to {out}")


def classify(args):
    """What classification.py's parsed flags ask for: printed, and written as a report."""
    if args.density:
        return density(args)
    if args.inputs or args.text_file:
        return labelling.label(args, load_folder(args.models_dir[0]))
    if args.calibrate:
        record = calibrating.calibrate(args.models_dir[0], load_folder(args.models_dir[0]), args.data,
                                       args.novelty_method or config.NOVELTY_METHOD, args.acceptance or config.ACCEPTANCE,
                                       args.batch_size)
        print(f"calibrated on {record['validation']} ({record['count']}): 'none of these' by {record['method']}, "
              f"accepting {record['acceptance']:.0%} of them; written to {args.models_dir[0]}")
        return
    loaded = [load_folder(folder) for folder in args.models_dir]
    if folders.is_text(loaded[0][0]):
        if len(loaded) > 1 or args.split != "test":
            raise UserError("character models classify with one --models_dir and the test split")
        if args.text is not None:
            return name_the_class(args, loaded)
        out = report_path(args)
        write_json(out, {"split": "test", "by_length": text_report(args, loaded)})
        print(f"report written to {out}")
        return
    if args.text is not None:
        raise UserError(f"--text goes with character models; {args.models_dir[0]} holds image models")
    manifests = [manifest for manifest, _ in loaded]
    ensemble.check_same_classes(manifests, args.models_dir)
    images, labels = only_trained(args, loaded, *split_images(args, manifests[0]))
    predictions, scores, classes, prior, members = util.classify(
        loaded, images, args.uniform_priors, args.batch_size, progress.verbosity(), args.data or manifests[0]["dataset"])
    report = reports.classification_report(manifests[0], labels, predictions, scores, classes)
    report["split"] = args.split
    if len(loaded) == 1:
        report["none_of_these"] = calibrating.rejections(args.models_dir[0], manifests[0], images, scores)
    if len(loaded) > 1:  # the sum of the members' log-likelihoods is no likelihood: report each member's
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
