"""A small live loss-and-accuracy plot, painted with QPainter (no matplotlib in the GUI)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

#: (metric key, colour, dashed, axis) in drawing order; loss on the left axis, accuracy (0..1) on the right.
SERIES = (
    ("loss", "#d62728", False, "loss"),
    ("val_loss", "#d62728", True, "loss"),
    ("accuracy", "#1f77b4", False, "acc"),
    ("val_accuracy", "#1f77b4", True, "acc"),
)


class TrainingPlot(QWidget):
    """Per-epoch metrics as lines: loss (red, left axis), accuracy (blue, right axis, 0-1); dashed = validation."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainPlot")
        self.setMinimumSize(260, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.epochs: list[dict] = []

    def sizeHint(self) -> QSize:
        return QSize(420, 200)

    def clear(self) -> None:
        self.epochs = []
        self.update()

    def add_epoch(self, metrics: dict) -> None:
        """Add one epoch's metrics (a repeated epoch number replaces the earlier entry, e.g. a new trial)."""
        epoch = metrics.get("epoch", len(self.epochs) + 1)
        if self.epochs and epoch <= self.epochs[-1].get("epoch", 0):
            self.epochs = [m for m in self.epochs if m.get("epoch", 0) < epoch]
        self.epochs.append(dict(metrics, epoch=epoch))
        self.update()

    def series(self, key: str) -> list[tuple[int, float]]:
        return [(m["epoch"], float(m[key])) for m in self.epochs if isinstance(m.get(key), (int, float))]

    def legend(self) -> list[str]:
        """The series the legend names: only those with at least one point."""
        return [key for key, *_ in SERIES if self.series(key)]

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        text = pal.color(QPalette.ColorRole.Text)
        fm = p.fontMetrics()
        left, right = fm.horizontalAdvance("0.000") + 8, fm.horizontalAdvance("100%") + 8
        top, bottom = 8, fm.height() + 8
        area = QRectF(
            left, top + fm.height() + 4, self.width() - left - right, self.height() - top - bottom - fm.height() - 4
        )
        if area.width() < 20 or area.height() < 20:
            return
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.drawRect(area)
        x, shown = left, self.legend()
        for key, colour, dashed, _ in SERIES:
            if key not in shown:
                continue
            p.setPen(QPen(QColor(colour), 2, Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine))
            p.drawLine(QPointF(x, top + fm.height() / 2), QPointF(x + 16, top + fm.height() / 2))
            p.setPen(text)
            p.drawText(QPointF(x + 20, top + fm.ascent()), key)
            x += 28 + fm.horizontalAdvance(key)
        if not self.epochs:
            p.setPen(text)
            p.drawText(area, Qt.AlignmentFlag.AlignCenter, "Loss and accuracy appear here after each epoch")
            return
        last_epoch = max(m["epoch"] for m in self.epochs)
        first_epoch = min(m["epoch"] for m in self.epochs)
        span = max(1, last_epoch - first_epoch)
        losses = [v for k in ("loss", "val_loss") for _, v in self.series(k)]
        loss_max = max(losses) * 1.1 if losses and max(losses) > 0 else 1.0

        def point(epoch: int, value: float, axis: str) -> QPointF:
            fx = (epoch - first_epoch) / span if last_epoch > first_epoch else 0.5
            fy = value / loss_max if axis == "loss" else min(max(value, 0.0), 1.0)
            return QPointF(area.left() + fx * area.width(), area.bottom() - fy * area.height())

        p.setPen(text)
        p.drawText(
            QRectF(0, area.top() - fm.height() / 2, left - 4, fm.height()),
            Qt.AlignmentFlag.AlignRight,
            f"{loss_max:.3g}",
        )
        p.drawText(QRectF(0, area.bottom() - fm.height() / 2, left - 4, fm.height()), Qt.AlignmentFlag.AlignRight, "0")
        p.drawText(
            QRectF(area.right() + 4, area.top() - fm.height() / 2, right, fm.height()),
            Qt.AlignmentFlag.AlignLeft,
            "100%",
        )
        p.drawText(
            QRectF(area.right() + 4, area.bottom() - fm.height() / 2, right, fm.height()),
            Qt.AlignmentFlag.AlignLeft,
            "0%",
        )
        p.drawText(
            QRectF(area.left(), area.bottom() + 2, area.width(), fm.height()),
            Qt.AlignmentFlag.AlignCenter,
            f"epoch {first_epoch}–{last_epoch}" if last_epoch > first_epoch else f"epoch {last_epoch}",
        )
        for key, colour, dashed, axis in SERIES:
            pts = self.series(key)
            if not pts:
                continue
            p.setPen(
                QPen(
                    QColor(colour),
                    2,
                    Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine,
                    Qt.PenCapStyle.RoundCap,
                    Qt.PenJoinStyle.RoundJoin,
                )
            )
            if len(pts) == 1:
                p.setBrush(QColor(colour))
                p.drawEllipse(point(*pts[0], axis), 3, 3)
                p.setBrush(Qt.BrushStyle.NoBrush)
                continue
            path = QPainterPath(point(*pts[0], axis))
            for e, v in pts[1:]:
                path.lineTo(point(e, v, axis))
            p.drawPath(path)
        p.end()
