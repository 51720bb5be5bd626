"""Where a job of several stages stands: one overall fraction that never goes back, and an ETA only where the
current stage's own pace gives one.

A job's events name their stage; when they also carry ``step``/``steps`` (trainer.events.Progress) those place
the stage (each stage an equal share of the bar). Otherwise the order comes from the stage names the dialog
expects for the job, a stage it does not know is placed right after the current one, and training or tuning
stages get the larger share of the bar they take of the time.
"""

from __future__ import annotations

from trainer.events import Progress

#: A stage's pace is trusted for an ETA only after this long (s) and this much of it.
MIN_SECONDS, MIN_SHARE = 2.0, 0.02
#: Training and tuning take most of a job: their share of the bar, against 1 for every other stage.
LONG_STAGE_WEIGHT = 10.0


def stage_weight(stage: str) -> float:
    return LONG_STAGE_WEIGHT if stage.startswith(("Training", "Tuning")) else 1.0


class StagePlan:
    """Feed it every Progress event with the time it arrived; read ``fraction``, ``index``/``count``, ``eta``."""

    def __init__(self, stages: tuple[str, ...] | list[str] = ()) -> None:
        self.stages = list(stages)
        self.fraction = 0.0
        self.index, self.count = 0, max(1, len(self.stages))
        self.stage = ""
        self._last: Progress | None = None
        self._since = 0.0  # when the current stage's first event arrived
        self._first_done = 0
        self._now = 0.0

    def update(self, event: Progress, now: float) -> None:
        if event.stage != self.stage:
            self.stage, self._since, self._first_done = event.stage, now, event.done
        numbered = False
        if event.step is not None and event.steps:
            self.index, self.count = min(event.step, event.steps - 1), event.steps
            numbered = True
        else:
            if event.stage not in self.stages:
                previous = self._last.stage if self._last is not None else None
                self.stages.insert(self.stages.index(previous) + 1 if previous in self.stages else 0, event.stage)
            self.index, self.count = self.stages.index(event.stage), len(self.stages)
        within = min(event.done / event.total, 1.0) if event.total else 0.0
        if numbered:  # the job numbered its stages: equal shares
            fraction = (self.index + within) / self.count
        else:  # known names: training and tuning weigh more than reading and testing
            weights = [stage_weight(s) for s in self.stages]
            fraction = (sum(weights[: self.index]) + weights[self.index] * within) / sum(weights)
        self.fraction = max(self.fraction, fraction)
        self._last, self._now = event, now

    @property
    def eta(self) -> float | None:
        """Seconds left in the current stage at its pace so far; None when that cannot be estimated yet."""
        e = self._last
        if e is None or not e.total:
            return None
        elapsed, done = self._now - self._since, e.done - self._first_done
        if elapsed < MIN_SECONDS or done <= 0 or done < MIN_SHARE * e.total:
            return None
        return elapsed * max(0, e.total - e.done) / done

    def label(self) -> str:
        """The bar's text: "Training · stage 6 of 7"."""
        return f"{self.stage} · stage {self.index + 1} of {self.count}" if self.stage else ""
