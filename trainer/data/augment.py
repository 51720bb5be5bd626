"""On-the-fly augmentation of preprocessed ink images (float32 (B, H, W, 1), 1 = ink, 0 = paper).

Preprocessing already normalises colour, polarity, lighting and framing, so augmentation covers what is
left that differs between writers: pen thickness (dilate / erode), slant, rotation, shear, aspect and
scale, position, an elastic wobble of the strokes, and ink strength. Rotations stay small so "+" never
turns into "x"; nothing is cut away, so "=" keeps two strokes and "." stays a filled dot.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import tensorflow as tf


@dataclass(frozen=True)
class AugmentSettings:
    rotate_deg: float = 7.0  # std of the rotation, clipped at 2.5 std
    shear: float = 0.12  # std of the horizontal shear (slant), clipped at 2.5 std
    log_scale: float = 0.10  # std of log zoom per axis (aspect and size)
    translate: float = 0.06  # uniform +- share of the frame
    elastic: float = 1.2  # std of the smooth displacement, in pixels of the reduced image
    elastic_grid: int = 5  # displacement control points per side
    dilate: float = 0.30  # probability of a thicker pen (3x3 dilation)
    dilate_more: float = 0.08  # of those, probability of a second dilation
    erode: float = 0.15  # probability of a thinner pen (3x3 erosion)
    ink_min: float = 0.7  # ink strength scaled by U(ink_min, 1)
    noise: float = 0.03  # std of additive noise, applied to a third of the images

    def as_dict(self) -> dict:
        return asdict(self)


def _clipped_normal(shape, std: float) -> tf.Tensor:
    return tf.clip_by_value(tf.random.normal(shape, stddev=std), -2.5 * std, 2.5 * std)


def morphology(x: tf.Tensor, s: AugmentSettings) -> tf.Tensor:
    """Per image: dilate (sometimes twice), erode, or leave the pen as it is."""
    b = tf.shape(x)[0]
    u = tf.random.uniform([b, 1, 1, 1])
    grown = tf.nn.max_pool2d(x, 3, 1, "SAME")
    grown2 = tf.nn.max_pool2d(grown, 3, 1, "SAME")
    shrunk = -tf.nn.max_pool2d(-x, 3, 1, "SAME")
    more = tf.random.uniform([b, 1, 1, 1]) < s.dilate_more
    dilated = tf.where(more, grown2, grown)
    out = tf.where(u < s.dilate, dilated, x)
    return tf.where((u >= s.dilate) & (u < s.dilate + s.erode), shrunk, out)


def _bilinear(images: tf.Tensor, sx: tf.Tensor, sy: tf.Tensor) -> tf.Tensor:
    """Sample (B, H, W, 1) images at float coordinates (B, H, W); outside the image is paper (0)."""
    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    flat = tf.reshape(images, [-1])
    x0, y0 = tf.floor(sx), tf.floor(sy)
    wx, wy = sx - x0, sy - y0
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    base = tf.reshape(tf.range(b) * h * w, [-1, 1, 1])

    def at(yi, xi):
        valid = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        idx = base + tf.clip_by_value(yi, 0, h - 1) * w + tf.clip_by_value(xi, 0, w - 1)
        return tf.gather(flat, idx) * tf.cast(valid, images.dtype)

    top = at(y0, x0) * (1 - wx) + at(y0, x0 + 1) * wx
    bottom = at(y0 + 1, x0) * (1 - wx) + at(y0 + 1, x0 + 1) * wx
    return (top * (1 - wy) + bottom * wy)[..., None]


def geometry(x: tf.Tensor, s: AugmentSettings) -> tf.Tensor:
    """A random affine map (rotation, slant, aspect/zoom, shift) plus a smooth elastic wobble."""
    shape = tf.shape(x)
    b, h, w = shape[0], shape[1], shape[2]
    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    angle = _clipped_normal([b], math.radians(s.rotate_deg))
    shear = _clipped_normal([b], s.shear)
    zx = tf.exp(_clipped_normal([b], s.log_scale))
    zy = tf.exp(_clipped_normal([b], s.log_scale))
    tx = tf.random.uniform([b], -s.translate, s.translate) * wf
    ty = tf.random.uniform([b], -s.translate, s.translate) * hf
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Output pixel -> source pixel: p_in = A (p_out - c) + c + t with A = R(angle) Shear Scale^-1.
    a00, a01 = cos / zx, (cos * shear - sin) / zy
    a10, a11 = sin / zx, (sin * shear + cos) / zy
    ys, xs = tf.meshgrid(tf.range(hf), tf.range(wf), indexing="ij")
    cx, cy = (wf - 1) / 2.0, (hf - 1) / 2.0
    u, v = xs[None] - cx, ys[None] - cy
    r = lambda t: tf.reshape(t, [-1, 1, 1])  # noqa: E731
    sx = r(a00) * u + r(a01) * v + cx + r(tx)
    sy = r(a10) * u + r(a11) * v + cy + r(ty)
    if s.elastic > 0:
        g = s.elastic_grid
        field = tf.random.normal([b, g, g, 2], stddev=s.elastic)
        field = tf.image.resize(field, tf.stack([h, w]), method="bilinear")
        sx += field[..., 0]
        sy += field[..., 1]
    return _bilinear(x, sx, sy)


def strength(x: tf.Tensor, s: AugmentSettings) -> tf.Tensor:
    """Weaker ink and a little noise on some images."""
    b = tf.shape(x)[0]
    x = x * tf.random.uniform([b, 1, 1, 1], s.ink_min, 1.0)
    noisy = tf.cast(tf.random.uniform([b, 1, 1, 1]) < 1 / 3, x.dtype)
    x = x + noisy * tf.random.normal(tf.shape(x), stddev=s.noise)
    return tf.clip_by_value(x, 0.0, 1.0)


def augment(x: tf.Tensor, s: AugmentSettings = AugmentSettings()) -> tf.Tensor:
    """The full augmentation of a batch of ink images."""
    return strength(geometry(morphology(x, s), s), s)
