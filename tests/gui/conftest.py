"""GUI test fixtures: offscreen Qt, a small real model for the pad, isolated settings, intercepted dialogs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
from support import build_pad_model  # noqa: E402

from mathsym_gui import dialogs  # noqa: E402
from trainer.data.strokes import make_dataset  # noqa: E402

HERE = Path(__file__).resolve().parent
FAKE_CLI = [sys.executable, str(HERE / "fake_cli.py")]
REPO = HERE.parent.parent
DEFAULT_MODEL = REPO / "models" / "default.keras"


@pytest.fixture(scope="session")
def pad_model(tmp_path_factory) -> Path:
    """A real (small) Keras model with its card for the pad's 224-pixel input, trained once per test session."""
    return build_pad_model(tmp_path_factory.mktemp("pad") / "tiny-test.keras")


@pytest.fixture(scope="package", autouse=True)
def load_each_model_once():
    """Windows of different tests share a model loaded once per file version (it is still a real model)."""
    import trainer.serving.modelio as modelio

    real, cache = modelio.load_model, {}

    def cached(path):
        p = Path(path)
        twin = p.with_suffix(".onnx")  # a twin created later makes it another version
        key = (
            (str(p.resolve()), p.stat().st_mtime_ns, twin.is_file() and twin.stat().st_mtime_ns)
            if p.is_file()
            else None
        )
        if key is None or key not in cache:
            model = real(path)
            if key is None:
                return model
            cache[key] = model
        return cache[key]

    mp = pytest.MonkeyPatch()
    mp.setattr(modelio, "load_model", cached)
    yield
    mp.undo()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """A small Kaggle-style dataset drawn from the stroke templates (4 images per class)."""
    return make_dataset(tmp_path_factory.mktemp("data") / "symbols", per_class=4, size=64)


@pytest.fixture
def fake_model(monkeypatch, pad_model):
    """The fake trainer CLI reports the pad model as the model it wrote."""
    monkeypatch.setenv("FAKE_CLI_MODEL", str(pad_model))
    monkeypatch.delenv("FAKE_CLI_MODE", raising=False)


class Messages:
    """Stands in for every message box: records (kind, title, text, detail); questions get ``answer``."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str, str, str]] = []
        self.answer = True

    def __call__(self, parent, kind, title, text, detail="") -> bool:
        self.shown.append((kind, title, text, detail))
        return self.answer if kind == dialogs.QUESTION else False

    def kinds(self) -> list[str]:
        return [m[0] for m in self.shown]

    def last(self) -> tuple[str, str, str, str]:
        assert self.shown, "no message box was shown"
        return self.shown[-1]


@pytest.fixture
def messages(monkeypatch) -> Messages:
    rec = Messages()
    monkeypatch.setattr(dialogs, "show", rec)
    return rec


class FileChooser:
    """Stands in for file dialogs: returns queued answers ("" = the user cancelled)."""

    def __init__(self) -> None:
        self.answers: list[str] = []
        self.asked: list[str] = []

    def __call__(self, parent, title, *args) -> str:
        self.asked.append(title)
        return str(self.answers.pop(0)) if self.answers else ""


@pytest.fixture
def files(monkeypatch) -> FileChooser:
    chooser = FileChooser()
    monkeypatch.setattr(dialogs, "get_open_file", chooser)
    monkeypatch.setattr(dialogs, "get_folder", chooser)
    return chooser


@pytest.fixture
def opened_urls() -> list:
    """URLs the window asked the desktop to open (the opener reports success)."""
    return []


@pytest.fixture
def make_window(qtbot, tmp_path, messages, opened_urls):
    """Build a MainWindow with its own settings file and models folder; waits until the model is loaded."""
    from mathsym_gui.main_window import MainWindow
    from mathsym_gui.settings import AppSettings

    def opener(url) -> bool:
        opened_urls.append(url)
        return True

    def make(
        model: Path | None = None,
        models_dir: Path | None = None,
        cli=None,
        settings: Path | None = None,
        wait: bool = True,
        autoload: bool = True,
        open_url=opener,
    ):
        models_dir = models_dir or tmp_path / "models"
        models_dir.mkdir(exist_ok=True)
        window = MainWindow(
            AppSettings(settings or tmp_path / "settings.ini"),
            models_dir=models_dir,
            model_path=model,
            cli=cli or FAKE_CLI,
            open_url=open_url,
            autoload=autoload,
        )
        qtbot.addWidget(window)
        window.resize(900, 600)
        window.show()
        qtbot.waitExposed(window)
        if wait and (model is not None or window.is_loading()):
            qtbot.waitUntil(lambda: window.model is not None and window.is_idle(), timeout=60000)
        return window

    return make


@pytest.fixture
def window(make_window, pad_model):
    return make_window(pad_model)
