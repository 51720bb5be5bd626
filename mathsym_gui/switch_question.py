"""After a training job: offer the new model without ever making a worse one active by default.

The question shows the old and the new model's accuracy on the same test split when both are known (an
``adapt`` card scores its base model on its own test split; two trained models compare when their test-split
fingerprints match), and after ``adapt`` both models' accuracy on the user's own samples. When the new model is
worse on the test split, the question defaults to No and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trainer.errors import MathSymError
from trainer.paths import card_path
from trainer.serving.card import ModelCard

from . import dialogs


@dataclass(frozen=True)
class Comparison:
    """Accuracies of the active and the new model; ``same_split`` when they were measured on one test split;
    ``samples``: both models' accuracy on the user's samples an ``adapt`` learnt from (active model first)."""

    old: float | None
    new: float | None
    same_split: bool
    samples: tuple[float, float] | None = None

    @property
    def worse(self) -> bool:
        return self.same_split and self.old is not None and (self.new is None or self.new < self.old)


def _same_file(a, b) -> bool:
    try:
        return bool(a) and bool(b) and Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def compare(active, new_model: str | Path, new_accuracy: float | None = None) -> Comparison:
    """Compare the active LoadedModel (or None) with the model just written at ``new_model``."""
    try:
        card = ModelCard.read(card_path(new_model))
    except MathSymError:
        card = None
    new = card.test_accuracy if card is not None and card.test_accuracy is not None else new_accuracy
    if active is None:
        return Comparison(None, new, False)
    old = active.card.test_accuracy
    if card is None:
        return Comparison(old, new, False)
    base = card.training.get("base_model")
    base = base if isinstance(base, dict) else {}
    if card.metrics.get("base_test_accuracy") is not None and _same_file(base.get("path"), active.path):
        before, after = card.metrics.get("base_samples_accuracy"), card.metrics.get("samples_accuracy")
        samples = (float(before), float(after)) if before is not None and after is not None else None
        return Comparison(float(card.metrics["base_test_accuracy"]), new, True, samples)
    old_print, new_print = active.card.split.get("test_fingerprint"), card.split.get("test_fingerprint")
    return Comparison(old, new, bool(old_print) and old_print == new_print)


def _pct(value: float | None) -> str:
    return "unknown" if value is None else f"{value * 100:.1f}%"


def ask_switch(parent, title: str, text: str, active, new_model: str | Path, new_accuracy: float | None = None) -> bool:
    """Ask whether to use the new model; Yes is the default only when it is not worse than the active one."""
    c = compare(active, new_model, new_accuracy)
    if active is not None:
        where = "on the same test split" if c.same_split else "each on its own test split"
        text += f"\n\nTest accuracy {where}: {active.name} {_pct(c.old)}, new model {_pct(c.new)}."
        if c.samples is not None:
            text += f"\nOn your samples: {active.name} {_pct(c.samples[0])}, new model {_pct(c.samples[1])}."
    if c.worse:
        return dialogs.show(
            parent,
            dialogs.QUESTION_DEFAULT_NO,
            title,
            text + f"\n\nThe new model is worse than {active.name}. Switch to it anyway?",
        )
    return dialogs.ask(parent, title, text + "\n\nSwitch to the new model?")
