"""Judging samples: how many an independent classifier recognises, how many copy a training image,
and how diverse they are, each beside the same figure for real test images.

Images here are level images (N, S, S[, C]) at the models' size and levels, compared as vectors of
levels; distances are Euclidean, in levels. The classifier is scikit-learn's logistic regression
on the real training images, never the project's own generative models, which would be judging
their own samples.
"""

import numpy as np

MAX_TRAIN_IMAGES = 20_000  # the judge's training images: enough for its ceiling, seconds to fit


def as_vectors(levels):
    """Level images (N, ...) -> float32 (N, D)."""
    levels = np.asarray(levels)
    return levels.reshape(len(levels), -1).astype(np.float32)


def fit_judge(train_levels, train_labels, max_intensity, seed=0):
    """An independent classifier of level images: a pipeline whose `predict` takes level images."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    import warnings

    from sklearn.exceptions import ConvergenceWarning

    rows = np.random.default_rng(seed).permutation(len(train_levels))[:MAX_TRAIN_IMAGES]
    scale = FunctionTransformer(lambda x: as_vectors(x) / max_intensity)
    judge = make_pipeline(scale, LogisticRegression(max_iter=1000))
    with warnings.catch_warnings():  # its accuracy on real test images, printed beside, says how good it is
        warnings.simplefilter("ignore", ConvergenceWarning)
        return judge.fit(np.asarray(train_levels)[rows], np.asarray(train_labels)[rows])


def recognised(judge, samples, label):
    """Share of `samples` that the judge assigns to `label`, and the share it gives each class."""
    predicted = judge.predict(samples)
    classes, counts = np.unique(predicted, return_counts=True)
    return float(np.mean(predicted == label)), {int(k): float(n / len(predicted)) for k, n in zip(classes, counts)}


class TrainingImages:
    """A class's real training images, indexed once: exact copies (a set of byte strings) and the
    nearest neighbour of any image (Euclidean, in levels)."""

    def __init__(self, train_levels):
        from sklearn.neighbors import NearestNeighbors

        vectors = np.asarray(train_levels, dtype=np.uint8).reshape(len(train_levels), -1)
        self.seen = {bytes(row) for row in vectors}
        self.neighbours = NearestNeighbors(n_neighbors=1).fit(vectors.astype(np.float32))

    def copied(self, images):
        """Share of `images` identical to some training image (levels compared exactly)."""
        rows = np.asarray(images, dtype=np.uint8).reshape(len(images), -1)
        return float(np.mean([bytes(row) in self.seen for row in rows]))

    def median_nearest_distance(self, images):
        """Median over `images` of the distance to the nearest training image (0 for a copy)."""
        distances, _ = self.neighbours.kneighbors(as_vectors(images))
        return float(np.median(distances))


def diversity(images):
    """Mean distance between two different images of the set (0 when all are the same)."""
    from sklearn.metrics import pairwise_distances

    if len(images) < 2:
        return 0.0
    distances = pairwise_distances(as_vectors(images))
    return float(distances.sum() / (len(images) * (len(images) - 1)))


def figures_of(judge, images, label, training):
    """recognised (unless `label` is None), judged_as, copied, nearest_train_distance and diversity
    of level images (N, ...) against a class's `TrainingImages`."""
    share, judged_as = recognised(judge, images, -1 if label is None else label)
    figures = {} if label is None else {"recognised": share}
    return {**figures, "judged_as": judged_as, "copied": training.copied(images),
            "nearest_train_distance": training.median_nearest_distance(images), "diversity": diversity(images)}


def real_figures(judge, test_levels, label, training):
    """The same figures for real test images, named `..._real_test`: what samples are compared with."""
    figures = figures_of(judge, test_levels, label, training)
    return {f"{key}_real_test": value for key, value in figures.items() if key != "judged_as"}


def summary_lines(figures, judge_accuracy):
    """The three lines a user reads: recognised, copied, diversity (overall, real images beside)."""
    lines = []
    if "recognised" in figures:
        lines.append(f"recognised: {figures['recognised']:.3f} of samples (real test images: "
                     f"{figures['recognised_real_test']:.3f}; the judge's accuracy on all real test images: {judge_accuracy:.3f})")
    else:
        seen = "  ".join(f"{k}: {v:.2f}" for k, v in sorted(figures["judged_as"].items()))
        lines.append(f"recognised: n/a (the model is told no class); the judge calls the samples {seen}")
    lines.append(f"copied: {figures['copied']:.3f} of samples are a training image (real test images: "
                 f"{figures['copied_real_test']:.3f}); median distance to the nearest training image "
                 f"{figures['nearest_train_distance']:.2f} levels (real test images: {figures['nearest_train_distance_real_test']:.2f})")
    lines.append(f"diversity: mean distance between samples {figures['diversity']:.2f} levels "
                 f"(between real test images: {figures['diversity_real_test']:.2f})")
    if "frechet" in figures:
        lines.append(f"Fréchet distance to real test images: {figures['frechet']:.2f} (real test images to real "
                     f"training images: {figures['frechet_real_test']:.2f}), in a small CNN's features at full size")
    return lines


def overall(per_class):
    """Figures averaged over classes (each class weighs the same)."""
    keys = [key for key, value in next(iter(per_class.values())).items() if isinstance(value, float)]
    return {key: float(np.mean([figures[key] for figures in per_class.values()])) for key in keys}


def save_temperature_plot(by_temperature, path):
    """PNG: recognised and diversity (samples, with the real images' level dashed) against temperature."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnn_draw.library import atomic_write

    temperatures = sorted(by_temperature)
    figure, left = plt.subplots(figsize=(6, 4), dpi=100)
    right = left.twinx()
    first = by_temperature[temperatures[0]]
    if "recognised" in first:
        left.plot(temperatures, [by_temperature[t]["recognised"] for t in temperatures], "o-", color="tab:blue", label="recognised")
        left.axhline(first["recognised_real_test"], color="tab:blue", linestyle="--", linewidth=1, label="recognised, real")
    left.set_xlabel("temperature")
    left.set_ylabel("recognised (share of samples)", color="tab:blue")
    left.set_ylim(0, 1.02)
    right.plot(temperatures, [by_temperature[t]["diversity"] for t in temperatures], "s-", color="tab:red", label="diversity")
    right.axhline(first["diversity_real_test"], color="tab:red", linestyle="--", linewidth=1, label="diversity, real")
    right.set_ylabel("diversity (mean distance, levels)", color="tab:red")
    handles = [h for axis in (left, right) for h in axis.get_legend_handles_labels()[0]]
    left.legend(handles, [h.get_label() for h in handles], loc="lower center", fontsize=8)
    figure.tight_layout()
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png"))
    plt.close(figure)
