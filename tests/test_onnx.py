"""ONNX twins: export checked against Keras, served without TensorFlow, Keras when the twin is unusable."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from trainer.data.preprocess import to_model_input
from trainer.data.strokes import draw_symbol
from trainer.digest import file_sha256
from trainer.errors import ModelError
from trainer.paths import card_path
from trainer.serving.modelio import LoadedModel, OnnxModel, load_model
from trainer.serving.onnx import Session, export_onnx, twin_path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "models" / "default.keras"


def _inputs(size: int, n: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    labels = ["0", "3", "x", "add", "dec", "7", "eq", "z"]
    return np.stack([to_model_input(draw_symbol(labels[i % len(labels)], rng, size=96), "ink", size) for i in range(n)])


@pytest.fixture
def model_copy(tiny_model, tmp_path) -> Path:
    """The session's tiny model copied without a twin (its card as written before twins existed), so twins
    written here never reach other tests."""
    target = tmp_path / "tiny.keras"
    shutil.copy(tiny_model, target)
    card = json.loads(card_path(tiny_model).read_text())
    card.pop("files", None)
    card.pop("card_version", None)
    card_path(target).write_text(json.dumps(card))
    return target


@pytest.fixture
def with_twin(model_copy) -> Path:
    keras_model = load_model(model_copy).keras_model
    export_onnx(keras_model, twin_path(model_copy), _inputs(32))
    return model_copy


def test_twin_serves_the_same_probabilities_as_keras(with_twin):
    served = load_model(with_twin)
    assert isinstance(served, OnnxModel) and served.backend == "onnx"
    twin_path(with_twin).rename(with_twin.with_suffix(".off"))
    assert load_model(with_twin).backend == "keras"
    with_twin.with_suffix(".off").rename(twin_path(with_twin))
    x = _inputs(32, n=20, seed=5)
    got = served.predict_inputs(x, batch_size=7)
    expected = load_model(with_twin).keras_model(x.astype(np.float32)).numpy()
    assert got.shape == (20, len(served.labels))
    assert np.abs(got - expected).max() <= 1e-4
    assert np.array_equal(got.argmax(1), expected.argmax(1))
    served.warm_up()
    assert served.interruptible
    np.testing.assert_allclose(served.predict_latest(x[0], 1), got[0], atol=1e-6)
    assert served.top_k(served.predict(draw_symbol("3")), 3)[0][1] > 0


def test_keras_model_of_a_twin_loads_on_first_use(with_twin):
    served = load_model(with_twin)
    assert served.keras_model.output_shape == (None, len(served.labels))


def test_superseded_ticket_gets_no_answer(with_twin):
    served = load_model(with_twin)
    x = _inputs(32, n=1)[0]
    served.supersede(5)
    assert served.predict_latest(x, 4) is None
    assert served.predict_latest(x, 5) is not None and served.predict_latest(x, 6) is not None


def test_a_running_pass_stops_when_superseded(tmp_path):
    """A slow model's pass gives up part-way (ONNX Runtime's terminate flag) instead of finishing."""
    import keras

    inputs = keras.Input((96, 96, 3))
    x = inputs
    for _ in range(6):
        x = keras.layers.Conv2D(96, 3, padding="same", activation="relu")(x)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    path = tmp_path / "slow.onnx"
    export_onnx(keras.Model(inputs, outputs), path, np.zeros((1, 96, 96, 3), np.uint8))
    session = Session(path)
    image = np.full((1, 96, 96, 3), 200, np.uint8)
    start = time.perf_counter()
    session.run(image)
    full = time.perf_counter() - start
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("out", session.run_latest(image, 1)))
    start = time.perf_counter()
    worker.start()
    while not session.running() and worker.is_alive():
        time.sleep(0.0005)
    session.supersede(2)
    worker.join()
    stopped = time.perf_counter() - start
    assert result["out"] is None
    assert stopped < 0.7 * full, (stopped, full)
    assert session.run_latest(image, 2).shape == (1, 3)


def test_export_refuses_a_model_onnx_cannot_reproduce(tmp_path):
    """Random noise the model adds even at inference differs between the runtimes: nothing is written."""
    import keras
    import tensorflow as tf

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Lambda(lambda t: t + tf.random.normal(tf.shape(t)))(inputs)
    outputs = keras.layers.Dense(4, activation="softmax")(keras.layers.Flatten()(x))
    target = tmp_path / "noisy.onnx"
    with pytest.raises(ModelError, match="does not reproduce"):
        export_onnx(keras.Model(inputs, outputs), target, np.zeros((4, 16, 16, 3), np.uint8))
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_export_to_an_unwritable_place_is_a_model_error(model_copy, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ModelError, match="Cannot write"):
        export_onnx(load_model(model_copy).keras_model, blocker / "twin.onnx", _inputs(32, n=2))


def test_vgg19_gets_a_twin(tmp_path):
    from trainer.models.vgg19 import build_vgg19

    model = build_vgg19(19, input_size=32, weights=None)
    x = _inputs(32, n=3)
    export_onnx(model, tmp_path / "vgg19.onnx", x)
    got = Session(tmp_path / "vgg19.onnx").run(x)
    assert np.abs(got - model(x.astype(np.float32)).numpy()).max() <= 1e-4


@pytest.mark.parametrize("damage", ["truncated", "not onnx", "other model"])
def test_unusable_twin_falls_back_to_keras_with_one_line(with_twin, tmp_path, caplog, damage):
    twin = twin_path(with_twin)
    if damage == "truncated":
        twin.write_bytes(twin.read_bytes()[:5000])
    elif damage == "not onnx":
        twin.write_text("hello")
    else:  # a twin of a model with another input size and class count
        import keras

        inputs = keras.Input((40, 40, 3))
        other = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(inputs)))
        export_onnx(other, twin, np.zeros((1, 40, 40, 3), np.uint8))
    with caplog.at_level(logging.WARNING, logger="trainer.serving.modelio"):
        model = load_model(with_twin)
    assert type(model) is LoadedModel
    [record] = caplog.records
    message = record.getMessage()
    assert "\n" not in message and "tiny.onnx" in message and "Keras" in message


def test_corrupt_twin_and_corrupt_model_is_refused(with_twin):
    twin_path(with_twin).write_text("junk")
    with_twin.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="tiny.keras"):
        load_model(with_twin)


def _record_twin_hash(model: Path, digest: str) -> None:
    cpath = card_path(model)
    data = json.loads(cpath.read_text())
    data["card_version"] = 2
    data["files"] = {"model": file_sha256(model), "onnx": digest}
    cpath.write_text(json.dumps(data))


def test_twin_that_differs_from_the_card_hash_is_not_used(with_twin, caplog):
    _record_twin_hash(with_twin, file_sha256(twin_path(with_twin)))
    assert isinstance(load_model(with_twin), OnnxModel)
    _record_twin_hash(with_twin, "0" * 64)
    with caplog.at_level(logging.WARNING, logger="trainer.serving.modelio"):
        assert type(load_model(with_twin)) is LoadedModel
    assert "sha256" in caplog.records[0].getMessage()


def test_twin_the_card_records_but_is_missing_is_reported(with_twin, caplog):
    _record_twin_hash(with_twin, file_sha256(twin_path(with_twin)))
    twin_path(with_twin).unlink()
    with caplog.at_level(logging.WARNING, logger="trainer.serving.modelio"):
        assert type(load_model(with_twin)) is LoadedModel
    assert "missing" in caplog.records[0].getMessage()


def test_default_model_has_a_matching_twin():
    served = load_model(DEFAULT)
    assert isinstance(served, OnnxModel)
    x = _inputs(served.card.input_size, n=6)
    expected = served.keras_model(x.astype(np.float32)).numpy()
    got = served.predict_inputs(x)
    assert np.abs(got - expected).max() <= 1e-4 and np.array_equal(got.argmax(1), expected.argmax(1))


NO_TF_PAD = """
import sys
from PySide6.QtWidgets import QApplication
from mathsym_gui.main_window import MainWindow
from mathsym_gui.settings import AppSettings
app = QApplication([])
window = MainWindow(AppSettings(sys.argv[1]), models_dir=sys.argv[2], model_path=sys.argv[3])
window.show()
shown = []
window.predictionShown.connect(lambda p: (shown.append(p), app.quit()))
window.recognizer.modelLoaded.connect(lambda *_: window.open_image(sys.argv[4]))
window.recognizer.modelFailed.connect(lambda *a: (print("failed", a), app.quit()))
from PySide6.QtCore import QTimer
QTimer.singleShot(60000, app.quit)
app.exec()
print(shown[0].top[0][0] if shown and shown[0].top else "none", "tensorflow" in sys.modules, "keras" in sys.modules)
"""

NO_TF_PREDICT = """
import sys
from trainer.serving.modelio import load_model
from trainer.serving.predict import predict_paths
[result] = predict_paths(load_model(sys.argv[1]), [sys.argv[2]], k=3)
print(result.label, "tensorflow" in sys.modules, "keras" in sys.modules)
"""


def _symbol_file(tmp_path) -> Path:
    import cv2

    path = tmp_path / "seven.png"
    cv2.imwrite(str(path), draw_symbol("7", np.random.default_rng(2), size=128))
    return path


def test_pad_recognises_with_the_default_twin_without_tensorflow(tmp_path):
    image = _symbol_file(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", NO_TF_PAD, str(tmp_path / "s.ini"), str(tmp_path / "models"), str(DEFAULT), str(image)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**_env(), "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.stdout.split() == ["7", "False", "False"], out.stdout + out.stderr


def test_predict_with_the_default_twin_without_tensorflow(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", NO_TF_PREDICT, str(DEFAULT), str(_symbol_file(tmp_path))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(),
    )
    assert out.stdout.split() == ["7", "False", "False"], out.stdout + out.stderr


def _env() -> dict:
    import os

    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_cli_writes_the_twin_and_records_it_in_a_version_2_card(model_copy, capsys):
    from trainer.cli import main

    _record_twin_hash(model_copy, None)  # saved by MathSym, its twin missing (e.g. the export failed then)
    assert main(["onnx", str(model_copy)]) == 0
    assert "tiny.onnx" in capsys.readouterr().out
    card = json.loads(card_path(model_copy).read_text())
    assert card["files"]["onnx"] == file_sha256(twin_path(model_copy))
    assert isinstance(load_model(model_copy), OnnxModel)


def test_cli_twin_of_a_missing_model_is_one_line(tmp_path, capsys):
    from trainer.cli import main

    assert main(["onnx", str(tmp_path / "nothing.keras")]) == 1
    err = capsys.readouterr().err.strip()
    assert "nothing.keras" in err and "\n" not in err and "Traceback" not in err


def test_notebook_h5_gets_a_twin_that_scales_like_the_notebook(tmp_path):
    """A notebook .h5 takes /255 inputs; its twin takes the same raw uint8 inputs as every other model."""
    import keras

    from trainer.labels import CLASS_NAMES
    from trainer.serving.modelio import add_twin

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    outputs = keras.layers.Dense(len(CLASS_NAMES), activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    path = tmp_path / "notebook.h5"
    model.save(path)
    assert add_twin(path) == tmp_path / "notebook.onnx"
    served = load_model(path)
    assert isinstance(served, OnnxModel) and served.card.scaling == "outside" and served.card.input_size == 32
    x = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_allclose(served.predict_inputs(x), model(x.astype(np.float32) / 255.0).numpy(), atol=1e-5)


@pytest.mark.parametrize(("size_in", "size_out"), [(32, 56), (100, 56), (7, 3)])
def test_area_weights_are_tensorflows_resize_area(size_in, size_out):
    import tensorflow as tf

    from trainer.serving.onnx import area_weights

    x = np.random.default_rng(2).random((2, size_in, size_in, 3)).astype(np.float32)
    weights = area_weights(size_in, size_out)
    ours = np.einsum("yi,nijc,xj->nyxc", weights, x, weights)
    np.testing.assert_allclose(ours, tf.image.resize(x, (size_out, size_out), method="area").numpy(), atol=1e-5)


def test_an_area_resize_front_is_exported_exactly(tmp_path):
    """tf2onnx alone exports ResizeArea as nearest-neighbour: the default model's 32 -> 56 pixel front then differed
    by up to half the ink range, which a barely trained model shrank to a few 1e-4 in its probabilities."""
    import keras

    from trainer.models.default import front

    readout = keras.layers.Dense(4, "softmax", kernel_initializer=keras.initializers.RandomNormal(stddev=0.05, seed=0))
    model = keras.Sequential([front(32), keras.layers.Flatten(), readout])  # sees every ink pixel
    path = tmp_path / "area.onnx"
    export_onnx(model, path, np.random.default_rng(1).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8))
    drawn = _inputs(32)
    expected = model(drawn.astype(np.float32), training=False).numpy()
    np.testing.assert_allclose(Session(path).run(drawn), expected, atol=1e-5)


def test_cli_warns_without_a_twin_and_info_shows_the_twins_state(synthetic_dataset, tmp_path, capsys, monkeypatch):
    from cli_run import one_error, run

    import trainer.serving.onnx

    model = tmp_path / "d1.keras"
    quick = ["--subset", "2", "--epochs", "1", "--image-size", "32", "--batch-size", "8"]
    monkeypatch.setattr(trainer.serving.onnx, "TOLERANCE", -1.0)  # every export check fails
    code, _, err = run(capsys, "train", "default", "--data", synthetic_dataset, *quick, "--output", model)
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert code == 0 and len(warnings) == 1 and "d1.keras has no ONNX twin" in warnings[0], err
    assert not twin_path(model).exists()
    code, out, _ = run(capsys, "info", model)
    assert code == 0 and "ONNX twin:      none (ONNX export failed" in out, out

    monkeypatch.undo()
    code, out, err = run(capsys, "onnx", model)  # the real check passes: the twin reproduces the 32-pixel model
    assert code == 0 and twin_path(model).is_file(), err
    code, out, _ = run(capsys, "info", model, "--check")
    assert code == 0 and "ONNX twin:      d1.onnx (SHA-256 matches the card)" in out, out

    twin_path(model).write_bytes(b"not an onnx model")
    code, out, _ = run(capsys, "info", model)
    assert code == 0 and "d1.onnx is not the file the card records" in out, out
    code, _, err = run(capsys, "info", model, "--check")
    assert code == 1 and "ONNX twin" in one_error(err) and "d1.onnx" in one_error(err), err
