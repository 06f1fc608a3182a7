"""The table no anchor has: pixel RNNs and GANs judged on the same numbers, a row per models folder.

For each folder: training minutes (from its records' `seconds`, else "see docs"), seconds to draw 100
images (a warm-up draw first, so compiling is not counted), then `generate.py --evaluate` over every
class (recognised share, copies, diversity and distance to the nearest training image, each beside
real test images', and the Fréchet distance in the feature space of the data set's small CNN, real
test images against real training images as the floor), and, where the folder can classify, its
accuracy and bits per dimension from its classification.json (run classification.py first).

Usage: python bench/generators.py trained/mnist_models trained/conditional trained/gan_mnist_conditional \
           [--num_samples 300] [--seed 0]
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

from common import REPO, seconds


def training_minutes(folder):
    """Minutes of training summed over the folder's models, or None where records kept no `seconds`."""
    total = 0.0
    for path in sorted(Path(folder).glob("model_*.json")):
        done = json.loads(path.read_text()).get("history", {}).get("seconds")
        if not done:
            return None
        total += done[-1]
    return total / 60


def sampling_seconds(folder, count=100, seed=0):
    """Seconds to draw `count` images spread over the folder's classes (after one warm-up draw)."""
    from rnn_draw.commands import drawing, trained

    manifest, models = trained.load_models(folder)
    labels = sorted(models, key=lambda label: -1 if label is None else label)
    share = -(-count // len(labels))

    def draw_all():
        return [drawing.samples(manifest, models[label], share, 1.0, seed, label) for label in labels]

    draw_all()
    return seconds(draw_all)[1]


def evaluation(folder, num_samples, seed):
    """The `overall` figures of generate.py --evaluate over every class of the folder (its report is
    written in generated/, where generate.py puts reports of every class)."""
    manifest = json.loads((Path(folder) / "manifest.json").read_text())
    which, count, name = ([], num_samples * len(manifest["class_names"]), "all") if manifest.get("unconditional") else (
        ["--all_digits"], num_samples, "all_classes")  # as many samples in all either way
    report_path = REPO / "generated" / f"samples_of_{name}_quality.json"
    report_path.unlink(missing_ok=True)
    command = [sys.executable, "generate.py", "--models_dir", str(folder), *which, "--evaluate",
               "--num_samples", str(count), "--seed", str(seed)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if result.returncode:
        sys.exit(result.stderr[-2000:])
    print(result.stdout, flush=True)
    report = json.loads(report_path.read_text())
    return next(iter(report["temperatures"].values()))["overall"], report["judge_accuracy_real_test"]


def resolution_floor(folder, count=3000):
    """The Fréchet distance real test images reach at the folder's resolution and levels (shrunk,
    quantized, then shown at full size) from real training images: the best a model there can hope for."""
    import numpy as np

    import config
    import util
    from rnn_draw.library import datasets, frechet, folders

    manifest = folders.read_manifest(folder)
    dataset = datasets.load_dataset(manifest["dataset"], manifest["dataset"])
    network = frechet.feature_network_for(dataset, Path(config.FRECHET_DIR) / f"{manifest['dataset']}.keras")
    shown = frechet.to_native(util.levels_for(manifest, dataset.x_test[:count]), manifest["max_intensity"],
                              dataset.x_train.shape[1])
    return frechet.reference(network, np.asarray(shown), dataset.x_train)[1]


def classified(folder):
    path = Path(folder) / "classification.json"
    if not path.is_file():
        return "", ""
    report = json.loads(path.read_text())
    return f"{report['accuracy']:.4f}", f"{report['bits_per_dim_true_class']:.3f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--num_samples", type=int, default=300, help="samples judged per class")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    for folder in args.folders:
        minutes = training_minutes(folder)
        figures, _ = evaluation(folder, args.num_samples, args.seed)
        accuracy, bits = classified(folder)
        recognised = (f"{figures['recognised']:.3f} ({figures['recognised_real_test']:.3f})" if "recognised" in figures
                      else "n/a")
        rows.append(
            f"| `{folder}` | {'see docs' if minutes is None else f'{minutes:.1f} min'} | {sampling_seconds(folder):.2f} s "
            f"| {recognised} | {figures['diversity']:.2f} ({figures['diversity_real_test']:.2f}) "
            f"| {figures['nearest_train_distance']:.2f} ({figures['nearest_train_distance_real_test']:.2f}) "
            f"| {figures['copied']:.3f} | {figures['frechet']:.1f} ({figures['frechet_real_test']:.1f}; "
            f"{resolution_floor(folder):.1f} at its resolution) | {bits} | {accuracy} |")
    header = ("| models | training | 100 images | recognised (real) | diversity (real) | nearest training image (real) "
              "| copies | Fréchet distance (floor; real images at the model's resolution) | bits/dim | accuracy |")
    print("\n".join([header,
                     "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |", *rows]))


if __name__ == "__main__":
    main()
