"""export_report: every file written and valid, readable figures, and nothing half-written on failure."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
from PIL import Image

from trainer.data.dataset import scan_dataset
from trainer.data.loading import load_images
from trainer.data.split import notebook_split
from trainer.errors import Cancelled, MathSymError
from trainer.evaluation.evaluate import metrics_from_predictions
from trainer.evaluation.report import FILES, export_report
from trainer.progress import CancelToken
from trainer.serving.modelio import load_model


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
    out = tmp_path / "report"  # an earlier report that must survive a failed export
    export_report(model, images, metrics, out, probabilities=probabilities)
    before = (out / "metrics.json").read_bytes()

    import trainer.evaluation.report as report

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


def test_pdf_pages_share_one_page_size(evaluation, tmp_path):
    model, images, probabilities, metrics = evaluation
    files = export_report(model, images, metrics, tmp_path / "report", probabilities=probabilities)
    boxes = re.findall(rb"/MediaBox\s*\[\s*([\d.\s]+?)\s*\]", files["pdf"].read_bytes())
    assert len(boxes) >= 3 and len(set(boxes)) == 1, boxes


def _report_metrics(labels: list[str], precision: dict[str, float]) -> dict:
    report = {
        label: {"precision": precision.get(label, 1.0), "recall": 1.0, "f1-score": 1.0, "support": 10}
        for label in labels
    }
    for key in ("macro avg", "weighted avg"):
        report[key] = {"precision": 0.99, "recall": 0.99, "f1-score": 0.99, "support": 10 * len(labels)}
    return {
        "classification_report": report,
        "test_accuracy": 0.99,
        "test_images": 190,
        "test_errors": 2,
        "confusion_matrix": np.eye(len(labels), dtype=int).tolist(),
    }


def test_classification_table_paints_only_perfect_cells_green(tmp_path):
    from trainer.evaluation.report import report_figure
    from trainer.labels import CLASS_NAMES

    labels = list(CLASS_NAMES)
    fig = report_figure(_report_metrics(labels, {"3": 0.99, "add": 0.9, "mul": 0.6}), labels, "m")
    cells = fig.axes[0].tables[0].get_celld()

    def greenish(row: int, col: int = 2) -> bool:
        r, g, b, _ = cells[row, col].get_facecolor()
        return g > r + 0.05 and g > b + 0.05

    row = {label: i + 1 for i, label in enumerate(labels)}
    assert greenish(row["0"])  # 1.000
    for label in ("3", "add", "mul"):
        assert not greenish(row[label]), label
    assert not greenish(len(labels) + 2)  # macro avg 0.99


def test_confusion_matrix_headers_show_label_and_symbol():
    from trainer.evaluation.report import confusion_figure
    from trainer.labels import CLASS_NAMES

    labels = list(CLASS_NAMES)
    metrics = _report_metrics(labels, {})
    fig = confusion_figure(np.asarray(metrics["confusion_matrix"]), labels, "m", metrics)
    ax = fig.axes[0]
    columns = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
    rows = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]
    for headers in (columns, rows):
        assert "mul ×" in headers and "x x" in headers and "3" in headers, headers


def test_a_taught_class_is_headed_by_its_own_symbol_or_its_name_once():
    from trainer.evaluation.report import confusion_figure
    from trainer.labels import CLASS_NAMES

    labels = [*CLASS_NAMES, "lparen", "sqrt"]
    metrics = _report_metrics(labels, {})
    symbols = {"lparen": {"symbol": "(", "latex": "\\left("}}
    fig = confusion_figure(np.asarray(metrics["confusion_matrix"]), labels, "m", metrics, symbols)
    rows = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert rows[-2:] == ["lparen (", "sqrt"] and "x x" in rows, rows
