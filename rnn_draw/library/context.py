"""Which earlier pixels a network reads at each step (its context), and the layer that records them in a saved model.

The tutorial's network reads one step back: the previous pixel. In raster order that hides the pixel
just above, 28 steps back at 28x28, behind everything the recurrent state had to carry since; PixelRNN's
Row LSTM reads the row above instead. A context is a set of offsets d >= 1: step t reads the tokens of
steps t - d, side by side (steps before the first read as the zero start vector). Any such set keeps
the model autoregressive, so its likelihood stays exact; at the left and right edges the neighbours
above wrap to the neighbouring rows, which are earlier steps all the same.
"""

import config
from rnn_draw.library import UserError, quiet

with quiet.backend_import():
    import keras

TUTORIAL_OFFSETS = (1,)


def offsets_for(name, target_size):
    """The offsets (steps back, ascending) that context `name` (config.CONTEXTS) reads at this image size."""
    size = target_size
    offsets = {
        "previous": (1,),
        "above": (1, size),
        "neighbours": (1, size - 1, size, size + 1),
        "last_row": tuple(range(1, size + 2)),
        "last_two_rows": tuple(range(1, 2 * size + 2)),
    }
    if name not in offsets:
        raise UserError(f"--context {name}: not one of {', '.join(config.CONTEXTS)}")
    return tuple(sorted({offset for offset in offsets[name] if offset >= 1}))


@keras.saving.register_keras_serializable(package="rnn_draw")
class Context(keras.layers.Layer):
    """Passes its input through unchanged; its `offsets` say what that input holds: the one-hot tokens
    of steps t - d for each d, side by side. A network without this layer reads (1,), the previous step."""

    def __init__(self, offsets=TUTORIAL_OFFSETS, **kwargs):
        super().__init__(**kwargs)
        self.offsets = tuple(int(offset) for offset in offsets)

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "offsets": list(self.offsets)}


def offsets_of(network):
    """The offsets a built network reads: its Context layer's, else the tutorial's (1,)."""
    for layer in network.layers:
        if isinstance(layer, Context):
            return layer.offsets
    return TUTORIAL_OFFSETS
