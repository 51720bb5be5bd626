"""A saved model's files as one unit: ``X.keras``, its card ``X.card.json`` and its ONNX twin ``X.onnx``.

* The card records the SHA-256 of the model file and of the twin (``files``: ``model``, ``onnx``);
  :func:`check_files` refuses a model file that differs (damaged, edited or half replaced), and the loader
  runs a twin only when its hash matches. Cards written before hashes existed (version 1) are accepted
  without this check.
* The ``.keras`` file carries its own contract (labels, input size, preprocessing, scaling) as a small JSON
  entry in its zip (Keras ignores it when loading); :func:`check_files` refuses a card that disagrees with it.
* :func:`commit` replaces the files in a fixed order (twin, model, card last) under a lock, as one
  transaction of trainer.atomic.replace_together; :func:`recover` undoes a save that was killed half-way and
  removes the temp files killed saves left. Every save runs it first, and so does every load.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from trainer.atomic import atomic_write_bytes, fsync_file, orphan_pattern, remove_orphans, replace_together, roll_back
from trainer.digest import file_sha256
from trainer.errors import ModelError
from trainer.paths import card_path
from trainer.serving.card import ModelCard
from trainer.serving.card_schema import CARD_FORMAT, CARD_VERSION
from trainer.serving.onnx import twin_path

CONTRACT_ENTRY = "mathsym-contract.json"
CONTRACT_FORMAT = "mathsym-model-contract/1"
#: What the model file itself records; the card must agree.
CONTRACT_KEYS = ("labels", "input_size", "preprocessing", "scaling")
#: How long a save waits for another save of the same model, and a load for a save in progress (seconds).
SAVE_LOCK_TIMEOUT = 600.0
LOAD_LOCK_TIMEOUT = 60.0


def journal_path(model_path: Path) -> Path:
    """Where a save in progress records what it replaces (see trainer.atomic.replace_together)."""
    return model_path.with_name(f".{model_path.name}.journal")


def contract(card: ModelCard) -> dict:
    """The part of the card the model file repeats about itself."""
    return {"format": CONTRACT_FORMAT, **{k: getattr(card, k) for k in CONTRACT_KEYS}}


def write_contract(keras_file: Path, card: ModelCard) -> None:
    """Add the contract to a saved ``.keras`` zip (a JSON entry Keras does not read)."""
    with zipfile.ZipFile(keras_file, "a") as z:
        z.writestr(CONTRACT_ENTRY, json.dumps(contract(card), ensure_ascii=False))


def read_contract(keras_file: Path) -> dict | None:
    """The contract recorded in a ``.keras`` file (None for models saved before contracts existed).
    Raises ModelError when the file is not a complete zip (truncated or damaged)."""
    try:
        with zipfile.ZipFile(keras_file) as z:
            if CONTRACT_ENTRY not in z.namelist():
                return None
            data = json.loads(z.read(CONTRACT_ENTRY).decode("utf-8"))
    except (zipfile.BadZipFile, EOFError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise ModelError(
            f"Model file {keras_file} is damaged (truncated or corrupt: {exc}); it is not a loadable Keras model."
        ) from exc
    except OSError as exc:
        raise ModelError(f"Model file {keras_file} cannot be read: {exc.strerror or exc}.") from exc
    if not isinstance(data, dict) or data.get("format") != CONTRACT_FORMAT:
        raise ModelError(f"Model file {keras_file} carries an unreadable MathSym contract.")
    return data


def check_files(model_path: Path, card: ModelCard) -> None:
    """Refuse a model file that is damaged or is not the one its card describes (its SHA-256 and the contract
    inside it). Raises ModelError naming the files involved."""
    cpath = card_path(model_path)
    recorded = read_contract(model_path) if model_path.suffix.lower() == ".keras" else None
    expected = (card.files or {}).get("model")
    if expected and file_sha256(model_path) != expected:
        raise ModelError(
            f"Model file {model_path} does not match its card {cpath} (SHA-256 differs): the model "
            "was damaged, edited or only half replaced; save or restore the pair together."
        )
    if recorded is None:
        if card.card_version >= 2 and model_path.suffix.lower() == ".keras":
            raise ModelError(
                f"Model file {model_path} lacks the contract its card {cpath} requires (labels, "
                "input size, preprocessing); it was not saved by MathSym."
            )
        return  # a model saved before contracts existed (version 1 card): the legacy path
    for key in CONTRACT_KEYS:
        if recorded.get(key) != getattr(card, key):
            raise ModelError(
                f"The card {cpath} says {key} {_short(getattr(card, key))}, but the model file "
                f"{model_path} was saved with {_short(recorded.get(key))}; the card does not "
                "belong to this model."
            )


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 60 else text[:57] + "..."


def _lock_file(model_path: Path) -> Path:
    """The lock every save (and every load) of one model path takes. It lives in the cache folder, keyed by
    the model's resolved path, so no lock file is left beside the model."""
    from trainer.data.loading import cache_dir

    key = hashlib.sha256(str(model_path.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    folder = cache_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}.lock"


@contextmanager
def locked(model_path: Path, timeout: float) -> Iterator[None]:
    """Hold the model path's lock (one save at a time; loads wait for a save in progress). OSError when the
    lock file cannot be made; ModelError after ``timeout`` seconds."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(_lock_file(model_path)), timeout=timeout)
    try:
        lock.acquire()
    except Timeout as exc:
        raise ModelError(f"{model_path} is being saved by another process; try again when it has finished.") from exc
    try:
        yield
    finally:
        lock.release()


def _names(model_path: Path) -> list[str]:
    """The file names one model's saves write (their temps and backups start with these)."""
    return [model_path.name, card_path(model_path).name, twin_path(model_path).name, journal_path(model_path).name]


def recover(model_path: Path) -> bool:
    """Undo a save of this model that was killed before its commit, and delete temp files killed saves left.
    Call it holding :func:`locked`. Returns whether a half-done save was rolled back."""
    rolled_back = roll_back(journal_path(model_path))
    remove_orphans(model_path.parent, _names(model_path))
    return rolled_back


def commit(
    model_path: Path, model_tmp: Path, card_tmp: Path, twin_tmp: Path | None, abort: Callable[[], bool] = lambda: False
) -> None:
    """Put finished temp files in place in the safe order: twin (or remove a stale one), model, card last."""
    for tmp in (model_tmp, card_tmp, twin_tmp):
        if tmp is not None:
            fsync_file(tmp)
    twin = twin_path(model_path)
    changes: list[tuple[Path | None, Path]] = []
    if twin_tmp is not None or twin.exists():
        changes.append((twin_tmp, twin))
    changes += [(model_tmp, model_path), (card_tmp, card_path(model_path))]
    replace_together(changes, journal_path(model_path), abort=abort)


def repair(model_path: Path) -> None:
    """Before reading a model: wait for a save in progress, undo a killed one and remove its temp files. A
    folder we may not write to is left as it is (the hash check still refuses a half-replaced pair)."""
    pattern = orphan_pattern(_names(model_path))
    folder = model_path.parent
    if not journal_path(model_path).exists() and not any(
        pattern.fullmatch(p.name) for p in (folder.iterdir() if folder.is_dir() else ())
    ):
        return
    try:
        with locked(model_path, LOAD_LOCK_TIMEOUT):
            recover(model_path)
    except OSError:
        pass


def stamp_card(card: ModelCard, model_tmp: Path, twin_tmp: Path | None, twin_missing: str | None) -> bytes:
    """The card's bytes with the hashes of the files it will sit beside."""
    card.files = {"model": file_sha256(model_tmp), "onnx": file_sha256(twin_tmp) if twin_tmp is not None else None}
    if twin_missing:
        card.files["onnx_missing"] = twin_missing
    card.card_version, card.format = CARD_VERSION, CARD_FORMAT
    card.validate()
    return card.to_json().encode("utf-8")


def update_card(model_path: Path, card: ModelCard) -> None:
    """Rewrite the card of an existing model (new metrics), under the lock, after checking that the model file
    is still the one the card describes; the recorded hashes stay valid because the model is unchanged."""
    with locked(model_path, SAVE_LOCK_TIMEOUT):
        recover(model_path)
        check_files(model_path, card)
        card.validate(require_files=bool(card.files))
        atomic_write_bytes(card_path(model_path), card.to_json().encode("utf-8"))
