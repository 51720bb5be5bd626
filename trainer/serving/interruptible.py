"""A one-input forward pass that a newer request stops part-way, so a slow model never finishes a stale answer.

TensorFlow cannot cancel a graph while it computes (its cancellation manager only reaches blocking ops),
and splitting a model into several graphs cost 3-4 % on every VGG19 pass here (3 to 5 pieces). Instead the
model's layers are chained in one graph with a check after every layer with a kernel (convolutions, dense
layers): the check compares the call's ticket with a variable holding the newest ticket issued and fails
the run when that one is newer. The checks cost no measurable time; a superseded VGG19 pass stops within
about one layer (3-13 ms measured) instead of running its remaining ~180 ms.
"""

from __future__ import annotations

import numpy as np

#: Largest difference from the model's own output that still counts as the same function (float noise).
TOLERANCE = 1e-4


def layer_chain(model) -> list:
    """The model's layers in order with nested models flattened, input layers left out."""
    import keras

    chain = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        chain.extend(layer_chain(layer) if isinstance(layer, keras.Model) else [layer])
    return chain


class InterruptibleForward:
    """``run(image, ticket)`` -> probabilities, or None once ``supersede`` named a newer ticket.

    Tickets are increasing integers (a request id); ``supersede`` may be called from any thread while
    ``run`` computes.
    """

    def __init__(self, layers: list, size: int, scale: float) -> None:
        import tensorflow as tf

        self._newest = tf.Variable(0, dtype=tf.int64, trainable=False, name="newest_ticket")
        newest = self._newest

        @tf.function(input_signature=[tf.TensorSpec([1, size, size, 3], tf.uint8), tf.TensorSpec([], tf.int64)])
        def forward(image, ticket):
            x = tf.cast(image, tf.float32) * scale
            for layer in layers:
                x = layer(x, training=False)
                if hasattr(layer, "kernel"):
                    # Read the variable only once this layer's output exists, then hold the next layer back
                    # until the check passed.
                    with tf.control_dependencies([tf.reshape(x, [-1])[0]]):
                        current = tf.less_equal(newest.read_value(), ticket)
                    with tf.control_dependencies([tf.debugging.Assert(current, ["superseded"])]):
                        x = tf.identity(x)
            return x

        self._forward = forward

    @classmethod
    def for_model(cls, keras_model, size: int, scale: float, reference) -> InterruptibleForward | None:
        """The chained pass of ``keras_model``, or None when chaining its layers does not reproduce
        ``reference`` (uint8 batch -> probabilities), e.g. a model with branches or skip connections."""
        probe = np.random.default_rng(0).integers(0, 256, (1, size, size, 3), dtype=np.uint8)
        expected = np.asarray(reference(probe))[0]
        try:
            chained = cls(layer_chain(keras_model), size, scale)
            got = chained.run(probe[0], 0)
        except Exception:  # a layer applied to the wrong input (branches) fails here: no chain
            return None
        if got is None or got.shape != expected.shape or np.abs(got - expected).max() > TOLERANCE:
            return None
        return chained

    def supersede(self, ticket: int) -> None:
        """Make every run with an older ticket stop at its next check (tickets must increase)."""
        self._newest.assign(ticket)

    def run(self, image: np.ndarray, ticket: int) -> np.ndarray | None:
        """Probabilities for one preprocessed (size, size, 3) uint8 input; None when superseded."""
        import tensorflow as tf

        try:
            return self._forward(np.asarray(image, np.uint8)[None], np.int64(ticket)).numpy()[0]
        except tf.errors.InvalidArgumentError as exc:
            if "superseded" in str(exc):
                return None
            raise
