"""The one-hot data path the project used before integer tokens, kept here as the reference that the
compiled integer path (util.network_inputs, util.sequence_log_likelihood) must equal, and the check that
a sampler's draws follow the probabilities it reports. numpy only."""

import numpy as np


def class_one_hot(labels, num_classes):
    """Labels (N,) -> float32 one-hot (N, num_classes)."""
    return np.eye(num_classes, dtype=np.float32)[np.asarray(labels, dtype=np.intp)]


def one_hot_inputs(tokens, levels, conditions=None):
    """Tokens (N, T) or (N, steps, width) -> the network's inputs (N, steps, width * levels [+ K]) float32:
    step t holds step t - 1's one-hot sub-pixels, step 0 zeros; `conditions` (N, K) appended to every step."""
    tokens = np.asarray(tokens)
    steps = tokens.reshape(len(tokens), tokens.shape[1], -1)
    one_hot = np.zeros(steps.shape + (levels,), dtype=np.float32)
    np.put_along_axis(one_hot[:, 1:], steps[:, :-1, :, None].astype(np.intp), 1.0, axis=-1)
    inputs = one_hot.reshape(steps.shape[0], steps.shape[1], -1)
    if conditions is None:
        return inputs
    repeated = np.broadcast_to(conditions[:, None, :], (len(inputs), inputs.shape[1], conditions.shape[1]))
    return np.concatenate([inputs, repeated.astype(np.float32)], axis=-1)


def log_likelihood(model, tokens, conditions=None):
    """log p(x) in nats (N,) float64 from the softmax of a forward pass on one-hot inputs, in numpy."""
    levels = model.output_shape[-1]
    probs = np.asarray(model.predict_on_batch(one_hot_inputs(tokens, levels, conditions)), np.float64)
    steps = np.asarray(tokens).reshape(probs.shape[:-1]).astype(np.intp)
    return np.log(np.take_along_axis(probs, steps[..., None], -1)).reshape(len(steps), -1).sum(1)


def assert_draws_follow(tokens, probs, z=4.5):
    """Each of the draws `tokens` (...) was drawn from its own distribution `probs` (..., L): the count of
    each level, and the summed log-probability of what was drawn, against their expectations under `probs`.
    The tolerance is `z` standard deviations of those sums, so it grows as the square root of the number
    of draws; a sampler that draws from other probabilities (another temperature, the previous step's,
    levels in another order, uniform noise) lands many deviations away once there are thousands of draws."""
    probs = np.asarray(probs, np.float64).reshape(-1, np.shape(probs)[-1])
    tokens = np.asarray(tokens).reshape(-1).astype(np.intp)
    assert len(tokens) == len(probs) and 0 <= tokens.min() and tokens.max() < probs.shape[1], (tokens.shape, probs.shape)
    probs = probs / probs.sum(1, keepdims=True)
    observed, expected = np.bincount(tokens, minlength=probs.shape[1]), probs.sum(0)
    spread = np.sqrt((probs * (1 - probs)).sum(0))
    assert (np.abs(observed - expected) <= z * spread + 1).all(), ("counts per level", observed, expected.round(1),
                                                                    spread.round(1))
    logs = np.log(np.maximum(probs, 1e-30))
    mean = (probs * logs).sum(1)  # E[log p(x)] under p: minus its entropy
    variance = np.maximum((probs * logs**2).sum(1) - mean**2, 0)
    gap = logs[np.arange(len(tokens)), tokens].sum() - mean.sum()
    assert abs(gap) <= z * np.sqrt(variance.sum()) + 1e-6, ("summed log-probability of the draws", gap, np.sqrt(variance.sum()))
