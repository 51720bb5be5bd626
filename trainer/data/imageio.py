"""Decoding any image file or array into 8-bit RGB, refusing what would hurt."""

from __future__ import annotations

import contextlib
import io
import os
import threading
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from trainer.errors import ImageError

#: Largest image we decode. A phone photo is ~12-50 MP; a 50,000 x 50,000 PNG (2.5 GP) is refused from its
#: header alone, before any pixel is read (by this check, or by Pillow's bomb check which fires even earlier).
MAX_PIXELS = 64_000_000

#: Full-size decodes above this many pixels (a 16 MP photo is ~64 MB inside Pillow) run one at a time per
#: process: prediction and dataset loading decode on 4 threads, and four 64 MP images at once peaked at 2.9 GB.
LARGE_DECODE_PIXELS = 16_000_000
_large_decode = threading.Lock()

#: Contrast (0-255) below which an image shows no ink: then transparency is composited onto black instead.
VISIBLE_CONTRAST = 24

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


def is_image_name(path: str | os.PathLike) -> bool:
    """True for a visible file whose suffix is an image format we decode."""
    p = Path(path)
    return not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES


def read_image(source: str | os.PathLike | bytes, limit: int | None = None) -> np.ndarray:
    """Decode a file path or encoded bytes into an (H, W, 3) uint8 RGB array.

    Transparency is composited onto white (how the dataset's RGBA PNGs look in a viewer; onto black when white
    would hide the ink, as white ink on a transparent background), 16-bit and
    palette images are converted, and EXIF rotation is applied. Raises ImageError with the path named.

    ``limit`` is for callers that need no more than a ``limit``-pixel side: an image at least twice that is
    decoded reduced by an integer factor (a JPEG by its own DCT scaling, then box averaging) to a longer side
    in [limit, 2 * limit), so later work holds a bounded number of pixels. Smaller images decode as without it.
    """
    name = "the pasted image" if isinstance(source, bytes) else str(source)
    try:
        if isinstance(source, bytes):
            if not source:
                raise ImageError(f"{name} is empty.")
            handle: BinaryIO = io.BytesIO(source)
        else:
            handle = _opened(Path(source), name)
        with handle, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns on odd metadata; decoding decides.
            # Our own limit is checked below; Pillow's bomb check would only fire later, and less clearly.
            with Image.open(handle) as opened:
                width, height = opened.size
                if width * height > MAX_PIXELS:
                    raise ImageError(
                        f"{name} is {width}x{height} pixels; images over {MAX_PIXELS // 1_000_000} megapixels "
                        "are refused. Scale it down first."
                    )
                return _to_rgb(ImageOps.exif_transpose(_decoded(opened, limit)))
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own header check fired first: same refusal
        raise ImageError(
            f"{name} is too large to decode; images over {MAX_PIXELS // 1_000_000} megapixels are refused. "
            "Scale it down first."
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name} is not an image MathSym can read (not a known image format).") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(_undecodable(name, exc)) from exc


def cannot_read(name: str | os.PathLike, exc: OSError) -> str:
    """Why a file or folder could not be opened (permission, I/O), in words: not to be taken for a bad image."""
    return f"{name} cannot be read ({(exc.strerror or str(exc)).lower()})."


def _undecodable(name: str, exc: Exception) -> str:
    """Why a file of a known format could not be decoded, in words: truncated or damaged (Pillow's own wording,
    such as "broken data stream when reading image file", says nothing more to a user)."""
    if isinstance(exc, EOFError) or "truncated" in str(exc).lower():
        return f"{name} is a truncated image: its data ends part-way through the picture."
    return f"{name} is a damaged image: its picture data cannot be decoded."


def _opened(path: Path, name: str) -> BinaryIO:
    try:
        if not path.is_file():
            raise ImageError(f"{name} does not exist or is not a file.")
        if path.stat().st_size == 0:
            raise ImageError(f"{name} is an empty file, not an image.")
        return path.open("rb")
    except OSError as exc:
        raise ImageError(cannot_read(name, exc)) from exc


def _decoded(image: ImageFile.ImageFile, limit: int | None) -> Image.Image:
    """The pixels of an opened file, reduced for ``limit`` as :func:`read_image` says; huge decodes one at a time."""
    width, height = image.size
    if limit and max(width, height) >= 2 * limit:
        factor = max(width, height) // limit
        image.draft(image.mode, (-(-width // factor), -(-height // factor)))  # JPEG only: DCT scaling
    big = image.size[0] * image.size[1] > LARGE_DECODE_PIXELS
    with _large_decode if big else contextlib.nullcontext():
        image.load()
        factor = max(image.size) // limit if limit else 1
        return _reduced(image, factor) if factor > 1 else image


def _reduced(image: Image.Image, factor: int) -> Image.Image:
    """``image`` box-averaged ``factor`` times smaller; its full-size buffer is released at once."""
    try:
        small = image.reduce(factor)
    except ValueError:  # palette, bilevel and 16-bit modes cannot be averaged as they are
        small = Image.fromarray(_to_rgb(image)).reduce(factor)
    small.info = dict(image.info)  # keeps the EXIF orientation for exif_transpose
    image.close()
    return small


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
        return _flatten(image.convert("RGBA"))
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def _flatten(image: Image.Image) -> np.ndarray:
    """An RGBA image as RGB composited onto white, or onto black when white leaves no visible ink but the alpha
    channel holds a shape (white ink on a transparent background); the ink preprocessing takes either polarity."""

    def onto(paper: tuple[int, int, int, int]) -> np.ndarray:
        flat = Image.new("RGBA", image.size, paper)
        flat.alpha_composite(image)
        return np.ascontiguousarray(np.asarray(flat.convert("RGB"), dtype=np.uint8))

    on_white = onto((255, 255, 255, 255))
    alpha = np.asarray(image.getchannel("A"))
    if np.ptp(alpha) < VISIBLE_CONTRAST or np.ptp(on_white) >= VISIBLE_CONTRAST:
        return on_white
    return onto((0, 0, 0, 255))


def flatten_alpha(rgba: np.ndarray) -> np.ndarray:
    """An (H, W, 4) uint8 array as RGB, transparency flattened as for decoded files (onto white, or black)."""
    return _flatten(Image.fromarray(np.ascontiguousarray(rgba, dtype=np.uint8), "RGBA"))


def as_rgb(array: np.ndarray) -> np.ndarray:
    """Any (H, W), (H, W, 1|3|4) uint8 or [0, 1] float array as (H, W, 3) uint8 RGB, alpha flattened as
    :func:`flatten_alpha` does."""
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
        return flatten_alpha(a)
    return np.ascontiguousarray(a)
