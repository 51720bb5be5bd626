"""The embedded default model: a small CNN that reduces the shared 224x224 input to 56x56 ink inside.

The model is split in two so training can run at the reduced resolution: ``front`` (raw 0-255 RGB ->
ink in [0, 1] at ``INTERNAL`` x ``INTERNAL``, one channel; an exact area reduction, no weights to learn)
and ``core`` (the CNN, which averages that ink down to 28x28 before its first conv). ``build`` chains them
into the one model that is saved; training precomputes ``front`` once and augments the 56x56 ink images
(see ``trainer.data.augment``), where a 3x3 dilation or erosion changes a stroke by a third, not by most of it.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

ARCHITECTURE = "default"
INTERNAL = 56
WIDTHS = (16, 32, 64, 128)
#: ``core`` averages its ink over SHRINK x SHRINK squares before the first conv (56x56 read at 28x28).
SHRINK = 2


def front(input_size: int = 224, internal: int = INTERNAL) -> keras.Sequential:
    """Raw 0-255 RGB (dark ink on white) -> ink strength (internal, internal, 1), 1 = ink, 0 = paper."""
    if input_size % internal == 0:
        reduce = layers.AveragePooling2D(input_size // internal, name="area_resize")
    else:
        reduce = layers.Resizing(internal, internal, interpolation="area", name="area_resize")
    grey = layers.Conv2D(
        1, 1, use_bias=False, trainable=False, name="grey", kernel_initializer=keras.initializers.Constant(1.0 / 3.0)
    )
    return keras.Sequential(
        [
            keras.Input((input_size, input_size, 3)),
            reduce,
            layers.Rescaling(-1.0 / 255.0, offset=1.0, name="ink"),
            grey,
        ],
        name="front",
    )


def _block(x, filters: int, convs: int, name: str):
    for i in range(convs):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{i + 1}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn{i + 1}")(x)
        x = layers.ReLU(name=f"{name}_relu{i + 1}")(x)
    return x


def core(
    classes: int, internal: int = INTERNAL, widths: tuple[int, ...] = WIDTHS, dropout: float = 0.25
) -> keras.Model:
    """The CNN on (internal, internal, 1) ink: a 2x2 average, conv blocks with BatchNorm, global pooling, softmax.

    At half resolution a training step costs a third of one at 56x56, and other writers' digits read as well
    (README, "cheaper networks"); the last two blocks share the 7x7 grid, so nothing shrinks below it.
    """
    inputs = keras.Input((internal, internal, 1), name="ink")
    x = layers.AveragePooling2D(SHRINK, name="half")(inputs)
    for i, filters in enumerate(widths):
        x = _block(x, filters, 2 if i < len(widths) - 1 else 1, f"block{i + 1}")
        if i < len(widths) - 2:
            x = layers.MaxPooling2D(2, name=f"block{i + 1}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(classes, activation="softmax", name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="core")


def build(classes: int, input_size: int = 224, trained_core: keras.Model | None = None) -> keras.Model:
    """The saved model: (input_size, input_size, 3) raw 0-255 RGB -> class probabilities."""
    head = trained_core if trained_core is not None else core(classes)
    internal = head.input_shape[1]
    inputs = keras.Input((input_size, input_size, 3), name="image")
    outputs = head(front(input_size, internal)(inputs))
    return keras.Model(inputs, outputs, name=ARCHITECTURE)


def reduce_inputs(x: np.ndarray, input_size: int, internal: int = INTERNAL, batch: int = 256) -> np.ndarray:
    """Run ``front`` over uint8 inputs (N, S, S, 3) -> float32 ink (N, internal, internal, 1)."""
    model = front(input_size, internal)
    out = np.empty((len(x), internal, internal, 1), np.float32)
    for start in range(0, len(x), batch):
        out[start : start + batch] = model(x[start : start + batch].astype(np.float32), training=False)
    return out
