"""Decoding any image file or array into 8-bit RGB, refusing what would hurt."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

#: Largest image we decode. A phone photo is ~12-50 MP; a 50,000 x 50,000 PNG (2.5 GP) is refused from its
#: header alone, before any pixel is read (by this check, or by Pillow's bomb check which fires even earlier).
MAX_PIXELS = 64_000_000

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


def is_image_name(path: str | os.PathLike) -> bool:
    """True for a visible file whose suffix is an image format we decode."""
    p = Path(path)
    return not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES


def read_image(source: str | os.PathLike | bytes) -> np.ndarray:
    """Decode a file path or encoded bytes into an (H, W, 3) uint8 RGB array.

    Transparency is composited onto white (how the dataset's RGBA PNGs look in a viewer), 16-bit and
    palette images are converted, and EXIF rotation is applied. Raises ImageError with the path named.
    """
    name = "the pasted image" if isinstance(source, bytes) else str(source)
    try:
        if isinstance(source, bytes):
            if not source:
                raise ImageError(f"{name} is empty.")
            handle = io.BytesIO(source)
        else:
            path = Path(source)
            if not path.is_file():
                raise ImageError(f"{name} does not exist or is not a file.")
            if path.stat().st_size == 0:
                raise ImageError(f"{name} is an empty file, not an image.")
            handle = path.open("rb")
        with handle, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns on odd metadata; decoding decides.
            # Our own limit is checked below; Pillow's bomb check would only fire later, and less clearly.
            with Image.open(handle) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ImageError(
                        f"{name} is {width}x{height} pixels; images over {MAX_PIXELS // 1_000_000} megapixels "
                        "are refused. Scale it down first."
                    )
                image.load()
                image = ImageOps.exif_transpose(image)
                return _to_rgb(image)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own header check fired first: same refusal
        raise ImageError(
            f"{name} is too large to decode; images over {MAX_PIXELS // 1_000_000} megapixels are refused. "
            "Scale it down first."
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name} is not an image we can read ({type(exc).__name__}).") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{name} is corrupt or truncated: {exc}.") from exc


def _to_rgb(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        gray = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode == "F":
        gray = np.clip(np.asarray(image, dtype=np.float64) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        white.alpha_composite(image)
        image = white
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def as_rgb(array: np.ndarray) -> np.ndarray:
    """Any (H, W), (H, W, 1|3|4) uint8 or [0, 1] float array as (H, W, 3) uint8 RGB, alpha onto white."""
    a = np.asarray(array)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)) or min(a.shape[:2]) < 1:
        raise ImageError(f"An image array must be (H, W) or (H, W, 1|3|4); got shape {a.shape}.")
    if a.shape[0] * a.shape[1] > MAX_PIXELS:
        raise ImageError(f"The image is {a.shape[1]}x{a.shape[0]} pixels; over the {MAX_PIXELS:,} pixel limit.")
    if a.dtype != np.uint8:
        a = a.astype(np.float64)
        if a.size and a.max() <= 1.0:
            a = a * 255.0
        a = np.clip(a + 0.5, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.shape[2] == 1:
        return np.repeat(a, 3, axis=2)
    if a.shape[2] == 4:
        alpha = a[:, :, 3:4].astype(np.float32) / 255.0
        return (a[:, :, :3] * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
    return np.ascontiguousarray(a)
