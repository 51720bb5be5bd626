"""After a training job: offer the new model without ever making a worse one active by default.

The question shows the old and the new model's accuracy on the same test split when both are known (an
``adapt`` card scores its base model on its own test split; two trained models compare when their test-split
fingerprints match), and after ``adapt`` both models' accuracy on the user's own samples and the test images it
newly misreads (what each is read as: a taught ``)`` takes the 1s written like it). When the new model is worse on
the test split, the question defaults to No and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trainer.errors import MathSymError
from trainer.labels import symbol
from trainer.paths import card_path
from trainer.serving.card import ModelCard

from . import dialogs

#: Kinds of newly misread test images the question names; the rest are counted.
LOST_SHOWN = 3


@dataclass(frozen=True)
class Comparison:
    """Accuracies of the active and the new model; ``same_split`` when they were measured on one test split;
    ``samples``: both models' accuracy on the user's samples an ``adapt`` learnt from (active model first);
    ``lost``: the test images the active model read right and the new one misreads, as (class, read as, count)
    in the new model's symbols, most first."""

    old: float | None
    new: float | None
    same_split: bool
    samples: tuple[float, float] | None = None
    lost: tuple[tuple[str, str, int], ...] = ()

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
        return Comparison(float(card.metrics["base_test_accuracy"]), new, True, samples, _lost(card))
    old_print, new_print = active.card.split.get("test_fingerprint"), card.split.get("test_fingerprint")
    return Comparison(old, new, bool(old_print) and old_print == new_print)


def _lost(card: ModelCard) -> tuple[tuple[str, str, int], ...]:
    """The card's newly misread test images (``adapt`` records them), shown as symbols; () when it has none."""
    recorded = card.metrics.get("newly_misread")
    symbols = card.dataset.get("symbols")
    symbols = symbols if isinstance(symbols, dict) else None
    if not isinstance(recorded, dict):
        return ()
    rows = [
        (symbol(str(label), symbols), symbol(str(read), symbols), n)
        for label, reads in recorded.items()
        if isinstance(reads, dict)
        for read, n in reads.items()
        if isinstance(n, int) and n > 0
    ]
    return tuple(sorted(rows, key=lambda r: -r[2]))


def _newly_misread(lost: tuple[tuple[str, str, int], ...]) -> str:
    """``Test images it newly misreads: 4 of "1" read as ")", 1 of "y" read as "4".``: the first few, then a count
    (quoted, as a symbol may be a point or a bracket)."""
    shown = ", ".join(f'{n} of "{label}" read as "{read}"' for label, read, n in lost[:LOST_SHOWN])
    more = sum(n for _, _, n in lost[LOST_SHOWN:])
    return f"Test images it newly misreads: {shown}" + (f", and {more} more." if more else ".")


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
        if c.lost:
            text += "\n" + _newly_misread(c.lost)
    if c.worse:
        return dialogs.show(
            parent,
            dialogs.QUESTION_DEFAULT_NO,
            title,
            text + f"\n\nThe new model is worse than {active.name}. Switch to it anyway?",
        )
    return dialogs.ask(parent, title, text + "\n\nSwitch to the new model?")
