"""The notebook's Hyperband search, tiny: runs end to end, records the best hyper-parameters, resumes."""

from __future__ import annotations

import pytest

from trainer.errors import Cancelled
from trainer.paths import card_path
from trainer.progress import CancelToken
from trainer.serving.card import ModelCard
from trainer.training.runs import RunConfig
from trainer.training.tuning import ACTIVATIONS, LEARNING_RATES, tune_alexnet

SIZE = 67


def _trial_dirs(project):
    return sorted(p.name for p in project.iterdir() if p.is_dir() and p.name.startswith("trial_"))


def test_tune_then_resume(synthetic_dataset, tmp_path):
    directory = tmp_path / "tuning"
    config = RunConfig(
        synthetic_dataset, output=tmp_path / "tuned.keras", image_size=SIZE, preprocessing="notebook", subset=4
    )
    events = []
    path = tune_alexnet(config, max_epochs=2, factor=3, directory=directory, progress=events.append)
    card = ModelCard.read(card_path(path))
    best = card.training["hyperparameters"]
    assert best["activation"] in ACTIVATIONS and best["learning_rate"] in LEARNING_RATES
    tuning = card.training["tuning"]
    assert tuning["max_epochs"] == 2 and tuning["factor"] == 3 and tuning["objective"] == "val_accuracy"
    assert tuning["trials_completed"] >= 1 and tuning["project"] == str(directory / "alexnet")
    assert card.metrics["test_images"] > 0
    assert any(e.stage == "Tuning AlexNet" and "trial" in e.message for e in events)
    trials = _trial_dirs(directory / "alexnet")
    assert trials

    # Resuming a finished search runs no new trial and finds the same best hyper-parameters.
    again = RunConfig(
        synthetic_dataset, output=tmp_path / "resumed.keras", image_size=SIZE, preprocessing="notebook", subset=4
    )
    events.clear()
    path2 = tune_alexnet(again, max_epochs=2, factor=3, directory=directory, resume=True, progress=events.append)
    card2 = ModelCard.read(card_path(path2))
    assert _trial_dirs(directory / "alexnet") == trials
    assert card2.training["hyperparameters"] == best and card2.training["tuning"]["resumed"] is True
    assert not any(e.stage == "Tuning AlexNet" and "epoch" in e.message for e in events)


def test_cancelled_tuning_writes_no_model(synthetic_dataset, tmp_path):
    output = tmp_path / "out.keras"
    output.write_bytes(b"old")
    token = CancelToken()

    def progress(event):
        if event.stage == "Tuning AlexNet":
            token.cancel()

    config = RunConfig(synthetic_dataset, output=output, image_size=SIZE, preprocessing="notebook", subset=4)
    with pytest.raises(Cancelled):
        tune_alexnet(config, max_epochs=2, directory=tmp_path / "t", progress=progress, cancel=token)
    assert output.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.keras", "t"]
