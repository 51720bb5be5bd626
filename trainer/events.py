"""The job protocol between ``mathsym-train --progress json`` and the pad: one JSON object per line.

A job prints any number of :class:`Progress` lines, then exactly one :class:`Done` or :class:`Failed`. Both
sides use these types, so the pad never guesses at a line's shape.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Progress:
    """One step of a job. ``total`` is None when unknown; ``metrics`` holds loss/accuracy per epoch.

    ``step``/``steps`` (optional) place the stage in the job: stage ``step`` (0-based) of ``steps``, so a
    reader can show one overall bar; left out of the JSON when unknown.
    """

    stage: str
    done: int
    total: int | None = None
    message: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    step: int | None = None
    steps: int | None = None

    def to_json(self) -> str:
        fields = {k: v for k, v in asdict(self).items() if v is not None or k not in ("step", "steps")}
        return _dump({"event": "progress", **fields})


@dataclass
class Done:
    """A job's result. ``model``/``report`` name what it wrote or used; ``details`` holds the command's own
    fields (split counts, predictions, a card), printed at the top level of the JSON line."""

    seconds: float = 0.0
    model: str | None = None
    report: str | None = None
    test_accuracy: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        known = {k: v for k, v in asdict(self).items() if k != "details" and v is not None}
        return _dump({"event": "done", **self.details, **known})


@dataclass
class Failed:
    """A job that stopped: why, in one sentence, and whether the user cancelled it."""

    message: str
    cancelled: bool = False

    def to_json(self) -> str:
        return _dump({"event": "error", "message": self.message, **({"cancelled": True} if self.cancelled else {})})


Event = Progress | Done | Failed
_DONE_FIELDS = ("seconds", "model", "report", "test_accuracy")


def _dump(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False, default=str)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _count(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number >= 0 else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_event(line: str) -> Event | None:
    """The event on one output line, or None for a line that is not part of the protocol (log output)."""
    try:
        raw = json.loads(line)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    kind = raw.get("event")
    if kind == "progress":
        total = _number(raw.get("total"))
        metrics = raw["metrics"] if isinstance(raw.get("metrics"), dict) else {}
        return Progress(
            stage=str(raw.get("stage") or ""),
            done=int(_number(raw.get("done")) or 0),
            total=None if total is None else int(total),
            message=str(raw.get("message") or ""),
            metrics={str(k): v for k, v in metrics.items() if _number(v) is not None},
            step=_count(raw.get("step")),
            steps=_count(raw.get("steps")),
        )
    if kind == "done":
        return Done(
            seconds=_number(raw.get("seconds")) or 0.0,
            model=_text(raw.get("model")),
            report=_text(raw.get("report")),
            test_accuracy=_number(raw.get("test_accuracy")),
            details={k: v for k, v in raw.items() if k not in (*_DONE_FIELDS, "event")},
        )
    if kind == "error":
        return Failed(message=str(raw.get("message") or "The job failed."), cancelled=raw.get("cancelled") is True)
    return None
