"""Shared fixtures: the real dataset (skipped when absent) and small datasets the tests draw themselves."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REAL_DATASET = ROOT.parent / "shared" / "data" / "handwritten-math-symbols"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory) -> None:
    """Keep caches, trained models, samples and logs of test runs out of the user's folders."""
    os.environ["MATHSYM_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    os.environ["MATHSYM_HOME"] = str(tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="session")
def real_dataset() -> Path:
    """The Kaggle dataset under ../shared; tests using it skip with the reason when it is absent."""
    if not (REAL_DATASET / "0").is_dir():
        pytest.skip(f"real dataset not found at {REAL_DATASET} (CI provides it; see README)")
    return REAL_DATASET


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory) -> Path:
    """19 classes x 12 jittered template drawings (PNG and JPEG), made fresh for the session."""
    from trainer.data.strokes import make_dataset

    return make_dataset(tmp_path_factory.mktemp("synthetic") / "data", per_class=12, size=64, seed=7)


@pytest.fixture(scope="session")
def tiny_model(synthetic_dataset, tmp_path_factory) -> Path:
    """A small real model trained on the synthetic dataset (32-pixel inputs), built once per session."""
    from support import build_dataset_model

    return build_dataset_model(synthetic_dataset, tmp_path_factory.mktemp("tinymodel"))


@pytest.fixture(scope="session")
def bracket_model(tmp_path_factory) -> Path:
    """The shipped model taught "(" and ")" from samples (about 10 s), built once per session."""
    from support import teach_brackets

    return teach_brackets(tmp_path_factory.mktemp("brackets"), ROOT / "models" / "default.keras")
