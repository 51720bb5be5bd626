"""AlexNet exactly as the notebook built it; the model takes raw 0-255 RGB and scales inside.

Layer sequence (notebook): Conv2D 96 k11 s4 -> MaxPool 3 s2 -> BatchNorm -> Conv2D 256 k5 same -> MaxPool 3 s2
-> BatchNorm -> Conv2D 256 k3 same -> Conv2D 384 k3 same -> Conv2D 384 k3 same -> MaxPool 3 s2 -> BatchNorm
-> Flatten -> Dense 4096 -> Dropout 0.5 -> Dense 4096 -> Dropout 0.5 -> Dense(classes, softmax).
Every hidden layer uses the same activation (relu or tanh, a hyper-parameter); Adam, categorical
cross-entropy, accuracy. The pools use "valid" padding like the notebook, so the smallest usable input is
:data:`MIN_INPUT_SIZE` pixels (at 224 the Flatten has 5x5x384 = 9600 features; 59.6M parameters in total,
39.3M of them in the first Dense).
"""

from __future__ import annotations

from trainer.errors import ModelError

ACTIVATIONS: tuple[str, ...] = ("relu", "tanh")
#: Smallest input side for which the strided convolution and three valid 3x3/2 pools leave >= 1 pixel.
MIN_INPUT_SIZE = 67


def _side_after_layers(size: int) -> int:
    side = (size - 11) // 4 + 1  # conv 11/4 valid
    for _ in range(3):  # three max-pools 3/2 valid (the convolutions between them keep the size)
        side = (side - 3) // 2 + 1
    return side


def check_alexnet_settings(input_size: int, activation: str = "relu") -> None:
    """Raise ModelError (one sentence) for an activation or input size AlexNet cannot use."""
    if activation not in ACTIVATIONS:
        raise ModelError(f"AlexNet's activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}.")
    if input_size < MIN_INPUT_SIZE or _side_after_layers(input_size) < 1:
        raise ModelError(f"AlexNet needs images of at least {MIN_INPUT_SIZE} pixels; got {input_size}.")


def build_alexnet(num_classes: int, input_size: int = 224, activation: str = "relu", learning_rate: float = 1e-3):
    """The notebook's AlexNet, compiled (Adam ``learning_rate``, categorical cross-entropy, accuracy)."""
    import keras
    from keras import layers

    check_alexnet_settings(input_size, activation)
    if num_classes < 2:
        raise ModelError(f"A classifier needs at least 2 classes; got {num_classes}.")
    act = activation
    model = keras.Sequential(
        [
            keras.Input((input_size, input_size, 3), name="image"),
            layers.Rescaling(1.0 / 255.0, name="scale"),
            layers.Conv2D(96, 11, strides=4, activation=act, name="conv1"),
            layers.MaxPooling2D(3, strides=2, name="pool1"),
            layers.BatchNormalization(name="bn1"),
            layers.Conv2D(256, 5, padding="same", activation=act, name="conv2"),
            layers.MaxPooling2D(3, strides=2, name="pool2"),
            layers.BatchNormalization(name="bn2"),
            layers.Conv2D(256, 3, padding="same", activation=act, name="conv3"),
            layers.Conv2D(384, 3, padding="same", activation=act, name="conv4"),
            layers.Conv2D(384, 3, padding="same", activation=act, name="conv5"),
            layers.MaxPooling2D(3, strides=2, name="pool3"),
            layers.BatchNormalization(name="bn3"),
            layers.Flatten(name="flatten"),
            layers.Dense(4096, activation=act, name="fc1"),
            layers.Dropout(0.5, name="drop1"),
            layers.Dense(4096, activation=act, name="fc2"),
            layers.Dropout(0.5, name="drop2"),
            layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32"),
        ],
        name="alexnet",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
