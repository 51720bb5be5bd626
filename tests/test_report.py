"""export_report: every file written and valid, readable figures, and nothing half-written on failure."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
from PIL import Image

from _tinymodel import tiny_model  # noqa: F401  (fixture)
from trainer.errors import Cancelled, MathSymError
from trainer.evaluate import metrics_from_predictions
from trainer.loading import load_images
from trainer.modelio import load_model
from trainer.progress import CancelToken
from trainer.report import FILES, export_report
from trainer.dataset import scan_dataset
from trainer.split import notebook_split


@pytest.fixture(scope="module")
def evaluation(tiny_model, synthetic_dataset):
    model = load_model(tiny_model)
    split = notebook_split(scan_dataset(synthetic_dataset))
    images = load_images(split.test, model.card.preprocessing, model.card.input_size)
    probabilities = model.predict_inputs(images.x)
    # Make sure the gallery has something to show: flip two predictions.
    probabilities = probabilities.copy()
    for i in (0, 5):
        probabilities[i] = np.roll(probabilities[i], 3)
    metrics = metrics_from_predictions(images.y, probabilities, model.labels)
    return model, images, probabilities, metrics


def test_report_files_are_valid(evaluation, tmp_path):
    model, images, probabilities, metrics = evaluation
    events = []
    out = tmp_path / "report"
    files = export_report(model, images, metrics, out, events.append, probabilities=probabilities)
    assert set(FILES) <= set(files)
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES.values())
    for kind in ("confusion_png", "report_png", "misclassified_png"):
        with Image.open(files[kind]) as im:
            im.verify()
            assert im.format == "PNG" and im.size[0] > 400
    pdf = files["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) >= 3
    rows = list(csv.reader(files["confusion_csv"].open(encoding="utf-8")))
    assert rows[0][1:] == list(model.labels) and len(rows) == 20
    assert np.array([[int(v) for v in r[1:]] for r in rows[1:]]).tolist() == metrics["confusion_matrix"]
    per_class = list(csv.DictReader(files["per_class_csv"].open(encoding="utf-8")))
    assert [r["class"] for r in per_class[:19]] == list(model.labels)
    assert per_class[10]["symbol"] == "+"
    wrong = list(csv.DictReader(files["misclassified_csv"].open(encoding="utf-8")))
    assert len(wrong) == metrics["test_errors"] >= 2
    data = json.loads(files["metrics_json"].read_text(encoding="utf-8"))
    assert data["test_accuracy"] == metrics["test_accuracy"] and data["model"] == model.name
    assert len(data["misclassified"]) == len(wrong)
    assert events and events[-1].stage == "Writing report" and events[-1].done == events[-1].total


def test_failed_export_leaves_nothing_and_keeps_the_old_report(evaluation, tmp_path, monkeypatch):
    model, images, probabilities, metrics = evaluation
    out = tmp_path / "report"  # an earlier report (metrics.json marks it) that must survive a failed export
    out.mkdir()
    (out / "metrics.json").write_text('{"old": true}')
    before = (out / "metrics.json").read_bytes()

    import trainer.report as report

    def broken(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(report, "gallery_figures", broken)
    with pytest.raises(RuntimeError):
        export_report(model, images, metrics, out, probabilities=probabilities)
    assert (out / "metrics.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no staging folder left
    with pytest.raises(RuntimeError):
        export_report(model, images, metrics, tmp_path / "new", probabilities=probabilities)
    assert not (tmp_path / "new").exists()
    monkeypatch.undo()

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        export_report(model, images, metrics, tmp_path / "cancelled", probabilities=probabilities, cancel=token)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_refuses_unusable_targets(evaluation, tmp_path):
    model, images, probabilities, metrics = evaluation
    blocker = tmp_path / "file"
    blocker.write_text("x")
    other = tmp_path / "other"
    other.mkdir()
    (other / "thesis.tex").write_text("keep me")
    for target in (blocker, blocker / "report", other):
        with pytest.raises(MathSymError) as info:
            export_report(model, images, metrics, target, probabilities=probabilities)
        assert str(target) in str(info.value)
    assert (other / "thesis.tex").read_text() == "keep me"
