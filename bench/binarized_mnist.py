"""Benchmark: binarised MNIST (28x28), the density table's data: a recipe's figures, and what each
addition to the tutorial's network buys on one budget.

recipe: score a trained folder (default trained/binarized_mnist_cpu, `--recipe binarized-mnist-cpu`) with
  `classification.py --density` on the images its training held out and on all 10,000 test images; the
  report holds those and the training record's command, epochs and minutes.
ablation: every row trains a class-free GRU(256) on the first PER_CLASS training images of each digit of
  mnist-binarized (10% of them held out), batch 64, Adam 2e-3, for at most MINUTES minutes of wall clock
  (`--max_minutes`: whole epochs), then scores the held-out images and all 10,000 test images. The rows
  differ in one thing each: the context each step reads (the previous pixel; + the pixel above; + its
  neighbours; the last row; the last two rows) and, last, a second recurrent layer. The rule, fixed
  before any row ran: rows are compared by their validation NLL; the test NLL is reported as it comes.
  Runs go to generated/binarized_ablation/<row>/ (not committed), each row's log beside its models.

Usage: python bench/binarized_mnist.py recipe [--models_dir DIR] [--report FILE.json]
       python bench/binarized_mnist.py ablation [--minutes 7] [--per_class 1500] [--report FILE.json]
"""

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path

from common import REPO, hardware, software

DIMS = 28 * 28  # pixels per image
ROWS = [  # (name, the flags that differ)
    ("previous", ["--context", "previous"]),
    ("above", ["--context", "above"]),
    ("neighbours", ["--context", "neighbours"]),
    ("last_row", ["--context", "last_row"]),
    ("last_two_rows", ["--context", "last_two_rows"]),
    ("last_row_2_layers", ["--context", "last_row", "--layers", "2"]),
]


def run(command, log):
    """Run a project script, its output appended to `log`; stop the benchmark if it fails."""
    with open(log, "a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        result = subprocess.run([sys.executable, *command], cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode:
        sys.exit(f"{' '.join(command)} failed (exit {result.returncode}); see {log}")


def scored(models, folder, log):
    """The density reports of a models folder on the images its training held out and on the test images."""
    scores = {}
    for split in ("validation", "test"):
        report = REPO / folder / f"density_{split}.json"
        run(["classification.py", "--models_dir", str(models), "--density", "--split", split, "--report", str(report)], log)
        scores[split] = json.loads(report.read_text())
    return scores


def figures(record, scores):
    """A run's figures: its training (epochs, minutes) and its validation and test NLL (nats per image)."""
    return {
        "epochs": len(record["history"]["loss"]), "minutes": round(record["history"]["seconds"][-1] / 60, 1),
        # every epoch's validation loss (nats per pixel) as nats per image: rows compared after as many epochs
        "validation_nll_by_epoch": [round(loss * DIMS, 2) for loss in record["history"].get("val_loss", [])],
        "validation_nll_nats": round(scores["validation"]["nll_nats"], 2), "validation_images": scores["validation"]["num_images"],
        "test_nll_nats": round(scores["test"]["nll_nats"], 2),
        "test_nll_nats_95ci": [round(bound, 2) for bound in scores["test"]["nll_nats_95ci"]],
        "test_bits_per_dim": round(scores["test"]["bits_per_dim"], 4), "test_images": scores["test"]["num_images"],
    }


def row(name, flags, args, folder):
    """Train one ablation row and score it."""
    (REPO / folder).mkdir(parents=True, exist_ok=True)
    log, models = REPO / folder / "log.txt", folder / "models"
    training = ["train_mnist.py", "--all_digits", "--data", "mnist-binarized", "--unconditional", "--units", "256",
                "--batch_size", "64", "--learning_rate", "2e-3", "--epochs", "100", "--max_minutes", str(args.minutes),
                "--num_images", str(args.per_class), "--validation_split", "0.1", *flags, "--models_dir", str(models)]
    run(training, log)
    record = json.loads((REPO / models / "model_all.json").read_text())
    return {"row": name, "flags": " ".join(flags), "command": "python " + " ".join(training),
            **figures(record, scored(models, folder, log))}


def ablation(args):
    results = []
    for name, flags in ROWS:
        if name in args.rows:
            results.append(row(name, flags, args, Path("generated") / "binarized_ablation" / name))
            print(json.dumps(results[-1]), flush=True)
    what = (f"Ablation on binarised MNIST (28x28, 2 levels): class-free GRU(256), the first {args.per_class} training "
            f"images of each digit (10% held out), batch 64, Adam 2e-3, at most {args.minutes:g} minutes each; "
            "validation and test NLL in nats per image (classification.py --density), all 10,000 test images")
    return what, {"rows": results}


def recipe(args):
    folder = REPO / "generated" / "binarized_recipe"
    folder.mkdir(parents=True, exist_ok=True)
    record = json.loads((REPO / args.models_dir / "model_all.json").read_text())
    result = {"training_command": record["command"], "best_epoch": record.get("best_epoch"),
              **figures(record, scored(args.models_dir, folder, folder / "log.txt"))}
    print(json.dumps(result), flush=True)
    return (f"{args.models_dir} on binarised MNIST (28x28, 2 levels): its training (command, epochs, minutes of "
            "wall clock) and its NLL in nats per image on the images training held out and on all 10,000 test "
            "images (classification.py --density)"), result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("recipe", "ablation"))
    parser.add_argument("--models_dir", default="trained/binarized_mnist_cpu", help="recipe: the folder (default: %(default)s)")
    parser.add_argument("--minutes", type=float, default=7, help="ablation: each row's training budget (default: %(default)s)")
    parser.add_argument("--per_class", type=int, default=1500, help="ablation: training images per digit (default: %(default)s)")
    parser.add_argument("--rows", nargs="+", default=[name for name, _ in ROWS], help="ablation: rows to run (default: all)")
    parser.add_argument("--report", default=None, help="JSON report (default: generated/binarized_<what>.json)")
    args = parser.parse_args()
    started = datetime.datetime.now(datetime.timezone.utc)
    what, result = (recipe if args.what == "recipe" else ablation)(args)
    ended = datetime.datetime.now(datetime.timezone.utc)
    report = Path(args.report or REPO / "generated" / f"binarized_{args.what}.json")
    report.write_text(json.dumps({
        "what": what, "command": "python bench/binarized_mnist.py " + " ".join(sys.argv[1:]),
        "machine": hardware(), "software": software(), "date": f"{started:%Y-%m-%d %H:%M} to {ended:%H:%M} UTC",
        "figures": result,
    }, indent=1) + "\n")
    print(f"report written to {report}")


if __name__ == "__main__":
    main()
