"""Benchmark: the data path before and after integer tokens ("integer tokens in, log-likelihoods out"),
through the commands, on each backend.

Before: commit 960b097 (every training batch made into float32 one-hot vectors by numpy on the host;
scoring brings every logit back to the host for a float64 numpy log-softmax). After: this working
tree (int32 token batches; the shift, one-hot, log-softmax, gather and per-image sum run inside the
compiled call). The saved .keras format is the same, so one models folder scores in both trees.

Every figure comes from a fresh child process that runs the tree's own script (train_mnist.py,
classification.py) from the tree's root with KERAS_BACKEND set. Peak RSS is the child's own
ru_maxrss (os.wait4 on it), in MB. Before and after of one row and backend run back to back, so
load from other work on the machine falls on both alike; each child's start logs the load average.
 - train (a) 10x10, 7 levels, GRU(256), batch 32, 1024 images (the tutorial's settings);
   (b) 28x28, 256 levels, GRU(16), batch 1024, 2048 images (target: peak RSS after <= 0.75 x before);
   (c) 28x28, 256 levels, GRU(256), batch 256, 512 images. One epoch of digit 0, --validation_split 0,
   --seed 0. Figures: the command's wall time; the ms/step Keras prints (whole seconds once a step takes
   over 1 s); epoch seconds, timed by the parent from the arrival of the script's "class 0: N images"
   line to the arrival of Keras's epoch line (model building and tracing included; output unbuffered);
   pixels/s = images x sub-pixels / those epoch seconds; the loss Keras prints; peak RSS.
 - batches: host time per training batch: a child imports the tree's util and times
   TokenBatches(...)[i] on random uint8 tokens of each training shape (median of a few batches after
   one untimed), and the bytes one batch hands to Keras.
 - score: classification.py --num_images 5000 --only_trained_classes with two 28x28, 256-level GRU(256)
   models (digits 0 and 1; made once by the after tree, 1 epoch on 64 images: barely trained, which
   is fine for timing). --only_trained_classes keeps the 0s and 1s among the first 5000 test images.
   Figures: wall time, scoring seconds (from the "classifying the N images" note to the last "scored N
   images under class" line), images/s over those seconds, peak RSS, accuracy and NLL (target:
   time after <= 0.8 x before; accuracy and NLL must agree).
Prints a Markdown table (measure, backend, before, after, after/before) and the targets' verdicts.

Usage: python bench/data_path.py [--before DIR] [--after DIR] [--data PATH] [--backends tensorflow,jax]
                                 [--rows train,batches,score] [--repeats 1] [--quick] [--out FILE]
--before defaults to a fresh clone of this repository at 960b097 in a temporary folder, --after to
this working tree (name a clone to pin it while others edit; the header shows each tree's commit).
--quick: a smoke run (fewer images per row; the batch sizes, hence the memory per batch, are kept).
"""

import argparse
import inspect
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BEFORE_COMMIT = "960b097"
DIGIT = 0
# name: (label, target_size, max_intensity, units or None for the default GRU(256), batch_size, num_images, quick num_images)
SHAPES = {
    "a": ("(a) 10x10 x7, GRU(256), batch 32", 10, 6, None, 32, 1024, 128),
    "b": ("(b) 28x28 x256, GRU(16), batch 1024", 28, 255, 16, 1024, 2048, 1024),
    "c": ("(c) 28x28 x256, GRU(256), batch 256", 28, 255, None, 256, 512, 256),
}
SCORE_NUM_IMAGES, SCORE_QUICK_NUM_IMAGES = 5000, 500
BATCHES_TIMED = 5
EPOCH_LINE = re.compile(r"^\s*(\d+)/(\d+) - (\d+)s - ([\d.]+)(us|ms|s)/step - loss: ([\d.naninf]+)")
CLASS_LINE = re.compile(r"^class \d+: (\d+) images")
NOTE_LINE = re.compile(r"classifying the (\d+) images")
SCORED_LINE = re.compile(r"^scored (\d+) images under class")


# ------------------------------------------------------------------------------------------------
# Child: host time per batch, in one tree (imports that tree's util)
# ------------------------------------------------------------------------------------------------

def batches_child(tree, size, levels, batch_size, timed):
    sys.path.insert(0, tree)
    import numpy as np

    import util

    assert Path(util.__file__).resolve().parent == Path(tree).resolve(), util.__file__
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, levels, (batch_size * (timed + 1), size * size), dtype=np.uint8)
    first = list(inspect.signature(util.TokenBatches).parameters)[1]
    batches = util.TokenBatches(tokens, levels if first == "levels" else 1, batch_size)  # before: levels; after: width
    seconds, nbytes = [], 0
    for i in range(timed + 1):
        start = time.perf_counter()
        batch = batches[i]
        if i:
            seconds.append(time.perf_counter() - start)
        nbytes = sum(array.nbytes for array in _leaves(batch))
    print(json.dumps({"ms": 1000 * statistics.median(seconds), "mb": nbytes / 1e6, "second_arg": first}))


def _leaves(structure):
    if isinstance(structure, (tuple, list)):
        for item in structure:
            yield from _leaves(item)
    else:
        yield structure


# ------------------------------------------------------------------------------------------------
# Running one command: timestamped output lines, peak RSS of the child
# ------------------------------------------------------------------------------------------------

def load():
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def run_command(args, cwd, backend, timeout):
    """Run [python, *args] in cwd: {rc, wall, rss_mb, lines: [(seconds since start, text)]}."""
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="3")
    print(f"  [{time.strftime('%H:%M:%S')} {load()}] {backend} {cwd}$ python {' '.join(args)}", flush=True)
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1)
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    lines = [(time.perf_counter() - start, line.rstrip("\n")) for line in process.stdout]
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    result = {"rc": process.returncode, "wall": wall, "rss_mb": usage.ru_maxrss / 1024, "lines": lines}
    if process.returncode:
        tail = "\n".join(f"    | {text}" for _, text in lines[-15:])
        print(f"  FAILED (rc {process.returncode}, {wall:.0f} s):\n{tail}", flush=True)
    return result


def first_match(lines, pattern):
    for at, text in lines:
        found = pattern.search(text)
        if found:
            return at, found
    return None, None


def last_match(lines, pattern):
    return first_match(reversed(lines), pattern)


# ------------------------------------------------------------------------------------------------
# Rows
# ------------------------------------------------------------------------------------------------

def train_figures(tree, backend, data, shape, quick, timeout):
    _, size, max_intensity, units, batch_size, num_images, quick_images = shape
    images = quick_images if quick else num_images
    models_dir = tempfile.mkdtemp(prefix="bench-data-path-")
    try:
        command = ["train_mnist.py", "--digit", str(DIGIT), "--data", data, "--models_dir", models_dir, "--epochs", "1",
                   "--validation_split", "0", "--seed", "0", "--target_size", str(size), "--max_intensity", str(max_intensity),
                   "--batch_size", str(batch_size), "--num_images", str(images)]
        if units:
            command += ["--units", str(units)]
        run = run_command(command, tree, backend, timeout)
    finally:
        shutil.rmtree(models_dir, ignore_errors=True)
    if run["rc"]:
        return {"failed": run["rc"]}
    began, found_class = first_match(run["lines"], CLASS_LINE)
    ended, epoch = last_match(run["lines"], EPOCH_LINE)
    if epoch is None or began is None:
        return {"failed": "no epoch line"}
    per_step = float(epoch.group(4)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[epoch.group(5)]
    trained = int(found_class.group(1))
    epoch_seconds = ended - began
    return {"wall s": run["wall"], "Keras ms/step": per_step, "epoch s": epoch_seconds,
            "px/s": trained * size * size / epoch_seconds, "loss": float(epoch.group(6)), "peak RSS MB": run["rss_mb"],
            "_images": trained}


def batch_figures(tree, backend, shape, quick, timeout):
    _, size, max_intensity, _, batch_size, _, _ = shape
    timed = 2 if quick else BATCHES_TIMED
    run = run_command([str(Path(__file__).resolve()), "--child_batches", tree, "--size", str(size), "--levels",
                       str(max_intensity + 1), "--batch", str(batch_size), "--timed", str(timed)], tree, backend, timeout)
    if run["rc"]:
        return {"failed": run["rc"]}
    figures = json.loads(run["lines"][-1][1])
    return {"host ms/batch": figures["ms"], "MB/batch": figures["mb"]}


def make_models(after, data, backend, timeout):
    """Two 28x28, 256-level GRU(256) models (digits 0 and 1), trained by the after tree: 1 epoch on 64 images."""
    folder = tempfile.mkdtemp(prefix="bench-data-path-models-")
    print(f"scoring models: digits 0 and 1, 28x28 x256, GRU(256), 1 epoch on 64 images each (barely trained), in {folder}")
    for digit in (0, 1):
        run = run_command(["train_mnist.py", "--digit", str(digit), "--data", data, "--models_dir", folder, "--epochs", "1",
                           "--validation_split", "0", "--seed", "0", "--target_size", "28", "--max_intensity", "255",
                           "--batch_size", "64", "--num_images", "64"], after, backend, timeout)
        if run["rc"]:
            sys.exit(f"could not train the scoring models (digit {digit})")
    return folder


def score_figures(tree, backend, data, models_dir, quick, timeout):
    report = Path(tempfile.mkdtemp(prefix="bench-data-path-report-")) / "r.json"
    try:
        run = run_command(["classification.py", "--models_dir", models_dir, "--data", data, "--num_images",
                           str(SCORE_QUICK_NUM_IMAGES if quick else SCORE_NUM_IMAGES), "--only_trained_classes",
                           "--report", str(report)], tree, backend, timeout)
        if run["rc"]:
            return {"failed": run["rc"]}
        figures = json.loads(report.read_text())
    finally:
        shutil.rmtree(report.parent, ignore_errors=True)
    began, note = first_match(run["lines"], NOTE_LINE)
    ended, _ = last_match(run["lines"], SCORED_LINE)
    images = int(note.group(1)) if note else figures["num_images"]
    scoring = ended - began if began is not None and ended is not None else float("nan")
    return {"images": images, "wall s": run["wall"], "scoring s": scoring, "images/s": images / scoring,
            "peak RSS MB": run["rss_mb"], "accuracy": figures["accuracy"], "NLL nats/image": figures["nll_true_class_nats"]}


# ------------------------------------------------------------------------------------------------
# Table
# ------------------------------------------------------------------------------------------------

LOWER_IS_BETTER_MIN = {"wall s", "Keras ms/step", "epoch s", "scoring s", "host ms/batch"}  # repeats: the fastest
HIGHER_IS_BETTER_MAX = {"px/s", "images/s"}  # repeats: the fastest


def combine(runs):
    """Figures of several repeats: times the fastest, memory the largest, the rest from the first run."""
    failed = [run for run in runs if "failed" in run]
    if failed:
        return failed[0]
    combined = dict(runs[0])
    for key in combined:
        values = [run[key] for run in runs]
        if key in LOWER_IS_BETTER_MIN:
            combined[key] = min(values)
        elif key in HIGHER_IS_BETTER_MAX or key == "peak RSS MB":
            combined[key] = max(values)
    return combined


def fmt(value):
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def table_rows(label, backend, before, after):
    rows = []
    if "failed" in before or "failed" in after:
        rows.append((label, backend, f"failed: {before.get('failed')}" if "failed" in before else "ok",
                     f"failed: {after.get('failed')}" if "failed" in after else "ok", ""))
        return rows
    for key in before:
        if key.startswith("_"):
            continue
        b, a = before[key], after[key]
        ratio = f"{a / b:.2f}" if isinstance(b, (int, float)) and b and key not in ("loss", "accuracy", "NLL nats/image", "images") else ""
        if key in ("accuracy", "NLL nats/image", "loss"):
            b, a = (f"{b:.6f}", f"{a:.6f}") if key == "accuracy" else (f"{b:.4f}", f"{a:.4f}")
            ratio = "same" if b == a else f"after - before: {float(a) - float(b):+.2g}"
        rows.append((f"{label}: {key}", backend, fmt(b), fmt(a), ratio))
    return rows


def add(table, label, backend, before, after):
    """Append a row's lines to the table and print them as they come."""
    rows = table_rows(label, backend, before, after)
    table += rows
    print(markdown(rows), flush=True)


def markdown(rows):
    lines = ["| row: measure | backend | before (960b097) | after | after/before |", "|---|---|--:|--:|--:|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------

def before_tree(path):
    from common import REPO

    if path:
        tree = Path(path).resolve()
    else:
        tree = Path(tempfile.mkdtemp(prefix="bench-before-")) / "before"
        subprocess.run(["git", "clone", "-q", str(REPO), str(tree)], check=True)
        subprocess.run(["git", "-C", str(tree), "checkout", "-q", BEFORE_COMMIT], check=True)
    head = git_state(tree)
    if not head.startswith(BEFORE_COMMIT):
        print(f"warning: {tree} is at {head}, not {BEFORE_COMMIT}")
    return str(tree), head


def git_state(tree):
    """HEAD's short hash, and the tracked files that differ from it (the code the commands run may move)."""
    def git(*words):
        return subprocess.run(["git", "-C", str(tree), *words], check=True, capture_output=True, text=True).stdout.strip()

    changed = git("diff", "--name-only", "HEAD").split()
    return git("rev-parse", "--short=7", "HEAD") + (f" + uncommitted changes to {', '.join(changed)}" if changed else "")


def default_data():
    from common import REPO

    import config

    for copy in config.DATASETS["mnist"]["copies"]:
        path = (REPO / Path(copy).expanduser()).resolve()
        if path.is_file():
            return str(path)
    return None


def versions():
    from common import versions as installed

    return installed(("keras", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "numpy"))


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default=None, help=f"a checkout of {BEFORE_COMMIT} (default: a fresh clone in a temporary folder)")
    parser.add_argument("--after", default=None, help="the after tree (default: this working tree)")
    parser.add_argument("--data", default=None, help="path to mnist.npz (default: the first of config.DATASETS['mnist']['copies'] found)")
    parser.add_argument("--backends", default="tensorflow,jax", help="comma-separated (default: %(default)s)")
    parser.add_argument("--rows", default="train,batches,score", help="comma-separated of train, batches, score (default: %(default)s)")
    parser.add_argument("--shapes", default="a,b,c", help="training shapes, comma-separated of a, b, c (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=1, help="before/after pairs per row (times: the fastest; RSS: the largest)")
    parser.add_argument("--models_dir", default=None, help="scoring models to reuse (default: train two, once)")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per child command (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="smoke run: fewer images per row")
    parser.add_argument("--out", default=None, help="also write the table (with the header) to this Markdown file")
    parser.add_argument("--child_batches", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--levels", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--timed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_batches:
        return batches_child(args.child_batches, args.size, args.levels, args.batch, args.timed)

    from common import REPO

    backends = [b for b in args.backends.split(",") if b]
    rows = [r for r in args.rows.split(",") if r]
    shapes = [s for s in args.shapes.split(",") if s]
    for name, chosen, allowed in (("rows", rows, {"train", "batches", "score"}), ("shapes", shapes, set(SHAPES)),
                                  ("backends", backends, {"tensorflow", "jax", "torch"})):
        unknown = set(chosen) - allowed
        if unknown:
            parser.error(f"--{name}: unknown {', '.join(sorted(unknown))}")
    data = args.data or default_data()
    if not data or not Path(data).is_file():
        parser.error("no mnist.npz found: pass --data PATH")
    data = str(Path(data).resolve())
    before, head = before_tree(args.before)
    after = str(Path(args.after).resolve() if args.after else REPO)
    after_head = git_state(after)

    header = [
        f"started {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {load()}",
        f"machine: {cpu_model()}, {os.cpu_count()} CPU cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        f"versions: {versions()}",
        f"before: {before} at {head}; after: {after} at {after_head}; data: {data}",
        f"command: python bench/data_path.py {' '.join(sys.argv[1:])}",
    ]
    print("\n".join(header), flush=True)

    table, verdicts = [], []
    if "train" in rows or "batches" in rows:
        for key in shapes:
            shape = SHAPES[key]
            for backend in backends:
                if "train" in rows:
                    pairs = [(train_figures(before, backend, data, shape, args.quick, args.timeout),
                              train_figures(after, backend, data, shape, args.quick, args.timeout)) for _ in range(args.repeats)]
                    b, a = combine([p[0] for p in pairs]), combine([p[1] for p in pairs])
                    images = b.get("_images", a.get("_images", "?"))
                    add(table, f"train {shape[0]}, {images} images", backend, b, a)
                    if key == "b" and "failed" not in b and "failed" not in a:
                        ratio = a["peak RSS MB"] / b["peak RSS MB"]
                        verdicts.append(f"peak RSS, train (b), {backend}: after/before {ratio:.2f} "
                                        f"({'meets' if ratio <= 0.75 else 'misses'} the target <= 0.75)")
                if "batches" in rows:
                    pairs = [(batch_figures(before, backend, shape, args.quick, args.timeout),
                              batch_figures(after, backend, shape, args.quick, args.timeout)) for _ in range(args.repeats)]
                    add(table, f"host batch {shape[0]}", backend, combine([p[0] for p in pairs]), combine([p[1] for p in pairs]))
    if "score" in rows:
        models_dir = args.models_dir or make_models(after, data, backends[0], args.timeout)
        for backend in backends:
            pairs = [(score_figures(before, backend, data, models_dir, args.quick, args.timeout),
                      score_figures(after, backend, data, models_dir, args.quick, args.timeout)) for _ in range(args.repeats)]
            b, a = combine([p[0] for p in pairs]), combine([p[1] for p in pairs])
            images = b.get("images", a.get("images", "?"))
            add(table, f"score 2 GRU(256) 28x28 x256 models, {images} images", backend, b, a)
            if "failed" not in b and "failed" not in a:
                for key in ("wall s", "scoring s"):
                    ratio = a[key] / b[key]
                    verdicts.append(f"scoring {key}, {backend}: after/before {ratio:.2f} "
                                    f"({'meets' if ratio <= 0.8 else 'misses'} the target <= 0.8)")
                same = a["accuracy"] == b["accuracy"] and abs(a["NLL nats/image"] - b["NLL nats/image"]) < 0.01
                verdicts.append(f"scoring results, {backend}: accuracy {b['accuracy']:.6f} / {a['accuracy']:.6f}, NLL "
                                f"{b['NLL nats/image']:.4f} / {a['NLL nats/image']:.4f} nats per image (before / after): "
                                f"{'the same (accuracy exactly, NLL within 0.01 nats per image)' if same else 'DIFFERENT'}")
        if not args.models_dir:
            shutil.rmtree(models_dir, ignore_errors=True)
    if not args.before:
        shutil.rmtree(Path(before).parent, ignore_errors=True)

    footer = [f"finished {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {load()}"]
    if args.quick:
        footer.append("--quick: smoke figures on fewer images; the targets are judged on a full run")
    if git_state(after) != after_head:
        footer.append(f"warning: the after tree moved during the run, to {git_state(after)}")
    text = "\n".join(header + ["", markdown(table), ""] + verdicts + footer)
    print()
    print(markdown(table))
    print()
    print("\n".join(verdicts + footer))
    if args.out:
        Path(args.out).write_text(text + "\n")
        print(f"written to {args.out}")


if __name__ == "__main__":
    main()
