"""Hybrid training of a class-conditional model: its generative loss plus W times the cross-entropy
of the Bayes posterior softmax_k(log p(x | k) + log p(k)), so that training also separates classes.

The model trained is the conditional model itself (its layers are shared), so it still samples
and scores as before; W = 0 is plain generative training.
"""

import keras
from keras import ops


class ClassLogLikelihoods(keras.layers.Layer):
    """log p(x | k) in nats for every class k of a conditional model: tokens (B, steps, width) int ->
    (B, K). Each image is scored once per class, so a step costs K forward and backward passes."""

    def __init__(self, logits_model, levels, width, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.logits_model, self.levels, self.width, self.num_classes = logits_model, levels, width, num_classes

    def call(self, tokens):
        tokens = ops.cast(tokens, "int32")
        batch, steps = ops.shape(tokens)[0], ops.shape(tokens)[1]
        k, levels, width = self.num_classes, self.levels, self.width
        # The network's input at step t is step t - 1's one-hot sub-pixels; step 0 sees zeros.
        previous = ops.reshape(ops.one_hot(tokens, levels), (batch, steps, width * levels))
        previous = ops.concatenate([ops.zeros_like(previous[:, :1]), previous[:, :-1]], axis=1)
        # Every image once per class: rows b0k0, b0k1, ..., b1k0, ...
        pixels = ops.repeat(previous, k, axis=0)
        classes = ops.tile(ops.eye(k), (batch, 1))
        classes = ops.broadcast_to(classes[:, None, :], (batch * k, steps, k))
        logits = self.logits_model(ops.concatenate([pixels, classes], axis=-1))
        log_probs = ops.log_softmax(ops.reshape(logits, (batch * k, steps, width, levels)), axis=-1)
        targets = ops.repeat(tokens, k, axis=0)[..., None]
        nats = ops.sum(ops.take_along_axis(log_probs, targets, axis=-1), axis=(1, 2, 3))
        return ops.reshape(nats, (batch, k))


def hybrid_loss(weight, log_prior, dims):
    """loss(labels (B,), log-likelihoods (B, K)): the generative loss in nats per sub-pixel under the
    true class (what plain training minimises) plus `weight` times the Bayes posterior's cross-entropy."""
    log_prior = ops.convert_to_tensor(log_prior, "float32")

    def loss(labels, log_likelihoods):
        labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
        true_class = ops.take_along_axis(log_likelihoods, labels[:, None], axis=1)[:, 0]
        posterior = keras.losses.sparse_categorical_crossentropy(labels, log_likelihoods + log_prior, from_logits=True)
        return -true_class / dims + weight * posterior

    return loss


def bayes_model(model, logits_model, levels, width, num_classes, weight, log_prior, dims):
    """A model for `fit`: tokens (B, steps, width) -> log p(x | k) (B, K), compiled with the hybrid
    loss and an optimizer like `model`'s. Training it trains `model`, whose layers it shares."""
    tokens = keras.Input((None, width), dtype="int32")
    scores = ClassLogLikelihoods(logits_model, levels, width, num_classes)(tokens)
    bayes = keras.Model(tokens, scores)
    optimizer = model.optimizer.__class__.from_config(model.optimizer.get_config())
    bayes.compile(optimizer=optimizer, loss=hybrid_loss(weight, log_prior, dims))
    return bayes
