"""The notebook's Keras Tuner search for AlexNet: Hyperband over activation and Adam learning rate.

The search (objective val_accuracy, EarlyStopping on val_loss with patience 5) keeps its state in a project
directory, so an interrupted or finished search can be resumed (``resume=True``) instead of re-run. The best
hyper-parameters are then retrained from scratch for up to ``max_epochs`` with early stopping on the
validation split (never the test split), evaluated on the test split and saved with a card that records the
best hyper-parameters and the tuning budget.

With a :class:`~trainer.training.distributed.Role` the search spreads over machines (Keras Tuner's own mode):
the chief serves the oracle and, once the search is over, retrains and saves the best model (once); workers
only run trials. Everyone appends what they ran to ``<project>/trials.log`` (one JSON object a line).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from trainer.data.loading import cache_dir
from trainer.errors import Cancelled, MathSymError
from trainer.progress import CancelToken, Progress, ProgressFn, ignore
from trainer.training.alexnet import ARCHITECTURE, PATIENCE, check_validation, fit_with_early_stopping
from trainer.training.distributed import IDLE_PAUSE, Role, serve_oracle, wait_for_chief, worker_environment
from trainer.training.runs import RunConfig, finish_run, one_hot, prepare_data

#: The notebook's search space.
ACTIVATIONS: tuple[str, ...] = ("relu", "tanh")
LEARNING_RATES: tuple[float, ...] = (1e-2, 1e-3, 1e-4, 1e-5)
OBJECTIVE = "val_accuracy"
PROJECT = "alexnet"
#: Every trial start and end, by which tuner, one JSON object a line, in the project folder.
LEDGER = "trials.log"
#: Keras Tuner's search state in the project folder: what ``resume`` continues from.
ORACLE = "oracle.json"
#: The notebook's settings (the CLI reads these): at most 100 epochs per trial and for the retraining.


def default_tuning_dir(config: RunConfig, max_epochs: int, factor: int) -> Path:
    """``<cache>/tuning/alexnet-<key>``: the same data and budget give the same directory (so resume finds it)."""
    settings = {
        "dataset": str(Path(config.dataset).resolve()),
        "image_size": config.image_size,
        "split": config.split,
        "seed": config.seed,
        "validation": config.validation,
        "preprocessing": config.preprocessing,
        "subset": config.subset,
        "batch_size": config.batch_size,
        "max_epochs": max_epochs,
        "factor": factor,
    }
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    return cache_dir() / "tuning" / f"{PROJECT}-{key}"


def tune_alexnet(
    config: RunConfig,
    *,
    max_epochs: int = 100,
    factor: int = 3,
    directory: str | Path | None = None,
    resume: bool = False,
    progress: ProgressFn = ignore,
    cancel: CancelToken | None = None,
    chief: Role | None = None,
) -> Path:
    """Hyperband-search AlexNet's activation and learning rate, retrain the best, evaluate and save it.

    ``directory`` holds the tuner project (default: :func:`default_tuning_dir`); ``resume=True`` continues the
    search stored there (finished trials are not re-run; MathSymError when there is none), ``resume=False``
    starts it afresh. Returns the saved model's path. Cancelling stops within a batch; no model is written (the
    search state stays, so the search can be resumed).

    With ``chief`` the trials run on workers (:func:`work_on_search`, elsewhere) while this process serves the
    search at ``chief.address``; ``directory`` must then be one folder shared by all.
    """
    if chief is not None and not chief.chief:
        raise ValueError("a worker's role goes to work_on_search()")
    path = _tune(config, max_epochs, factor, directory, resume, progress, cancel, chief)
    assert path is not None
    return path


def work_on_search(
    config: RunConfig,
    role: Role,
    *,
    max_epochs: int = 100,
    factor: int = 3,
    directory: str | Path | None = None,
    progress: ProgressFn = ignore,
    cancel: CancelToken | None = None,
) -> None:
    """Run trials of the chief's search (at ``role.address``) until it says the search is over.

    Give the chief's search settings and its (shared) ``directory``. A worker restarted with the same tuner id
    runs the trial it was running again; the chief saves the best model, a worker saves none.
    """
    if role.chief:
        raise ValueError("the chief's role goes to tune_alexnet()")
    _tune(config, max_epochs, factor, directory, False, progress, cancel, role)


def _tune(
    config: RunConfig,
    max_epochs: int,
    factor: int,
    directory: str | Path | None,
    resume: bool,
    progress: ProgressFn,
    cancel: CancelToken | None,
    role: Role | None,
) -> Path | None:
    import keras

    from trainer.models.alexnet import build_alexnet, check_alexnet_settings

    if max_epochs < 1 or factor < 2:
        raise MathSymError(f"Tuning needs max_epochs >= 1 and factor >= 2; got {max_epochs} and {factor}.")
    check_alexnet_settings(config.image_size)
    worker = role if role is not None and not role.chief else None
    if worker is not None:
        wait_for_chief(worker, progress, cancel)
    root = Path(directory) if directory is not None else default_tuning_dir(config, max_epochs, factor)
    if resume and not (root / PROJECT / ORACLE).is_file():
        raise MathSymError(
            f"There is no tuning search to resume in {root} (no {PROJECT}/{ORACLE}); "
            "start a new search without --resume."
        )
    started = time.monotonic()
    data = prepare_data(config, progress, cancel)
    check_validation(data, "Tuning AlexNet")
    classes = len(data.index.class_names)
    root.mkdir(parents=True, exist_ok=True)

    def build(hp):
        return build_alexnet(
            classes,
            config.image_size,
            hp.Choice("activation", list(ACTIVATIONS)),
            hp.Choice("learning_rate", list(LEARNING_RATES)),
        )

    keras.utils.set_random_seed(config.seed)
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE)
    search_started = time.monotonic()
    try:
        # The tuner prints tables; stdout may be a JSON stream.
        with contextlib.redirect_stdout(sys.stderr), worker_environment(role):
            tuner = _ReportingHyperband(
                progress,
                cancel,
                worker is not None,
                hypermodel=build,
                objective=OBJECTIVE,
                max_epochs=max_epochs,
                factor=factor,
                seed=config.seed,
                # A worker never clears the shared folder: the chief owns it.
                directory=str(root),
                project_name=PROJECT,
                overwrite=not resume and worker is None,
            )
            if role is not None and role.chief:
                serve_oracle(tuner.oracle, role, progress, cancel)
            else:
                tuner.search(
                    data.fit.x,
                    one_hot(data.fit.y, classes),
                    batch_size=config.batch_size,
                    epochs=max_epochs,
                    validation_data=(data.val.x, one_hot(data.val.y, classes)),
                    callbacks=[stopper],
                    verbose=0,
                )
    except _cancel_error() as exc:
        raise Cancelled("The job was cancelled; nothing was changed.") from exc
    except _rpc_error() as exc:
        raise MathSymError(
            f"Lost the tuning chief at {role.address if role else '?'}. Start this worker again once the chief runs "
            "(it picks up its unfinished trial)."
        ) from exc
    if cancel:
        cancel.check()
    if worker is not None:
        progress(
            Progress(
                "Tuning AlexNet", 1, 1, f"worker {worker.tuner_id}: the search is over; the chief saves the best model"
            )
        )
        return None
    search_seconds = round(time.monotonic() - search_started, 1)
    trials = list(tuner.oracle.trials.values())
    completed = [t for t in trials if t.status == "COMPLETED" and t.score is not None]
    if not completed:
        messages = [t.message for t in trials if getattr(t, "message", None)]
        detail = f" The first failure was: {messages[0].strip().splitlines()[-1]}" if messages else ""
        raise MathSymError(f"No tuning trial finished, so there is no best model to train.{detail}")
    # Best score first; ties go to the earliest trial, so a resumed search picks the same one.
    best_trial = sorted(completed, key=lambda t: (-float(t.score), str(t.trial_id)))[0]
    best = {
        "activation": best_trial.hyperparameters.get("activation"),
        "learning_rate": float(best_trial.hyperparameters.get("learning_rate")),
    }
    progress(
        Progress(
            "Tuning AlexNet",
            len(trials),
            len(trials),
            f"best: activation={best['activation']}, learning rate={best['learning_rate']:g}",
            {"best_val_accuracy": float(best_trial.score)},
        )
    )

    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    model = build_alexnet(classes, config.image_size, best["activation"], best["learning_rate"])
    record = fit_with_early_stopping(
        model, data, max_epochs, config.batch_size, "Training best AlexNet", progress, cancel
    )
    training = {
        "hyperparameters": best,
        "optimizer": "adam",
        "epochs": max_epochs,
        "max_epochs": max_epochs,
        "tuning": {
            "method": "keras-tuner Hyperband",
            "objective": OBJECTIVE,
            "max_epochs": max_epochs,
            "factor": factor,
            "hyperband_iterations": 1,
            "search_space": {"activation": list(ACTIVATIONS), "learning_rate": list(LEARNING_RATES)},
            "early_stopping": {"monitor": "val_loss", "patience": PATIENCE},
            "trials": len(trials),
            "trials_completed": len(completed),
            "epochs_in_search": int(sum(_epochs_of(t) for t in completed)),
            "best_trial": best_trial.trial_id,
            "best_val_accuracy": float(best_trial.score),
            "project": str(root / PROJECT),
            "resumed": bool(resume),
            "search_seconds": search_seconds,
            **({"distributed": {"chief": role.address, "workers": _tuners_of(root / PROJECT)}} if role else {}),
        },
        **record,
    }
    return finish_run(model, ARCHITECTURE, config, data, started, training, progress, cancel)


def _epochs_of(trial) -> int:
    values = trial.hyperparameters.values
    return int(values.get("tuner/epochs", 0)) - int(values.get("tuner/initial_epoch", 0))


@functools.cache
def _cancel_error() -> type[Exception]:
    """A keras_tuner FatalError subclass: the tuner swallows other errors as failed trials, re-raises these."""
    import keras_tuner as kt

    class TuningCancelled(kt.errors.FatalError):
        pass

    return TuningCancelled


@functools.cache
def _rpc_error() -> type[Exception]:
    import grpc

    return grpc.RpcError


def _tuners_of(project: Path) -> list[str]:
    """The tuner ids that ran trials of this search, from its ledger."""
    ledger = project / LEDGER
    if not ledger.is_file():
        return []
    lines = ledger.read_text(encoding="utf-8").splitlines()
    return sorted({json.loads(line)["tuner"] for line in lines if line.strip()})


def _ReportingHyperband(progress: ProgressFn, cancel: CancelToken | None, worker: bool, **kwargs):
    """A Hyperband tuner that reports each trial's epochs as Progress, stops on cancellation, writes the
    ledger, and (as a worker) pauses before asking again when the chief says to wait."""
    import keras_tuner as kt

    error = _cancel_error()

    class ReportingHyperband(kt.Hyperband):
        _begun = -1  # trials begun by this tuner at the last request for one

        def pre_create_trial(self):
            super().pre_create_trial()
            begun = getattr(self, "_trials_begun", 0)
            if worker and begun == self._begun:  # the last request got no trial: Hyperband waits for a round
                time.sleep(IDLE_PAUSE)
            self._begun = begun

        def on_trial_begin(self, trial):
            super().on_trial_begin(trial)
            self._trials_begun = getattr(self, "_trials_begun", 0) + 1
            self._record("start", trial)
            hp = trial.hyperparameters.values
            self._trial_epochs = int(hp.get("tuner/epochs", 0)) or None
            self._trial_message = (
                f"trial {int(trial.trial_id) + 1}: activation={hp.get('activation')}, "
                f"learning rate={hp.get('learning_rate'):g}"
            )
            progress(Progress("Tuning AlexNet", 0, self._trial_epochs, self._trial_message))

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            self._record("end", trial)

        def _record(self, event: str, trial) -> None:
            line = json.dumps(
                {
                    "event": event,
                    "trial": trial.trial_id,
                    "tuner": self.tuner_id,
                    "status": trial.status,
                    "pid": os.getpid(),
                    "time": round(time.time(), 3),
                }
            )
            with open(Path(self.project_dir) / LEDGER, "a", encoding="utf-8") as ledger:
                ledger.write(line + "\n")  # one short append: whole lines even with several writers

        def on_batch_end(self, trial, model, batch, logs=None):
            super().on_batch_end(trial, model, batch, logs)
            if cancel and cancel.cancelled:
                raise error("The tuning was cancelled.")

        def on_epoch_end(self, trial, model, epoch, logs=None):
            super().on_epoch_end(trial, model, epoch, logs)
            metrics = {k: float(v) for k, v in (logs or {}).items()}
            metrics["epoch"] = epoch + 1
            progress(
                Progress(
                    "Tuning AlexNet",
                    epoch + 1,
                    self._trial_epochs,
                    f"{self._trial_message}, epoch {epoch + 1}",
                    metrics,
                )
            )

    return ReportingHyperband(**kwargs)
