"""Robustness variants: each generator really changes what it claims, and the default model keeps
recognising real test images re-drawn those ways (thresholds: the benchmark's full-split numbers minus a
margin for the 150-image subsample; see benchmarks/results/default_model.json)."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.data.preprocess import to_model_input
from trainer.data.strokes import draw_symbol
from trainer.evaluation.robustness import VARIANTS, apply_variant, canvas_drawings, ink_alpha
from trainer.labels import CLASS_NAMES
from trainer.paths import MODELS_DIR

#: Minimum accuracy per variant on a 150-image stratified subsample of the notebook test split.
THRESHOLDS = {  # measured on this subsample with models/default.keras, then minus ~3 points (4-5 images)
    "original": 0.96,  # measured 0.993
    "recoloured": 0.96,  # 0.993
    "inverted": 0.96,  # 0.993
    "thickened": 0.95,  # 0.980
    "thinned": 0.95,  # 0.987
    "tight_28x28": 0.95,  # 0.987
    "small_in_canvas": 0.96,  # 0.993
    "large": 0.95,  # 0.987
    "off_centre": 0.95,  # 0.987
    "photographed": 0.96,  # 0.993
    "dim_photo": 0.95,  # 0.987 (0.947 before grainy paper was smoothed)
    "photo_of_page": 0.92,  # 0.947 (0.887 before stretches of a fading table; 0.347 before shadows and tables)
}
#: Measured 0.997 on 380 drawings (benchmarks/default_model.py) once the templates wrote z with its
#: cross-bar and x as ")(" like the dataset's writers.
CANVAS_THRESHOLD = 0.95


def _symbol(label="eq", size=200):
    return draw_symbol(label, np.random.default_rng(0), size=size, width=0.05)


def _ink_area(rgb):
    return float((ink_alpha(rgb) > 0.5).sum())


def _box(rgb):
    ys, xs = np.nonzero(ink_alpha(rgb) > 0.5)
    return ys.min(), ys.max() + 1, xs.min(), xs.max() + 1


def test_inverted_has_dark_background_and_light_ink():
    out = VARIANTS["inverted"](_symbol(), np.random.default_rng(0))
    border = np.concatenate([out[0], out[-1], out[:, 0], out[:, -1]])
    assert border.mean() < 40
    assert out.max() > 200


def test_recoloured_ink_is_coloured_or_paper_tinted():
    rng = np.random.default_rng(0)
    for _ in range(5):
        out = VARIANTS["recoloured"](_symbol(), rng).astype(int)
        spread = out.max(axis=2) - out.min(axis=2)
        ink = ink_alpha(out.astype(np.uint8)) > 0.5
        assert spread[ink].mean() > 30 or out[0, 0].tolist() != [255, 255, 255] or out[ink].mean() > 60


def test_thickened_and_thinned_change_the_pen():
    rng = np.random.default_rng(0)
    image = _symbol("0", 300)
    area = _ink_area(image)
    assert _ink_area(VARIANTS["thickened"](image, rng)) > 1.4 * area
    thin = _ink_area(VARIANTS["thinned"](image, rng))
    assert 0.05 * area < thin < 0.8 * area


def test_tight_crop_is_28_pixels_and_filled():
    out = VARIANTS["tight_28x28"](_symbol("1"), np.random.default_rng(0))
    assert out.shape == (28, 28, 3)
    y0, y1, x0, x1 = _box(out)
    assert max(y1 - y0, x1 - x0) >= 22


def test_small_large_and_off_centre_placement():
    rng = np.random.default_rng(0)
    image = _symbol("add")
    small = VARIANTS["small_in_canvas"](image, rng)
    y0, y1, x0, x1 = _box(small)
    assert max(y1 - y0, x1 - x0) <= 0.2 * small.shape[0]
    large = VARIANTS["large"](image, rng)
    y0, y1, x0, x1 = _box(large)
    assert max(y1 - y0, x1 - x0) >= 0.85 * large.shape[0]
    for _ in range(5):
        off = VARIANTS["off_centre"](image, rng)
        ys, xs = np.nonzero(ink_alpha(off) > 0.5)
        centre = np.array([ys.mean(), xs.mean()]) / off.shape[0]
        assert np.abs(centre - 0.5).min() >= 0.15


def test_photographed_has_uneven_tinted_noisy_paper():
    out = VARIANTS["photographed"](_symbol("sub"), np.random.default_rng(0)).astype(float)
    corners = [out[:20, :20].mean(), out[:20, -20:].mean(), out[-20:, :20].mean(), out[-20:, -20:].mean()]
    assert max(corners) - min(corners) > 15
    assert out[:20, :20].std() > 1.0


def test_every_variant_still_preprocesses():
    image = _symbol("div")
    for name in VARIANTS:
        out = to_model_input(VARIANTS[name](image, np.random.default_rng(1)))
        assert out.shape == (224, 224, 3) and out.min() < 64, name


def test_scan_border_line_is_not_part_of_the_symbol():
    """~4 % of the Kaggle JPEGs have a dark 1-2 px row near the bottom edge; "ink" must ignore it."""
    minus = np.full((135, 155, 3), 255, np.uint8)
    minus[60:72, 30:120] = 0
    with_line = minus.copy()
    with_line[128:130, :] = 0
    a, b = to_model_input(minus), to_model_input(with_line)
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 1.0
    alone = np.full((135, 155, 3), 255, np.uint8)
    alone[128:130, 10:145] = 0  # a lone bar at the edge is the symbol itself, kept
    assert to_model_input(alone).min() < 64


def test_canvas_drawings_cover_every_class():
    images, labels = canvas_drawings(per_class=2, seed=0)
    assert len(images) == 2 * len(CLASS_NAMES)
    assert sorted(set(labels.tolist())) == list(range(len(CLASS_NAMES)))
    assert images[0].shape == (280, 280, 3)
    assert any(len({tuple(p) for p in img.reshape(-1, 3)[::97]}) > 2 for img in images)  # not only black ink


@pytest.fixture(scope="module")
def default_model():
    from trainer.serving.modelio import load_model

    return load_model(MODELS_DIR / "default.keras")


def _accuracy(model, images, labels):
    x = np.stack([model.preprocess(img) for img in images])
    return float((model.predict_inputs(x).argmax(1) == labels).mean())


@pytest.fixture(scope="module")
def test_subsample(real_dataset):
    from trainer.data.dataset import scan_dataset
    from trainer.data.preprocess import load_rgb
    from trainer.data.split import notebook_split

    split = notebook_split(scan_dataset(real_dataset))
    rng = np.random.default_rng(0)
    picked = []
    for c in range(len(CLASS_NAMES)):
        members = [s for s in split.test if s.label == c]
        picked += [members[i] for i in rng.permutation(len(members))[:8]]
    picked = picked[:150]
    return [load_rgb(s.path) for s in picked], np.array([s.label for s in picked])


@pytest.mark.real_data
@pytest.mark.parametrize("name", list(THRESHOLDS))
def test_default_model_on_variants_of_real_test_images(default_model, test_subsample, name):
    images, labels = test_subsample
    if name != "original":
        images = apply_variant(name, images, seed=0)
    assert _accuracy(default_model, images, labels) >= THRESHOLDS[name]


def test_default_model_recognises_canvas_drawings(default_model):
    images, labels = canvas_drawings(per_class=5, seed=1)
    assert _accuracy(default_model, images, labels) >= CANVAS_THRESHOLD
