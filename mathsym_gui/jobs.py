"""Long jobs (training, tuning, evaluation, reports) in a separate process, read as JSON-lines progress.

The runner is generic: it takes an argv list. The trainer CLI with ``--progress json`` prints one JSON object
per line on stdout, read with :func:`trainer.events.parse_event`: any number of ``Progress``, then one ``Done``
or ``Failed``; it exits non-zero on error and cancels cleanly on SIGTERM. A crash of the job cannot take the
drawing pad down.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from trainer.events import Done, Failed, Progress, parse_event

#: The repository root (so ``python -m trainer.cli`` works from a source checkout).
REPO_ROOT = Path(__file__).resolve().parent.parent
#: How the app starts the trainer CLI; prefix of every job's argv.
TRAINER_CLI = [sys.executable, "-m", "trainer.cli"]
#: After SIGTERM, how long a job may take to clean up before it is killed.
KILL_AFTER_MS = 15000
#: Lines of log kept for the error dialog.
LOG_LINES = 400


#: TensorFlow's start-up notices on stderr (absl's preamble, its info lines, the CPU-instructions hint): not for
#: users, and TF_CPP_MIN_LOG_LEVEL does not silence them all. Its warnings and errors stay in the log.
_TF_NOTICE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|I\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"
    r"|To enable the following instructions: .* rebuild TensorFlow)"
)
#: The trainer CLI's one-line error on stderr; it repeats the ``Failed`` event's message, so the log keeps one.
#: The CLI's name is spelled out: the pad does not import ``trainer.cli`` (an import contract).
_CLI_ERROR = re.compile(r"^mathsym-train[\w -]*: error: (.+)$")


@dataclass
class JobResult:
    ok: bool
    cancelled: bool = False
    message: str = ""  # user-ready sentence on failure
    done: Done = field(default_factory=Done)  # the job's result (empty unless ok)
    exit_code: int | None = None
    log: str = ""


class JobRunner(QObject):
    """Runs one job at a time in a QProcess.

    Signals ``progress(Progress)``, ``logLine(str)`` and ``finished(JobResult)``.
    """

    started = Signal()
    progress = Signal(object)
    logLine = Signal(str)
    finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._process: QProcess | None = None
        self._buffer = b""
        self._log: list[str] = []
        self._done: Done | None = None
        self._error = ""
        self._errors_logged: set[str] = set()
        self._cancelled = False
        self._stage = ""

    @property
    def running(self) -> bool:
        return self._process is not None

    def pid(self) -> int | None:
        """The running job's process id (None when no job runs)."""
        return int(self._process.processId()) if self._process is not None else None

    def start(
        self, argv: list[str], cwd: str | os.PathLike | None = None, env: dict | None = None, nice: int = 10
    ) -> None:
        """Start ``argv``; on POSIX at a lower CPU priority (``nice``) so the pad stays responsive."""
        if self._process is not None:
            raise RuntimeError("A job is already running.")
        nice_path = shutil.which("nice")
        if nice and os.name == "posix" and nice_path and shutil.which(str(argv[0])):
            argv = [nice_path, "-n", str(nice), *argv]  # nice execs the job: signals reach it
        self._buffer, self._log, self._done, self._error, self._cancelled = b"", [], None, "", False
        self._errors_logged, self._stage = set(), ""
        proc = QProcess(self)
        proc.setProgram(argv[0])
        proc.setArguments([str(a) for a in argv[1:]])
        proc.setWorkingDirectory(str(cwd or REPO_ROOT))
        environment = QProcessEnvironment.systemEnvironment()
        python_path = environment.value("PYTHONPATH", "")
        environment.insert("PYTHONPATH", str(REPO_ROOT) + (os.pathsep + python_path if python_path else ""))
        environment.insert("PYTHONUNBUFFERED", "1")
        for key, value in (env or {}).items():
            environment.insert(key, str(value))
        proc.setProcessEnvironment(environment)
        proc.readyReadStandardOutput.connect(self._read_stdout)
        proc.readyReadStandardError.connect(self._read_stderr)
        proc.finished.connect(self._finished)
        proc.errorOccurred.connect(self._error_occurred)
        self._process = proc
        self._append_log("$ " + " ".join(str(a) for a in argv))
        proc.start()
        self.started.emit()

    def cancel(self) -> None:
        """Ask the job to stop (SIGTERM: the CLI removes partial files), killing it if it does not."""
        proc = self._process
        if proc is None:
            return
        self._cancelled = True
        proc.terminate()

        def kill_if_still_running(p: QProcess = proc) -> None:
            if self._process is p:
                p.kill()

        QTimer.singleShot(KILL_AFTER_MS, kill_if_still_running)

    def cancel_and_wait(self, timeout_ms: int = KILL_AFTER_MS) -> None:
        """Stop the job and wait for it to exit (used when the window closes)."""
        proc = self._process
        if proc is None:
            return
        self._cancelled = True
        proc.terminate()
        if not proc.waitForFinished(timeout_ms):
            proc.kill()
            proc.waitForFinished(3000)

    # -- process output -------------------------------------------------------------------------------

    def _append_log(self, line: str) -> None:
        self._log.append(line)
        del self._log[:-LOG_LINES]
        self.logLine.emit(line)

    def _log_error(self, message: str) -> None:
        """One "Failed: ..." line per message, whichever of stdout's event and stderr's line comes first."""
        if message not in self._errors_logged:
            self._errors_logged.add(message)
            self._append_log(f"Failed: {message}")

    def _read_stdout(self) -> None:
        assert self._process is not None  # connected to the running process only
        self._buffer += bytes(self._process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            self._handle_line(raw.decode("utf-8", "replace").strip())

    def _handle_line(self, line: str) -> None:
        if not line:
            return
        event = parse_event(line)
        if event is None:
            self._append_log(line)
        elif isinstance(event, Progress):
            if event.metrics or event.stage != self._stage:  # per-epoch lines and stage changes, not batches
                self._stage = event.stage
                self._append_log(describe_progress(event))
            self.progress.emit(event)
        elif isinstance(event, Done):
            self._done = event
            self._append_log(describe_done(event))
        elif isinstance(event, Failed):
            self._error = event.message
            self._log_error(event.message)

    def _read_stderr(self) -> None:
        assert self._process is not None  # connected to the running process only
        text = bytes(self._process.readAllStandardError().data()).decode("utf-8", "replace")
        for line in text.splitlines():
            cli_error = _CLI_ERROR.match(line.strip())
            if cli_error:
                self._log_error(cli_error[1])
            elif line.strip() and not _TF_NOTICE.match(line):
                self._append_log(line)

    def _error_occurred(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._process is not None:
            self._error = f"The job could not be started: {self._process.errorString()}."
            self._complete(None)

    def _finished(self, exit_code: int, exit_status) -> None:
        if self._process is None:
            return
        self._read_stdout()
        if self._buffer:
            self._handle_line(self._buffer.decode("utf-8", "replace").strip())
            self._buffer = b""
        self._read_stderr()
        self._complete(exit_code if exit_status == QProcess.ExitStatus.NormalExit else None)

    def _complete(self, exit_code: int | None) -> None:
        proc, self._process = self._process, None
        log = "\n".join(self._log)
        if self._cancelled:
            result = JobResult(False, True, "The job was cancelled; nothing was saved.", exit_code=exit_code, log=log)
        elif exit_code == 0 and self._done is not None and not self._error:
            result = JobResult(True, done=self._done, exit_code=0, log=log)
        else:
            message = self._error or (
                f"The job stopped unexpectedly (exit code {exit_code})."
                if exit_code is not None
                else "The job crashed."
            )
            result = JobResult(False, message=message, exit_code=exit_code, log=log)
        if proc is not None:
            proc.deleteLater()
        self.finished.emit(result)


def describe_metrics(metrics: dict[str, float]) -> str:
    """Metrics as words: "loss 0.123, accuracy 95.1%, validation loss …" (the epoch number is left out)."""
    parts = []
    for key, value in metrics.items():
        if key == "epoch":
            continue
        name = key.replace("val_", "validation ").replace("_", " ")
        parts.append(f"{name} {value * 100:.1f}%" if key.endswith("accuracy") else f"{name} {value:.3f}")
    return ", ".join(parts)


def describe_progress(event: Progress) -> str:
    """One log line for a stage change or an epoch: "Training: epoch 3/20 · loss 0.123, accuracy 95.1%"."""
    text = " · ".join(p for p in (event.message.strip(), describe_metrics(event.metrics)) if p)
    return f"{event.stage}: {text}" if text else event.stage


def describe_done(done: Done) -> str:
    """The job's result in one line: what it wrote, its accuracy and its other plain numbers."""
    parts = []
    if done.model:
        parts.append(f"model {done.model}")
    if done.report:
        parts.append(f"report in {done.report}")
    if done.test_accuracy is not None:
        parts.append(f"test accuracy {done.test_accuracy * 100:.1f}%")
    parts += [
        f"{key.replace('_', ' ')} {value}"
        for key, value in done.details.items()
        if isinstance(value, (int, float, str)) and not isinstance(value, bool)
    ]
    took = f" in {done.seconds:.1f} s" if done.seconds else ""
    return f"Finished{took}" + (": " + ", ".join(parts) if parts else ".")
