"""Classification reports: accuracy with its interval, per-class accuracy, the confusion matrix and the
likelihood of the true class; density reports: the mean NLL with its interval. Each as a dict (written
as JSON) and as the text the classification script prints."""

import math
import warnings

import numpy as np


def wilson_interval(successes, trials, z=1.959964):
    """95% Wilson score interval (low, high) for a proportion such as an accuracy."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return centre - half, centre + half


def bits_per_dimension(nll_nats, dims):
    """A negative log-likelihood in nats over `dims` dimensions (sub-pixels or characters) as bits per
    dimension; arrays go element by element."""
    return nll_nats / (dims * math.log(2))


def classification_report(manifest, truth, predictions, scores, classes, dims=None):
    """Accuracy (with a 95% interval), per-class accuracy, confusion matrix and the test NLL under
    the true class (nats per image or text, and bits per dimension or character), as a dict.
    `dims` (N,): each item's dimensions (a text's characters); None: the manifest's image size."""
    from sklearn.metrics import confusion_matrix

    names = [manifest["class_names"][label] for label in classes]
    with warnings.catch_warnings():  # one class scored (--only_trained_classes): its matrix is 1x1, as meant
        warnings.filterwarnings("ignore", "A single label was found", UserWarning)
        matrix = confusion_matrix(truth, predictions, labels=classes)
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    column = {label: index for index, label in enumerate(classes)}
    scored = np.array([label in column for label in truth])
    true_nats = -scores[scored.nonzero()[0], [column[label] for label in truth[scored]]]
    if dims is None:
        dims = np.full(len(truth), manifest["target_size"] ** 2 * manifest["channels"])
    per_dim = bits_per_dimension(true_nats.sum(), np.asarray(dims)[scored].sum()) if len(true_nats) else None
    correct = int((truth == predictions).sum())
    return {
        "num_images": int(len(truth)),
        "accuracy": correct / len(truth),
        "accuracy_95ci": list(wilson_interval(correct, len(truth))),
        "per_class_accuracy": {name: float(value) for name, value in zip(names, per_class)},
        "class_names": names,
        "confusion_matrix": matrix.tolist(),
        "nll_true_class_nats": float(true_nats.mean()) if len(true_nats) else None,
        "bits_per_dim_true_class": None if per_dim is None else float(per_dim),
        "levels": manifest["levels"],
        **{key: manifest[key] for key in ("target_size", "channels") if key in manifest},
    }


def mean_interval(values, z=1.959964):
    """The mean of `values` (N,) and its 95% interval (low, high), normal approximation: mean +- z * sd / sqrt(N)."""
    values = np.asarray(values, dtype=np.float64)
    half = z * values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else math.inf
    return float(values.mean()), (float(values.mean() - half), float(values.mean() + half))


def density_report(nll_nats, dims):
    """The negative log-likelihood of N images, `nll_nats` (N,) in nats, each of `dims` dimensions:
    its mean in nats per image and in bits per dimension, each with a 95% interval, as a dict."""
    mean, interval = mean_interval(nll_nats)
    return {
        "num_images": int(len(nll_nats)),
        "nll_nats": mean,
        "nll_nats_95ci": list(interval),
        "bits_per_dim": float(bits_per_dimension(mean, dims)),
        "bits_per_dim_95ci": [float(bits_per_dimension(bound, dims)) for bound in interval],
        "dims": int(dims),
    }


def format_density(report):
    """The density report as the line classification.py --density prints."""
    low, high = report["nll_nats_95ci"]
    bits_low, bits_high = report["bits_per_dim_95ci"]
    return (f"{report['split']} NLL: {report['nll_nats']:.2f} nats per image (95% CI {low:.2f}-{high:.2f}) on "
            f"{report['num_images']} images; {report['bits_per_dim']:.4f} bits/dim (95% CI {bits_low:.4f}-{bits_high:.4f}, "
            f"{report['dims']} dimensions of {report['levels']} levels)")


def format_report(report):
    """The report as the text the classification script prints."""
    names = report["class_names"]
    width = max(5, *(len(name) for name in names))
    low, high = report["accuracy_95ci"]
    item, dim = ("string", "char") if report.get("unit") == "strings" else ("image", "dim")
    lines = [f"accuracy: {report['accuracy']:.4f} on {report['num_images']} {item}s (95% CI {low:.4f}-{high:.4f})"]
    for member in report.get("members", [report]):  # an ensemble: each member's own figures
        source = f" ({member['models_dir']} alone: accuracy {member['accuracy']:.4f})" if "models_dir" in member else ""
        lines.append(f"{report.get('split', 'test')} NLL under the true class: {member['nll_true_class_nats']:.2f} nats per {item} "
                     f"({member['bits_per_dim_true_class']:.4f} bits/{dim}, {member['levels']} levels){source}")
    lines += [
        "per-class accuracy: " + "  ".join(f"{n}: {a:.3f}" for n, a in report["per_class_accuracy"].items()),
        "confusion matrix (rows: true class, columns: predicted):",
        " " * width + "".join(f"{name:>{width + 1}}" for name in names),
    ]
    lines += [f"{name:>{width}}" + "".join(f"{n:>{width + 1}}" for n in row) for name, row in zip(names, report["confusion_matrix"])]
    rejected = report.get("none_of_these")
    if rejected:
        lines.append(f"none of these ({rejected['method']}, threshold accepting {rejected['acceptance']:.0%} of validation "
                     f"{item}s): {rejected['rejected']} of {rejected['of']} {item}s ({rejected['rejected'] / rejected['of']:.2%})")
    return "\n".join(lines)
