"""Where an installed MathSym reads and writes: the shipped model is package data, everything written goes to
the user's folders (or under $MATHSYM_HOME), never into the package. The wheel itself is checked by
.ci/wheel_check (build, install into a fresh venv, run from an empty folder)."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import pytest

from trainer.paths import (
    MODELS_DIR,
    cache_dir,
    default_output,
    find_model,
    logs_dir,
    models_dir,
    samples_dir,
    shipped_default,
    unwritable,
    user_dir,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    for name in ("MATHSYM_MODELS", "MATHSYM_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MATHSYM_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_the_shipped_model_is_package_data():
    package = importlib.resources.files("mathsym_models")
    assert (package / "default.keras").is_file() and (package / "default.card.json").is_file()
    assert shipped_default() == Path(str(package / "default.keras")) == MODELS_DIR / "default.keras"
    assert (ROOT / "models" / "__init__.py").is_file()  # the checkout's models/ folder is that package


def test_mathsym_home_holds_every_user_folder(home):
    assert (models_dir(), samples_dir(), cache_dir(), logs_dir()) == (
        home / "models",
        home / "samples",
        home / "cache",
        home / "logs",
    )
    assert default_output("vgg19").parent == home / "models"
    with pytest.raises(ValueError):
        user_dir("site-packages")


def test_narrow_overrides_win_over_mathsym_home(home, tmp_path, monkeypatch):
    monkeypatch.setenv("MATHSYM_MODELS", str(tmp_path / "m"))
    monkeypatch.setenv("MATHSYM_CACHE", str(tmp_path / "c"))
    assert models_dir() == tmp_path / "m" and cache_dir() == tmp_path / "c" and samples_dir() == home / "samples"


def test_without_overrides_the_platform_folders_are_used_never_the_package(monkeypatch):
    for name in ("MATHSYM_HOME", "MATHSYM_MODELS", "MATHSYM_CACHE"):
        monkeypatch.delenv(name, raising=False)
    package = MODELS_DIR.resolve()
    for folder in (models_dir(), samples_dir(), cache_dir(), logs_dir(), default_output("default").parent):
        assert "mathsym" in str(folder).lower()
        assert package not in folder.resolve().parents and folder.resolve() != package


def test_start_model_is_the_newest_trained_else_the_shipped_default(home):
    assert find_model() == shipped_default()  # a fresh user: nothing trained yet
    trained = models_dir() / "alexnet-20260101-000000.keras"
    trained.parent.mkdir(parents=True)
    trained.write_bytes(b"x")
    trained.with_name("alexnet-20260101-000000.card.json").write_text("{}")
    assert find_model() == trained
    assert find_model(default=shipped_default(), folder=home / "elsewhere") == shipped_default()


def test_predict_from_an_empty_user_folder_uses_the_shipped_model(home, tmp_path, capsys, monkeypatch):
    import cv2

    from trainer.cli import main
    from trainer.data.strokes import draw_symbol

    monkeypatch.chdir(tmp_path)
    cv2.imwrite("three.png", draw_symbol("3", size=224))
    assert main(["--progress", "none", "predict", "three.png", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert Path(doc["model"]) == shipped_default() and doc["results"][0]["error"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["three.png"]  # nothing written beside it


def test_unwritable_folders_are_named_with_the_reason(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert unwritable([tmp_path / "fine", blocker / "models"]) == {blocker / "models": "Not a directory"}
    assert (tmp_path / "fine").is_dir() and not list((tmp_path / "fine").iterdir())  # the probe is removed
