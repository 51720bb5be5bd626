"""Atomic file writes: readers see the old or the new content, never a half-written file; and groups of files
(a model, its card, its ONNX twin) that are replaced all together or not at all, even across a crash."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from trainer.errors import Cancelled
from trainer.faults import fault_point

#: Random part of our temp and backup names (mkstemp's alphabet, or our own hex transaction id).
_RANDOM = r"[a-z0-9_]{6,16}"


def readable_like_new_files(path: str | os.PathLike) -> None:
    """mkstemp makes 0600 files; models and cards are meant to be shared like any document (0644)."""
    os.chmod(path, 0o644)


def replacement_mode(path: str | os.PathLike, new: int = 0o644) -> int:
    """The permission bits for what replaces ``path``: its current ones, so a save never changes what the user
    set (a private card stays private); ``new`` where there is nothing to replace yet."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return new


def fsync_file(path: str | os.PathLike) -> None:
    """Force a file's bytes to disk (a rename is durable only after the data it points to is)."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make renames and removals in ``folder`` durable. A no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_beside(target: Path) -> Path:
    """A fresh, empty hidden file ``.NAME.RANDOM.tmp.SUFFIX`` beside ``target`` (Keras insists on the
    suffix); :func:`remove_orphans` recognises the pattern."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=f".tmp{target.suffix}")
    os.close(fd)
    readable_like_new_files(tmp)
    return Path(tmp)


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write a file through ``write(file)`` so readers see the old or the new content, never a half one; it
    keeps the permission bits of the file it replaces."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, replacement_mode(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """:func:`atomic_write` of a bytes object."""
    atomic_write(path, lambda f: f.write(data))


class HeldSignals:
    """Hold SIGINT/SIGTERM while a group of renames runs, so a handler's exception cannot land between two of
    them. ``received`` lists what came; the first is delivered again when the block ends (only in the main
    thread, where Python runs signal handlers; elsewhere nothing is held)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: list[int] = []
        self._previous: dict[int, Any] = {}  # what signal.signal() returned

    def __enter__(self) -> HeldSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                if signal.getsignal(sig) is not None:  # None: a handler not set from Python; leave it alone
                    self._previous[sig] = signal.signal(sig, self._hold)
        return self

    def _hold(self, signum: int, frame) -> None:
        self.received.append(signum)

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        if self.received:
            signal.raise_signal(self.received[0])


def _journal_backup(folder: Path, name: str, txn: str) -> Path:
    return folder / f".{name}.{txn}.bak"


def replace_together(
    changes: Sequence[tuple[Path | None, Path]],
    journal: Path,
    step: str = "save",
    abort: Callable[[], bool] = lambda: False,
) -> None:
    """Replace every target by its finished temp file (source None: remove the target), in the given order,
    as one transaction: afterwards all targets are new, or (after a failure, a signal or ``abort()``) all
    are exactly as before.

    The current files are hard-linked to backups and a journal naming them is written before the first
    rename; a process killed at any later point is undone by :func:`roll_back`, which the next save or load
    runs. SIGINT/SIGTERM are held during the renames; one that arrived, or ``abort()``, rolls everything back
    and raises Cancelled. The commit point is the removal of the journal. All targets share one folder. A new
    file keeps the permission bits of the one it replaces.
    """
    folder = journal.parent
    txn = secrets.token_hex(4)
    entries = []
    for source, target in changes:
        backup = None
        if target.exists():
            if source is not None:
                os.chmod(source, replacement_mode(target))
            backup = _journal_backup(folder, target.name, txn)
            try:
                os.link(target, backup)
            except OSError:  # a file system without hard links
                shutil.copy2(target, backup)
                fsync_file(backup)
        entries.append({"target": target.name, "backup": backup.name if backup else None})
    atomic_write_bytes(journal, json.dumps({"format": "mathsym-journal/1", "entries": entries}).encode())
    fault_point(f"{step}:backed-up")
    with HeldSignals() as held:
        try:
            for source, target in changes:
                if source is None:
                    target.unlink(missing_ok=True)
                else:
                    os.replace(source, target)
                fault_point(f"{step}:{target.suffix.lstrip('.')}-renamed")
            fsync_dir(folder)
            if held.received or abort():
                raise Cancelled("The job was cancelled; nothing was changed.")
        except BaseException:
            roll_back(journal)
            raise
        journal.unlink()  # the commit point
        fsync_dir(folder)
    fault_point(f"{step}:committed")
    for entry in entries:
        if entry["backup"]:
            (folder / entry["backup"]).unlink(missing_ok=True)


def roll_back(journal: Path) -> bool:
    """Undo a :func:`replace_together` that stopped before its commit: every backup goes back in place and
    files that did not exist before are removed. Safe to repeat after a crash during the roll-back itself.
    Returns whether there was anything to undo."""
    try:
        record = json.loads(journal.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    folder = journal.parent
    for entry in record["entries"]:
        target = folder / entry["target"]
        if entry["backup"] is None:
            target.unlink(missing_ok=True)
        elif (folder / entry["backup"]).exists():
            os.replace(folder / entry["backup"], target)
    fsync_dir(folder)
    journal.unlink()
    fsync_dir(folder)
    return True


def orphan_pattern(names: Sequence[str]) -> re.Pattern[str]:
    """Temp and backup files that writes to ``names`` leave when killed: ``.NAME.RANDOM.tmp[.SUFFIX]``
    (also one level nested, as atomic_write of a temp makes), ``.NAME.RANDOM.bak``."""
    alternatives = "|".join(re.escape(n) for n in names)
    return re.compile(rf"\.{{1,2}}(?:{alternatives})\.{_RANDOM}\.(?:tmp(?:\.\w+)?(?:\.{_RANDOM}\.tmp)?|bak)")


def remove_orphans(folder: Path, names: Sequence[str]) -> list[Path]:
    """Delete what killed writes to ``names`` left in ``folder``; only safe while no writer can be running
    (the caller holds the lock every writer takes). Returns the removed paths."""
    pattern = orphan_pattern(names)
    removed = []
    for p in folder.iterdir() if folder.is_dir() else ():
        if pattern.fullmatch(p.name) and p.is_file():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed
