"""Exporting an evaluation as files a person reads: confusion matrix, classification report, misclassified images.

Everything is written into a hidden staging folder beside the target and renamed into place at the end, so a
failed or cancelled export leaves no half-written report (and an earlier report in the same folder stays
intact until the new one is complete). The report lists what it wrote, with digests, in its manifest; it only
ever replaces files listed there and unchanged since, and refuses a folder holding anything else. Figures use
matplotlib's object API with the Agg canvas (no pyplot, no global backend switch), so it is safe inside the GUI
process too.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from trainer.atomic import replacement_mode
from trainer.digest import file_sha256
from trainer.errors import MathSymError
from trainer.labels import SYMBOLS, Symbols, symbol
from trainer.progress import CancelToken, Progress, ProgressFn, ignore

FILES = {
    "confusion_png": "confusion_matrix.png",
    "report_png": "classification_report.png",
    "misclassified_png": "misclassified.png",
    "pdf": "report.pdf",
    "confusion_csv": "confusion_matrix.csv",
    "per_class_csv": "per_class.csv",
    "misclassified_csv": "misclassified.csv",
    "metrics_json": "metrics.json",
    "manifest": "report-manifest.json",
}
#: The record of what a report wrote (file name -> sha256), written last into the report folder.
MANIFEST = FILES["manifest"]
#: Misclassified images per gallery page (6 columns x 8 rows) and pages at most.
GALLERY_COLUMNS = 6
GALLERY_PAGE = 48
GALLERY_PAGES = 5
DPI = 130
#: Every page of the PDF has this size (A4 portrait, inches); the PNGs keep each figure's own size.
PDF_PAGE = (8.27, 11.69)
#: The classification table's colour for a perfect score.
PERFECT = "#c8e6c9"


def export_report(
    model,
    images,
    metrics: dict | None,
    output_dir: str | os.PathLike,
    progress: ProgressFn = ignore,
    *,
    probabilities: np.ndarray | None = None,
    cancel: CancelToken | None = None,
) -> dict[str, Path]:
    """Write the report of ``model`` on ``images`` (the preprocessed test split) into ``output_dir``.

    ``metrics`` is :func:`trainer.evaluation.evaluate.metrics_from_predictions`' result (computed here when None);
    ``probabilities`` (N, classes) avoids predicting twice. Returns {kind: path} of the files written.
    Raises MathSymError when the folder cannot be written or already holds something that is not a report.
    """
    from trainer.evaluation.evaluate import metrics_from_predictions, predict_arrays

    output = Path(output_dir)
    check_report_target(output)
    labels = list(model.labels)
    if probabilities is None:
        probabilities = predict_arrays(model.predict_inputs, images.x, progress, cancel, stage="Predicting")
    if metrics is None:
        metrics = metrics_from_predictions(images.y, probabilities, labels)
    steps = 6
    progress(Progress("Writing report", 0, steps))

    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent))
    except OSError as exc:
        raise _write_error(output, exc) from exc
    try:
        files = _write_all(staging, model, images, metrics, probabilities, labels, progress, cancel, steps)
        _write_manifest(staging)
        if cancel:
            cancel.check()
        _move_into_place(staging, output)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise _write_error(output, exc) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    progress(Progress("Writing report", steps, steps))
    return {kind: output / path.name for kind, path in files.items()}


def _write_error(output: Path, exc: OSError) -> MathSymError:
    return MathSymError(f"Cannot write the report to {output}: {exc.strerror or exc}.")


def check_report_target(output: Path) -> None:
    """Raise MathSymError when ``output`` can never hold the report (checked again before writing)."""
    if output.exists() and not output.is_dir():
        raise MathSymError(f"Cannot write the report to {output}: it is a file, not a folder.")
    if output.is_dir():
        if not os.access(output, os.W_OK):
            raise MathSymError(f"Cannot write the report to {output}: the folder is not writable.")
        earlier_report_files(output)
    parent = output.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise MathSymError(f"Cannot write the report to {output}: {parent} is a file, not a folder.")


def earlier_report_files(output: Path) -> list[str]:
    """The files of an earlier report in the folder ``output``, which a new report may replace.

    Raises MathSymError when the folder holds anything else: a file the manifest does not list, one changed
    since the report wrote it, a folder. Those are the user's, and a report never deletes them.
    """
    entries = sorted(p.name for p in output.iterdir())
    if not entries:
        return []
    written = _read_manifest(output / MANIFEST) or {}
    foreign = [name for name in entries if name != MANIFEST and not _unchanged(output / name, written.get(name))]
    if foreign or not written:
        shown = ", ".join(foreign[:5] or entries[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise MathSymError(
            f"Report folder {output} holds files that no report wrote or that were changed since "
            f"({shown}); choose a new or empty folder. Nothing was changed."
        )
    return [name for name in entries if name != MANIFEST]


def _read_manifest(path: Path) -> dict[str, str] | None:
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError):
        return None
    return files if isinstance(files, dict) else None


def _unchanged(path: Path, digest: object) -> bool:
    return isinstance(digest, str) and path.is_file() and not path.is_symlink() and file_sha256(path) == digest


def _write_manifest(folder: Path) -> None:
    """Record every file of the finished report (all of ``folder``) with its digest."""
    files = {p.name: file_sha256(p) for p in sorted(folder.iterdir()) if p.name != MANIFEST}
    record = {"written_by": "mathsym-train report", "files": files}
    (folder / MANIFEST).write_text(json.dumps(record, indent=2), encoding="utf-8")


def _move_into_place(staging: Path, output: Path) -> None:
    """Rename the finished staging folder to ``output``, replacing only an earlier report's own files there.
    The new folder gets the old one's permission bits (an ordinary 0755 folder where there was none)."""
    mode = replacement_mode(output, 0o755)
    if not output.exists():
        os.chmod(staging, mode)
        staging.rename(output)
        return
    ours = earlier_report_files(output)  # again: the folder may have changed while the report was written
    if not ours:
        output.rmdir()
        os.chmod(staging, mode)
        staging.rename(output)
        return
    holder = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".old", dir=output.parent))
    old = holder / output.name
    try:
        output.rename(old)  # moving a folder needs write access to it (its ".." entry changes)
    except OSError:
        holder.rmdir()
        raise
    try:
        os.chmod(staging, mode)  # only now: a read-only mode would have kept the staging folder from cleanup
        staging.rename(output)
    except OSError:
        old.rename(output)
        holder.rmdir()
        raise
    for name in [*ours, MANIFEST]:
        (old / name).unlink(missing_ok=True)
    for left in old.iterdir():  # appeared after the check: the user's, so it goes back beside the new report
        if not (output / left.name).exists():
            left.rename(output / left.name)
    with contextlib.suppress(OSError):
        old.rmdir()
        holder.rmdir()


# -- writing ------------------------------------------------------------------------------------------------


def _write_all(
    folder: Path,
    model,
    images,
    metrics: dict,
    probabilities: np.ndarray,
    labels: list[str],
    progress: ProgressFn,
    cancel: CancelToken | None,
    steps: int,
) -> dict[str, Path]:
    from matplotlib.backends.backend_pdf import PdfPages

    files = {kind: folder / name for kind, name in FILES.items()}
    name = getattr(model, "name", "model")
    card = getattr(model, "card", None)
    symbols = dict(card.dataset.get("symbols", {})) if card is not None else {}
    predicted = probabilities.argmax(axis=1) if len(probabilities) else np.zeros(0, int)
    wrong = _misclassified(images, probabilities, predicted)

    def step(i: int) -> None:
        if cancel:
            cancel.check()
        progress(Progress("Writing report", i, steps))

    model_path = str(getattr(model, "path", "") or "")
    _write_numbers(files, name, model_path, card, images, metrics, labels, wrong, symbols)
    step(1)
    confusion = confusion_figure(np.asarray(metrics["confusion_matrix"]), labels, name, metrics, symbols)
    confusion.savefig(files["confusion_png"], dpi=DPI)
    step(2)
    table = report_figure(metrics, labels, name, symbols)
    table.savefig(files["report_png"], dpi=DPI)
    step(3)
    pages = gallery_figures(images, wrong, labels, name, symbols)
    pages[0].savefig(files["misclassified_png"], dpi=DPI)
    extra_pngs = []
    for i, page in enumerate(pages[1:], start=2):
        path = folder / f"misclassified-{i}.png"
        page.savefig(path, dpi=DPI)
        extra_pngs.append(path)
    step(4)
    with PdfPages(files["pdf"], metadata={"Title": f"MathSym report: {name}", "Creator": "mathsym-train"}) as pdf:
        for fig in (confusion, table, *pages):
            fig.set_size_inches(*PDF_PAGE)  # constrained layout fits the figure to the page when it is drawn
            pdf.savefig(fig)
    step(5)
    for i, path in enumerate(extra_pngs, start=2):
        files[f"misclassified_png_{i}"] = path
    return files


def _misclassified(images, probabilities: np.ndarray, predicted: np.ndarray) -> list[tuple[int, int, float]]:
    """(index, predicted label, confidence) of wrong predictions, most confident first."""
    y = np.asarray(images.y)
    idx = np.flatnonzero(predicted != y) if len(y) else np.zeros(0, int)
    wrong = [(int(i), int(predicted[i]), float(probabilities[i, predicted[i]])) for i in idx]
    wrong.sort(key=lambda t: (-t[2], t[0]))
    return wrong


def _write_numbers(
    files: dict[str, Path],
    name: str,
    model_path: str,
    card,
    images,
    metrics: dict,
    labels: list[str],
    wrong: list[tuple[int, int, float]],
    symbols: Symbols,
) -> None:
    matrix = np.asarray(metrics["confusion_matrix"], dtype=int)
    with open(files["confusion_csv"], "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["true \\ predicted", *labels])
        for label, row in zip(labels, matrix, strict=True):
            w.writerow([label, *row.tolist()])
    report = metrics.get("classification_report", {})
    with open(files["per_class_csv"], "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["class", "symbol", "precision", "recall", "f1-score", "support"])
        for key in [*labels, "macro avg", "weighted avg"]:
            r = report.get(key)
            if r:
                w.writerow(
                    [
                        key,
                        symbol(key, symbols) if key in labels else "",
                        f"{r['precision']:.4f}",
                        f"{r['recall']:.4f}",
                        f"{r['f1-score']:.4f}",
                        int(r["support"]),
                    ]
                )
        w.writerow(["accuracy", "", "", "", f"{metrics.get('test_accuracy', 0.0):.4f}", metrics.get("test_images", "")])
    with open(files["misclassified_csv"], "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["file", "true", "predicted", "confidence"])
        for i, pred, conf in wrong:
            w.writerow([str(images.paths[i]), labels[int(images.y[i])], labels[pred], f"{conf:.4f}"])
    summary = {
        "model": name,
        "model_path": model_path,
        **(
            {"architecture": card.architecture, "preprocessing": card.preprocessing, "input_size": card.input_size}
            if card is not None
            else {}
        ),
        "labels": labels,
        **metrics,
        "misclassified": [
            {
                "file": str(images.paths[i]),
                "true": labels[int(images.y[i])],
                "predicted": labels[p],
                "confidence": round(c, 6),
            }
            for i, p, c in wrong
        ],
        "unreadable": [[str(p), m] for p, m in getattr(images, "failures", [])],
    }
    files["metrics_json"].write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")


# -- figures ------------------------------------------------------------------------------------------------


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _accuracy_text(metrics: dict) -> str:
    total = int(metrics.get("test_images", 0))
    errors = int(metrics.get("test_errors", 0))
    return f"test accuracy {metrics.get('test_accuracy', 0.0) * 100:.2f} % ({total - errors}/{total})"


def confusion_figure(matrix: np.ndarray, labels: list[str], name: str, metrics: dict, symbols: Symbols | None = None):
    """Heatmap of counts, coloured by each true class's share (row-normalised); errors in red."""
    n = len(labels)
    m = np.asarray(matrix, dtype=int)
    rows = m.sum(axis=1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros(m.shape, float), where=rows > 0)
    side = max(6.0, 0.42 * n + 2.5)
    fig = _figure(side + 1.2, side)
    ax = fig.add_subplot()
    diagonal = np.eye(n, dtype=bool)
    # Correct predictions in blue, confusions in red: the eye finds the problems first.
    image = ax.imshow(np.ma.masked_where(~diagonal, share), cmap="Blues", vmin=0.0, vmax=1.0)
    ax.imshow(np.ma.masked_where(diagonal | (m == 0), share), cmap="Reds", vmin=0.0, vmax=0.6)
    font = 9 if n <= 20 else 7
    for i in range(n):
        for j in range(n):
            if m[i, j] == 0:
                continue
            if i == j:
                color = "white" if share[i, j] > 0.55 else "#08306b"
            else:
                color = "white" if share[i, j] > 0.35 else "#67000d"
            ax.text(
                j,
                i,
                str(m[i, j]),
                ha="center",
                va="center",
                fontsize=font,
                color=color,
                fontweight="normal" if i == j else "bold",
            )
    # Label and symbol together ("mul ×", "x x"), so × and x cannot be mistaken; a digit is its own symbol.
    ax.set_xticks(range(n), [_header(x, "\n", symbols) for x in labels], fontsize=9)
    ax.set_yticks(range(n), [_header(x, " ", symbols) for x in labels], fontsize=10)
    ax.set_xlabel("predicted", fontsize=11)
    ax.set_ylabel("true", fontsize=11)
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    ax.set_xticks(np.arange(-0.5, n, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n, 1), minor=True)
    ax.grid(which="minor", color="#dddddd", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label("share of the true class (confusions in red)")
    fig.suptitle(f"Confusion matrix: {name}\n{_accuracy_text(metrics)}", fontsize=13)
    return fig


def _header(label: str, separator: str, symbols: Symbols | None) -> str:
    sym = symbol(label, symbols)
    # A taught class without a symbol of its own is named once; a built-in letter keeps "x x" beside "mul ×".
    return label if label.isdigit() or (sym == label and label not in SYMBOLS) else f"{label}{separator}{sym}"


def report_figure(metrics: dict, labels: list[str], name: str, symbols: Symbols | None = None):
    """scikit-learn's classification report as a table, coloured by value: green only for a perfect 1.000,
    yellow to red for lower scores (an imperfect cell never looks like a perfect one)."""
    from matplotlib import colormaps

    report = metrics.get("classification_report", {})
    header = ["class", "symbol", "precision", "recall", "f1-score", "support"]
    rows, shades = [], []
    cmap = colormaps["RdYlGn"]

    def add(key: str, sym: str) -> None:
        r = report.get(key, {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0})
        rows.append([key, sym, *(f"{r[k]:.3f}" for k in ("precision", "recall", "f1-score")), str(int(r["support"]))])
        shades.append([r["precision"], r["recall"], r["f1-score"]])

    for label in labels:
        add(label, symbol(label, symbols))
    accuracy = metrics.get("test_accuracy", 0.0)
    rows.append(["accuracy", "", "", "", f"{accuracy:.3f}", str(metrics.get("test_images", ""))])
    shades.append([None, None, metrics.get("test_accuracy", 0.0)])
    for key in ("macro avg", "weighted avg"):
        add(key, "")
    fig = _figure(7.5, 0.27 * (len(rows) + 1) + 0.9)
    ax = fig.add_subplot()
    ax.axis("off")
    table = ax.table(cellText=rows, colLabels=header, cellLoc="center", bbox=[0, 0, 1, 1])
    table.auto_set_font_size(False)
    table.set_fontsize(10)
    for (r, c), cell in table.get_celld().items():
        cell.set_edgecolor("#cccccc")
        if r == 0:
            cell.set_facecolor("#263238")
            cell.get_text().set_color("white")
            cell.get_text().set_fontweight("bold")
            continue
        row = r - 1
        if row >= len(labels):
            cell.get_text().set_fontweight("bold")
            cell.set_facecolor("#eceff1")
        if 2 <= c <= 4:
            value = shades[row][c - 2]
            if value is None:
                continue
            if round(value, 3) >= 1.0:
                cell.set_facecolor(PERFECT)
            else:  # red (0.5 or less) through orange to yellow (just under 1): the red-to-yellow half of RdYlGn
                t = max(0.0, min(1.0, (value - 0.5) / 0.5))
                rgba = cmap(0.45 * t)
                cell.set_facecolor((*rgba[:3], 0.55))
    fig.suptitle(f"Classification report: {name}\n{_accuracy_text(metrics)}", fontsize=12)
    return fig


def gallery_figures(
    images, wrong: list[tuple[int, int, float]], labels: list[str], name: str, symbols: Symbols | None = None
) -> list:
    """Pages of misclassified inputs (what the model saw), captioned with file, true -> predicted, confidence."""
    shown = wrong[: GALLERY_PAGE * GALLERY_PAGES]
    if not shown:
        fig = _figure(7.5, 2.0)
        fig.text(0.5, 0.5, "No misclassified test images.", ha="center", va="center", fontsize=14)
        fig.suptitle(f"Misclassified test images: {name}", fontsize=12)
        return [fig]
    pages = []
    count = math.ceil(len(shown) / GALLERY_PAGE)
    for page in range(count):
        items = shown[page * GALLERY_PAGE : (page + 1) * GALLERY_PAGE]
        cols = min(GALLERY_COLUMNS, len(items)) if count == 1 else GALLERY_COLUMNS
        rows = math.ceil(len(items) / cols)
        fig = _figure(max(5.5, 1.7 * cols), 2.3 * rows + 0.8)
        grid = fig.add_gridspec(rows, cols)
        for k, (i, pred, conf) in enumerate(items):
            ax = fig.add_subplot(grid[k // cols, k % cols])
            ax.imshow(images.x[i], interpolation="nearest" if images.x.shape[1] < 96 else "antialiased")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor("#c62828")
            file = Path(images.paths[i]).name
            if len(file) > 24:
                file = file[:10] + "…" + file[-12:]
            true = labels[int(images.y[i])]
            ax.set_title(
                f"{file}\ntrue {_short(true, symbols)}\nread {_short(labels[pred], symbols)}, {conf * 100:.0f} %",
                fontsize=8,
                linespacing=1.15,
            )
        more = f" (page {page + 1} of {count})" if count > 1 else ""
        hidden = len(wrong) - len(shown)
        tail = f"; {hidden} more not shown" if hidden and page == count - 1 else ""
        fig.suptitle(
            f"Misclassified test images: {name}\n{len(wrong)} wrong, most confident first{more}{tail}", fontsize=11
        )
        pages.append(fig)
    return pages


def _short(label: str, symbols: Symbols | None) -> str:
    sym = symbol(label, symbols)
    return label if sym == label else f"{label} ({sym})"
