"""Ensembles of models folders: a product of experts, each folder's log p(x | k) added per class."""

import numpy as np

from rnn_draw.library import UserError


def check_same_classes(manifests, folders):
    """Every folder must name the same classes, in the same order, as the first."""
    for manifest, folder in zip(manifests[1:], folders[1:]):
        if manifest["class_names"] != manifests[0]["class_names"]:
            raise UserError(f"{folder} holds classes {manifest['class_names']}, but {folders[0]} holds "
                            f"{manifests[0]['class_names']}: an ensemble needs the same classes in every folder")


def product_of_experts(member_scores):
    """[(scores (N, K) of log p(x | k) in nats, labels (K,)), ...] -> their sum (N, K) and the labels.

    Every member must score the same classes; the sum is log of the product of the members' densities
    (unnormalised), which Bayes' rule compares across classes as it would one model's.
    """
    scores, labels = member_scores[0]
    for other, other_labels in member_scores[1:]:
        if not np.array_equal(other_labels, labels):
            raise UserError(f"ensemble members score different classes: {labels.tolist()} and {other_labels.tolist()}")
        scores = scores + other
    return scores, labels
