"""train_default end to end on a small synthetic dataset: model + card written, loadable; cancel writes nothing."""

from __future__ import annotations

import pytest

from trainer.errors import Cancelled
from trainer.labels import CLASS_NAMES
from trainer.paths import card_path
from trainer.progress import CancelToken
from trainer.serving.modelio import load_model
from trainer.training.default import default_config, train_default


def test_train_default_writes_a_loadable_model_with_card(synthetic_dataset, tmp_path):
    output = tmp_path / "default.keras"
    events = []
    config = default_config(synthetic_dataset, output, epochs=1, command="pytest")
    config.preprocessing = "notebook"  # the default model is defined on "ink": any other is replaced
    path = train_default(config, progress=events.append)
    assert path == output and output.is_file() and card_path(output).is_file()
    model = load_model(output)
    card = model.card
    assert card.architecture == "default"
    assert card.labels == list(CLASS_NAMES)
    assert card.preprocessing == "ink" and card.input_size == 224
    assert model.keras_model.input_shape == (None, 224, 224, 3)
    assert 0.0 <= card.metrics["test_accuracy"] <= 1.0
    assert set(card.metrics["per_class_recall"]) == set(CLASS_NAMES)
    assert card.training["command"] == "pytest"
    assert card.training["seconds"] > 0 and card.training["history"]
    assert card.split["kind"] == "notebook"
    assert any(e.stage == "Training" for e in events)
    probs = model.predict(synthetic_dataset / "add" / "add_001.png")
    assert probs.shape == (len(CLASS_NAMES),) and abs(float(probs.sum()) - 1.0) < 1e-3


def test_cancelled_run_writes_nothing_and_keeps_the_old_model(synthetic_dataset, tmp_path):
    output = tmp_path / "default.keras"
    output.write_bytes(b"old model")
    card_path(output).write_text("{}")
    token = CancelToken()

    def progress(p):
        if p.stage == "Training":
            token.cancel()

    with pytest.raises(Cancelled):
        train_default(default_config(synthetic_dataset, output, epochs=3), progress=progress, cancel=token)
    assert output.read_bytes() == b"old model"
    assert card_path(output).read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["default.card.json", "default.keras"]
