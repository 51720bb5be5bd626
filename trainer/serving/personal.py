"""The personal gate of an adapted model: the user's fine-tuned classifier answers for drawings like their
samples, the base model for the rest.

Fine-tuning on a few dozen drawings of one hand also moves the answers for drawings nothing like them: the
notebook's test split lost two to four boundary images per run, all of them far from every sample. The gate
measures how close a drawing is to the nearest sample (cosine similarity of the base model's pooled features,
centred on the dataset's mean) and mixes the two answers by that closeness. New classes exist only in the
fine-tuned classifier, so their share of the answer always comes from it.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

#: The user's spread: the 10th percentile of each sample's closeness to the nearest other one of its class.
SPREAD_QUANTILE = 0.1
#: The gate is half open this fraction of the way from the dataset's typical closeness to the samples (its
#: median) to the user's spread. Half-way kept the notebook's images as well, but read the writer's looser
#: drawings (twice the jitter, another pen) 1.1-3.3 points worse than the ungated model; a fifth 0.4-1.6.
HALF_OPEN = 0.2
#: How open the gate is at the ends of its ramp: 10 % at the dataset's typical closeness, 90 % twice as far
#: from it as the half-open point.
GATE_AT_EDGES = 0.9
#: The smallest half-width of the gate's ramp, for samples no closer to each other than to the dataset's
#: images (the gate is then half open just above the dataset's typical closeness).
MIN_HALF_WIDTH = 0.02
#: The names of the fine-tuned core inside a gated one, and of the layer holding the samples' features.
PERSONAL, PROTOTYPES = "personal", "gate_prototypes"


def _unit(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-6)


def fit_gate(samples: np.ndarray, labels: np.ndarray, dataset: np.ndarray) -> dict:
    """The gate's centre, prototypes, threshold and sharpness from the base model's features of the samples
    (with their labels) and of dataset images (a replay of the train split)."""
    centre = dataset.mean(axis=0)
    prototypes = _unit(samples - centre)
    closeness = prototypes @ prototypes.T
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    nearest_own = np.where(same, closeness, -1.0).max(axis=1)[same.any(axis=1)]
    spread = float(np.quantile(nearest_own, SPREAD_QUANTILE)) if len(nearest_own) else 1.0
    typical = float(np.median((_unit(dataset - centre) @ prototypes.T).max(axis=1)))
    half = max(HALF_OPEN * (spread - typical), MIN_HALF_WIDTH)
    return {
        "centre": centre.astype(np.float32),
        "prototypes": prototypes.astype(np.float32),
        "threshold": typical + half,
        "sharpness": float(np.log(GATE_AT_EDGES / (1 - GATE_AT_EDGES)) / half),
        "dataset_closeness": typical,
        "samples_spread": spread,
    }


def with_features(core: keras.Model, name: str = "base") -> keras.Model:
    """``core`` giving [the input of its classifier, its probabilities]: what the gate measures closeness on."""
    return keras.Model(core.input, [core.layers[-1].input, core.output], name=name)


def gated_core(base_core: keras.Model, personal_core: keras.Model, gate: dict) -> keras.Model:
    """One model, named ``core`` like the plain one: ink -> the gate's mix of ``base_core`` and
    ``personal_core`` (named :data:`PERSONAL`; it may have more classes). Built from Keras's own layers and
    ops only, so any Keras loads it without MathSym's code."""
    inputs = keras.Input(base_core.input_shape[1:], name="ink")
    features, base = with_features(base_core)(inputs)
    personal = personal_core(inputs)
    count, dim = gate["prototypes"].shape
    centre = layers.Dense(dim, trainable=False, name="gate_centre")
    closeness = layers.Dense(count, use_bias=False, trainable=False, name=PROTOTYPES)
    opening = layers.Dense(1, activation="sigmoid", trainable=False, name="gate_opening")
    unit = layers.UnitNormalization(name="gate_unit")(centre(features))
    share = opening(ops.max(closeness(unit), axis=-1, keepdims=True))  # of the answer that is personal
    known = base.shape[-1]
    new = personal[:, known:]
    old = share * personal[:, :known] + (1.0 - share) * base * (1.0 - ops.sum(new, axis=-1, keepdims=True))
    model = keras.Model(inputs, ops.concatenate([old, new], axis=-1), name="core")
    centre.set_weights([np.eye(dim, dtype=np.float32), -gate["centre"]])
    closeness.set_weights([gate["prototypes"].T])
    sharpness, threshold = float(gate["sharpness"]), float(gate["threshold"])
    opening.set_weights([np.array([[sharpness]], np.float32), np.array([-sharpness * threshold], np.float32)])
    return model


def ungated(core: keras.Model) -> tuple[keras.Model, keras.Model] | None:
    """(base core, personal core) of a gated core, or None for a plain one."""
    if PROTOTYPES not in [layer.name for layer in core.layers]:
        return None
    base = core.get_layer("base")
    return keras.Model(base.input, base.outputs[1], name="core"), core.get_layer(PERSONAL)
