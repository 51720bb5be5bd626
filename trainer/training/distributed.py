"""Keras Tuner's own distributed mode, made dependable: one chief serves the search's oracle over gRPC, any
number of workers run its trials, all sharing one search directory.

Keras Tuner reads its role from ``KERASTUNER_TUNER_ID`` / ``KERASTUNER_ORACLE_IP`` / ``KERASTUNER_ORACLE_PORT``;
:func:`role_from` accepts those or the CLI's ``--chief HOST:PORT`` / ``--worker HOST:PORT --tuner-id NAME``.
What this module adds to Keras Tuner: a worker that cannot reach the chief says so and retries with backoff for
at most :data:`CONNECT_LIMIT` seconds; the chief reports progress, can be cancelled, and ends as soon as the
last trial is done (waiting at most :data:`STRAGGLER_GRACE` seconds for workers that never asked again, so a
worker that died between trials cannot keep the search open forever).

A worker that dies during a trial leaves that trial open: restart it with the same tuner id and it runs that
trial again, or restart the chief with ``--resume`` and the next worker to ask gets it. Either way each trial
is completed exactly once.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from trainer.errors import Cancelled, MathSymError
from trainer.progress import CancelToken, Progress, ProgressFn, ignore

ENV_TUNER_ID = "KERASTUNER_TUNER_ID"
ENV_ORACLE_IP = "KERASTUNER_ORACLE_IP"
ENV_ORACLE_PORT = "KERASTUNER_ORACLE_PORT"
#: Keras Tuner treats every tuner id containing this word as the chief.
CHIEF_ID = "chief"
#: How long a worker keeps trying to reach the chief before it gives up (seconds).
CONNECT_LIMIT = 120.0
#: How long one attempt waits for the chief to answer (seconds).
ATTEMPT_TIMEOUT = 1.0
#: Longest pause between two attempts to reach the chief (seconds); pauses double from 1 s up to this.
MAX_BACKOFF = 15.0
#: After the last trial, how long the chief waits for workers that have not yet heard that the search is over.
STRAGGLER_GRACE = 30.0
#: A worker told to wait (Hyperband waits for a round to finish) asks again after this pause (seconds).
IDLE_PAUSE = 0.25
STAGE = "Tuning AlexNet"


@dataclass(frozen=True)
class Role:
    """This process's part in a distributed search."""

    chief: bool
    host: str
    port: int
    tuner_id: str

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def describe(self) -> str:
        return f"chief at {self.address}" if self.chief else f"worker {self.tuner_id} of the chief at {self.address}"


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) -> (host, port); MathSymError for anything else."""
    host, sep, port = str(text).strip().rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise MathSymError(f"Expected HOST:PORT for the tuning chief (e.g. 192.168.1.10:8000); got {text!r}.")
    return host, int(port)


def role_from(
    chief: str | None = None,
    worker: str | None = None,
    tuner_id: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Role | None:
    """The role given by ``--chief``/``--worker``/``--tuner-id``, else by the KERASTUNER_* variables; None when
    the search runs on this machine alone."""
    environ = os.environ if environ is None else environ
    if chief and worker:
        raise MathSymError("Use either --chief or --worker, not both.")
    if chief:
        if tuner_id and tuner_id != CHIEF_ID:
            raise MathSymError("--tuner-id names a worker; the chief needs none.")
        return Role(True, *parse_address(chief), CHIEF_ID)
    if worker:
        return Role(False, *parse_address(worker), _worker_id(tuner_id))
    if tuner_id:
        raise MathSymError("--tuner-id needs --worker HOST:PORT (the chief's address).")
    if not environ.get(ENV_ORACLE_IP):
        return None
    if not environ.get(ENV_ORACLE_PORT) or not environ.get(ENV_TUNER_ID):
        raise MathSymError(f"{ENV_ORACLE_IP} is set, so {ENV_ORACLE_PORT} and {ENV_TUNER_ID} must be set too.")
    host, port = parse_address(f"{environ[ENV_ORACLE_IP]}:{environ[ENV_ORACLE_PORT]}")
    name = environ[ENV_TUNER_ID]
    return Role(True, host, port, CHIEF_ID) if CHIEF_ID in name else Role(False, host, port, _worker_id(name))


def _worker_id(name: str | None) -> str:
    if not name or not name.strip():
        raise MathSymError("A worker needs a name: --tuner-id NAME (unique among the workers).")
    if CHIEF_ID in name:
        raise MathSymError(
            f"A worker's --tuner-id must not contain {CHIEF_ID!r} (Keras Tuner would take it for the chief)."
        )
    return name.strip()


def wait_for_chief(
    role: Role, progress: ProgressFn = ignore, cancel: CancelToken | None = None, limit: float = CONNECT_LIMIT
) -> None:
    """Return once the chief answers; retry with doubling pauses, then MathSymError after ``limit`` seconds."""
    import grpc

    started, pause, attempt = time.monotonic(), 1.0, 0
    while True:
        attempt += 1
        with grpc.insecure_channel(role.address) as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=ATTEMPT_TIMEOUT)
                return
            except grpc.FutureTimeoutError:
                pass
        waited = time.monotonic() - started
        if waited >= limit:
            raise MathSymError(
                f"Cannot reach the tuning chief at {role.address} (tried {attempt} times in "
                f"{waited:.0f} s): start `mathsym-train tune --chief {role.address}` there first, "
                "and check the address and the firewall."
            )
        progress(
            Progress(
                STAGE,
                0,
                None,
                f"cannot reach the chief at {role.address} yet (attempt {attempt}); trying again in "
                f"{pause:.0f} s (giving up after {limit:.0f} s)",
            )
        )
        _sleep(min(pause, limit - waited), cancel)
        pause = min(pause * 2, MAX_BACKOFF)


def _sleep(seconds: float, cancel: CancelToken | None) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cancel:
            cancel.check()
        time.sleep(min(0.2, max(0.0, end - time.monotonic())))


@contextlib.contextmanager
def worker_environment(role: Role | None) -> Iterator[None]:
    """Set Keras Tuner's variables for a worker while its tuner is built and searches (restored after)."""
    if role is None or role.chief:
        yield
        return
    wanted = {ENV_TUNER_ID: role.tuner_id, ENV_ORACLE_IP: role.host, ENV_ORACLE_PORT: str(role.port)}
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def serve_oracle(
    oracle,
    role: Role,
    progress: ProgressFn = ignore,
    cancel: CancelToken | None = None,
    grace: float = STRAGGLER_GRACE,
    poll: float = 0.2,
) -> None:
    """Serve ``oracle`` to the workers until the search is over (every trial done and the workers told so)."""
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))  # the oracle answers one request at a time
    servicer = OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    try:
        bound = server.add_insecure_port(role.address)
    except RuntimeError:
        bound = 0
    if not bound:
        raise MathSymError(f"Cannot listen on {role.address}: the port is in use or the address is not this machine's.")
    server.start()
    progress(Progress(STAGE, 0, None, f"chief listening on {role.address}; waiting for workers"))
    reported, finished_at = None, None
    try:
        while True:
            time.sleep(poll)
            if cancel and cancel.cancelled:
                raise Cancelled("The job was cancelled; nothing was changed.")
            trials = list(oracle.trials.values())
            done = sum(t.status in ("COMPLETED", "FAILED", "INVALID") for t in trials)
            state = (done, len(oracle.ongoing_trials))
            if state != reported:
                reported = state
                running = ", ".join(sorted(oracle.ongoing_trials)) or "none"
                progress(Progress(STAGE, done, None, f"{done} trials done; running on: {running}"))
            if not servicer.stop_triggered or oracle.ongoing_trials:
                continue
            finished_at = finished_at or time.monotonic()
            if not oracle.tuner_ids or time.monotonic() - finished_at > grace:
                return
    finally:
        server.stop(grace=1)
