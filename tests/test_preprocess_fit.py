"""The fast paths of the "ink" preprocessing give what the general ones give."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from trainer.data.preprocess import _percentile_90, ink_strength, to_model_input
from trainer.data.strokes import draw_symbol


@settings(max_examples=200, deadline=None)
@given(arrays(np.float32, st.integers(1, 400), elements=st.floats(0, 1, width=32)))
def test_percentile_matches_numpy(values):
    assert _percentile_90(values) == float(np.percentile(values, 90))


def test_plain_paper_shortcut_gives_the_fitted_surface():
    """A ring of one exact colour skips the fit; one ring pixel a shade off forces it: same model input."""
    rng = np.random.default_rng(3)
    for label, paper, ink in (
        ("3", (255, 255, 255), (0, 0, 0)),
        ("x", (250, 240, 190), (200, 20, 20)),
        ("dec", (30, 30, 30), (255, 255, 255)),
    ):
        plain = draw_symbol(label, rng, size=120, ink=ink, background=paper)
        nudged = plain.copy()
        nudged[0, 0] = np.clip(nudged[0, 0].astype(int) + (1 if paper[0] < 255 else -1), 0, 255)
        a, b = to_model_input(plain, "ink"), to_model_input(nudged, "ink")
        assert np.abs(a.astype(int) - b).max() <= 1
        assert np.count_nonzero(a != b) <= 0.001 * a.size


def test_lit_paper_is_fitted_away():
    """Paper lit from one side (a smooth quadratic ramp) is background, not ink; the symbol is ink."""
    symbol = draw_symbol("7", np.random.default_rng(1), size=160)
    yy, xx = np.mgrid[0:160, 0:160] / 159.0
    light = 0.55 + 0.4 * xx - 0.2 * (yy - 0.5) ** 2
    lit = np.clip(symbol.astype(np.float32) * light[:, :, None], 0, 255).astype(np.uint8)
    strength = ink_strength(lit)
    drawn = symbol[:, :, 0] < 60
    paper = symbol[:, :, 0] > 250
    assert strength[paper].max() < 0.1
    assert np.median(strength[drawn]) > 0.9
