"""The notebook's VGG19 transfer model; the model takes raw 0-255 RGB and scales inside.

Structure: Input -> Rescaling(1/255) -> VGG19 convolutional base (no top, frozen) -> Flatten -> Dropout 0.5
-> Dense(classes, softmax); Adam (default learning rate), categorical cross-entropy, accuracy.

Input scaling, recorded on purpose: the notebook divided pixels by 255 and fed [0, 1] images straight to
VGG19; it did not call ``keras.applications.vgg19.preprocess_input`` (BGR, ImageNet mean subtraction). We
reproduce the notebook: the first layer is Rescaling(1/255) and nothing else is applied.

Weights of the base: ``"imagenet"`` (Keras' normal download into its cache, ``~/.keras/models``), ``None``
(random initialisation) or the path of a local weights file (``.h5`` as Keras publishes it, or a
``.weights.h5`` saved by Keras). Problems with weights raise :class:`WeightsError`, one sentence each.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import warnings
from pathlib import Path

from trainer.errors import ModelError

#: The file Keras downloads for VGG19 without its top, and keeps in ``<keras home>/models/``.
WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
#: Its MD5 as Keras checks it.
WEIGHTS_HASH = "253f8cb515780f3b799900260a516b6f"
#: Smallest input side VGG19 accepts (five 2x2 pools).
MIN_INPUT_SIZE = 32
HEAD_LAYERS = ("flatten", "dropout", "predictions")


class WeightsError(ModelError):
    """VGG19 base weights that cannot be obtained or do not fit the network."""


def _weights_url() -> str:
    from keras.src.applications import vgg19

    return vgg19.WEIGHTS_PATH_NO_TOP


def keras_cache_dir() -> Path:
    """Keras' cache root (``KERAS_HOME`` or ``~/.keras``), as read now."""
    home = os.environ.get("KERAS_HOME")
    if home:
        return Path(home).expanduser()
    from keras.src.backend import config

    return Path(config.keras_home()).expanduser()


def imagenet_weights_path() -> Path:
    """The ImageNet VGG19 (no top) weights file, downloaded into Keras' cache on first use.

    Raises WeightsError naming the file and where to put it when it is not cached and cannot be downloaded.
    """
    import keras

    cache = keras_cache_dir()
    target = cache / "models" / WEIGHTS_FILE
    try:
        with contextlib.redirect_stdout(sys.stderr):  # Keras prints download progress; stdout may be JSON
            path = keras.utils.get_file(
                WEIGHTS_FILE, _weights_url(), cache_subdir="models", file_hash=WEIGHTS_HASH, cache_dir=str(cache)
            )
    except Exception as exc:  # noqa: BLE001  (URL errors, HTTP errors, hash mismatch: all mean "not here")
        raise WeightsError(
            "The ImageNet VGG19 weights are not in the Keras cache and could not be downloaded "
            f"({_download_reason(exc)}); put {WEIGHTS_FILE} in {target.parent}, pass --weights PATH to a local copy, "
            "or use --weights none."
        ) from exc
    return Path(path)


def resolve_weights(weights: str | os.PathLike | None) -> Path | None:
    """``"imagenet"`` -> the cached file (downloaded if needed); ``None``/"none" -> None; a path -> that file."""
    if weights is None or (isinstance(weights, str) and weights.lower() in ("none", "")):
        return None
    if isinstance(weights, str) and weights.lower() == "imagenet":
        return imagenet_weights_path()
    path = Path(weights).expanduser()
    if path.is_dir():
        raise WeightsError(f"{path} is a folder, not a VGG19 weights file.")
    if not path.is_file():
        raise WeightsError(f"VGG19 weights file {path} does not exist.")
    if not path.name.lower().endswith(".h5"):
        raise WeightsError(f"VGG19 weights file {path.name} is not an .h5 or .weights.h5 file.")
    return path


def build_vgg19_base(input_size: int = 224, weights: str | os.PathLike | None = "imagenet"):
    """VGG19's convolutional base (no top) for raw [0, 1] inputs, with the requested weights, frozen."""
    import keras

    if input_size < MIN_INPUT_SIZE:
        raise ModelError(f"VGG19 needs images of at least {MIN_INPUT_SIZE} pixels; got {input_size}.")
    path = resolve_weights(weights)
    base = keras.applications.VGG19(include_top=False, weights=None, input_shape=(input_size, input_size, 3))
    if path is not None:
        problem = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                base.load_weights(str(path))
            except Exception as exc:  # noqa: BLE001  (h5py, ValueError, KeyError... all mean "wrong file")
                problem = exc
        skipped = [w for w in caught if "skipping" in str(w.message).lower() or "could not" in str(w.message).lower()]
        if problem is not None or skipped:
            if problem is not None:
                detail = f"{type(problem).__name__}: {_first_line(problem)}"
            else:
                detail = str(skipped[0].message).splitlines()[0]
            raise WeightsError(
                f"{path.name} does not hold VGG19 convolutional-base weights (no top) that fit this network ({detail})."
            ) from problem
    base.trainable = False
    return base


def build_vgg19(
    num_classes: int, input_size: int = 224, weights: str | os.PathLike | None = "imagenet", learning_rate: float = 1e-3
):
    """The notebook's VGG19 model (frozen base + Flatten + Dropout 0.5 + Dense softmax), compiled."""
    import keras
    from keras import layers

    if num_classes < 2:
        raise ModelError(f"A classifier needs at least 2 classes; got {num_classes}.")
    base = build_vgg19_base(input_size, weights)
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    x = base(x, training=False)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name="vgg19_transfer")
    compile_classifier(model, learning_rate)
    return model


def compile_classifier(model, learning_rate: float = 1e-3) -> None:
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )


def feature_extractor(model):
    """The frozen part of a :func:`build_vgg19` model: raw 0-255 images -> base features."""
    import keras

    return keras.Model(model.input, model.get_layer(HEAD_LAYERS[0]).input, name="vgg19_features")


def head_model(model):
    """The trainable part of a :func:`build_vgg19` model as its own model on base features.

    It shares its layers (and so its weights) with ``model``: training the head trains the full model.
    """
    import keras

    shape = model.get_layer(HEAD_LAYERS[0]).input.shape[1:]
    features = keras.Input(shape, name="features")
    x = features
    for name in HEAD_LAYERS:
        x = model.get_layer(name)(x)
    return keras.Model(features, x, name="vgg19_head")


def _download_reason(exc: BaseException) -> str:
    """A short, URL-free reason such as "Name or service not known" for a failed download."""
    text = _first_line(exc).rsplit(" -- ", 1)[-1].strip()
    text = re.sub(r"^\[Errno [^\]]*\]\s*", "", text)
    return text if text and "://" not in text and len(text) < 120 else type(exc).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no details"
