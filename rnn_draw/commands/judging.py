"""generate.py --evaluate: samples judged beside real images (recognised by an independent classifier,
copies, diversity, the Fréchet distance in a small CNN's features), written as a report."""

from pathlib import Path

import numpy as np

import config
import util
from rnn_draw.commands.drawing import class_name, output_path, samples
from rnn_draw.library import datasets, frechet, judge, write_json


def real_images(args, manifest):
    """The data set's images: (data set, (training level images, labels), (test level images, labels)),
    the level images as the models see them."""
    source = args.data or manifest["dataset"]
    dataset = datasets.load_dataset(source, manifest["dataset"])
    return (dataset, (util.levels_for(manifest, dataset.x_train, source), dataset.y_train),
            (util.levels_for(manifest, dataset.x_test, source), dataset.y_test))


def frechet_reference(manifest, dataset, labels, count):
    """What samples of `labels` are measured against, computed once for every temperature:
    (the data set's small CNN (rnn_draw/library/frechet.py), features of `count` real test images of those
    classes, the floor: their Fréchet distance from as many real training images)."""
    path = Path(config.FRECHET_DIR) / f"{manifest['dataset']}.keras"  # one network per data set, trained on all of it
    network = frechet.feature_network_for(
        dataset if path.is_file() else datasets.load_dataset(manifest["dataset"], manifest["dataset"]), path)
    chosen = [label for label in labels if label is not None]

    def real(images, truth):
        return (images[np.isin(truth, chosen)] if chosen else images)[:count]

    test, floor = frechet.reference(network, real(dataset.x_test, dataset.y_test), real(dataset.x_train, dataset.y_train))
    return network, test, floor


def frechet_of(manifest, dataset, reference, drawn):
    """The Fréchet distance of the samples `drawn` (level images, pooled), shown at the data set's own
    size, from the real test images of `reference` (`frechet_reference`)."""
    network, test, _ = reference
    shown = frechet.to_native(np.concatenate(drawn), manifest["max_intensity"], dataset.x_train.shape[1])
    return frechet.frechet_distance(frechet.features(network, shown), test)


def evaluate(args, manifest, models, labels):
    """Judge --num_samples samples per class (and temperature); print the figures and the Fréchet
    distance of all of them; write the report."""
    dataset, (train, train_labels), (test, test_labels) = real_images(args, manifest)
    print(f"judge: logistic regression on {min(len(train), judge.MAX_TRAIN_IMAGES)} real training images", flush=True)
    referee = judge.fit_judge(train, train_labels, manifest["max_intensity"], seed=0)
    accuracy = float((referee.predict(test) == test_labels).mean())
    temperatures = args.temperatures or [args.temperature]
    report = {"judge_accuracy_real_test": accuracy, "num_samples": args.num_samples, "models_dir": args.models_dir,
              "temperatures": {}}
    references = {}  # per class: its training images indexed, and the real test images' figures
    for label in labels:
        training = judge.TrainingImages(train if label is None else train[train_labels == label])
        real_test = (test if label is None else test[test_labels == label])[: args.num_samples]
        references[label] = training, judge.real_figures(referee, real_test, label, training)
    reference = frechet_reference(manifest, dataset, labels, args.num_samples * len(labels))
    for temperature in temperatures:
        per_class, drawn = {}, []
        for label in labels:
            training, real = references[label]
            drawn.append(samples(manifest, models[label], args.num_samples, temperature, args.seed, label))
            per_class[class_name(manifest, label)] = {
                "samples": len(drawn[-1]), **judge.figures_of(referee, drawn[-1], label, training), **real}
        figures = per_class[class_name(manifest, labels[0])] if len(labels) == 1 else judge.overall(per_class)
        figures["frechet"], figures["frechet_real_test"] = frechet_of(manifest, dataset, reference, drawn), reference[2]
        print(f"temperature {temperature:g}" + ("" if len(labels) == 1 else f", mean over {len(labels)} classes") + ":")
        for line in judge.summary_lines(figures, accuracy):
            print("  " + line)
        report["temperatures"][str(temperature)] = {"overall": figures, "per_class": per_class}
    name = class_name(manifest, labels[0]) if len(labels) == 1 else "all_classes"
    grid = output_path(args, f"samples_of_{name}")
    written = [grid.with_name(f"{grid.stem}_quality.json")]
    write_json(written[0], report)
    if len(temperatures) > 1:
        written.append(written[0].with_suffix(".png"))
        judge.save_temperature_plot({t: report["temperatures"][str(t)]["overall"] for t in temperatures}, written[-1])
    return written
