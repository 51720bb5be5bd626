"""Keras Tuner's distributed mode through the CLI: a chief and two workers on 127.0.0.1 (real processes, real
TensorFlow, tiny budget), one worker killed in the middle of a trial and started again."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer.errors import MathSymError
from trainer.paths import card_path
from trainer.serving.card import ModelCard
from trainer.training.distributed import Role, role_from, wait_for_chief
from trainer.training.tuning import LEDGER, PROJECT

LOOPBACK = "127.0.0.1"
TIMEOUT = 240  # a hang fails the test instead of blocking the suite


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def ledger(project: Path) -> list[dict]:
    path = project / LEDGER
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def wait_for(condition, what: str, timeout: float = TIMEOUT) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_chief_and_two_workers_finish_the_search_when_a_worker_dies(synthetic_dataset, tmp_path):
    port, directory, output = free_port(), tmp_path / "search", tmp_path / "best" / "tuned.keras"
    tune = [
        sys.executable,
        "-m",
        "trainer",
        "--progress",
        "none",
        "tune",
        "--data",
        str(synthetic_dataset),
        "--image-size",
        "67",
        "--max-epochs",
        "2",
        "--subset",
        "4",
        "--directory",
        str(directory),
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}

    output.parent.mkdir()

    def start(name: str, *role: str) -> subprocess.Popen:
        with open(tmp_path / f"{name}.log", "ab") as log:
            return subprocess.Popen([*tune, *role], stdout=log, stderr=subprocess.STDOUT, env=env)

    def worker(name: str) -> subprocess.Popen:
        return start(name, "--worker", f"{LOOPBACK}:{port}", "--tuner-id", name)

    chief = start("chief", "--chief", f"{LOOPBACK}:{port}", "--output", str(output))
    workers = {name: worker(name) for name in ("w1", "w2")}
    processes = [chief, *workers.values()]
    try:
        project = directory / PROJECT
        wait_for(lambda: any(e["event"] == "start" for e in ledger(project)), "the first trial to start")
        first = next(e for e in ledger(project) if e["event"] == "start")
        victim = workers[first["tuner"]]
        victim.send_signal(signal.SIGKILL)  # dies in the middle of its trial
        victim.wait(timeout=30)
        assert not any(e["event"] == "end" and e["pid"] == first["pid"] for e in ledger(project)), (
            "the trial ended before the worker was killed; the test did not kill it mid-trial"
        )
        restarted = worker(first["tuner"])
        processes.append(restarted)
        assert chief.wait(timeout=TIMEOUT) == 0, (tmp_path / "chief.log").read_text(errors="replace")[-3000:]
        for process in (restarted, *[w for w in workers.values() if w is not victim]):
            assert process.wait(timeout=60) == 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    events = ledger(project)
    trials = [json.loads(p.read_text()) for p in sorted(project.glob("trial_*/trial.json"))]
    assert trials and all(t["status"] == "COMPLETED" for t in trials)
    ended = [e["trial"] for e in events if e["event"] == "end"]
    assert sorted(ended) == sorted(t["trial_id"] for t in trials)  # every trial ran to its end exactly once
    killed_trial = [e for e in events if e["trial"] == first["trial"]]
    assert [(e["event"], e["tuner"]) for e in killed_trial] == [
        ("start", first["tuner"]),
        ("start", first["tuner"]),
        ("end", first["tuner"]),
    ]
    assert killed_trial[1]["pid"] == killed_trial[2]["pid"] == restarted.pid  # the restarted worker finished it

    saved = sorted(p.name for p in output.parent.iterdir())
    assert [name for name in saved if name.endswith(".keras")] == ["tuned.keras"]  # saved once, by the chief
    assert "tuned.card.json" in saved
    card = ModelCard.read(card_path(output))
    tuning = card.training["tuning"]
    assert tuning["trials_completed"] == len(trials) and tuning["distributed"]["chief"] == f"{LOOPBACK}:{port}"
    assert set(tuning["distributed"]["workers"]) <= {"w1", "w2"} and first["tuner"] in tuning["distributed"]["workers"]


def test_a_worker_that_cannot_reach_the_chief_retries_then_gives_up(tmp_path):
    role = Role(False, LOOPBACK, free_port(), "w1")
    events = []
    started = time.monotonic()
    with pytest.raises(MathSymError) as info:
        wait_for_chief(role, events.append, limit=3.5)
    assert 3 <= time.monotonic() - started < 10
    message = str(info.value)
    assert f"Cannot reach the tuning chief at {role.address}" in message and "--chief" in message
    assert len(message.splitlines()) == 1
    pauses = [e.message for e in events]
    assert pauses and all("trying again in" in m for m in pauses)
    assert "(attempt 1); trying again in 1 s" in pauses[0]
    assert "(attempt 2); trying again in 2 s" in pauses[1]  # the pauses double


def test_roles_from_flags_and_keras_tuner_variables():
    assert role_from(environ={}) is None
    assert role_from("10.0.0.1:8000") == Role(True, "10.0.0.1", 8000, "chief")
    assert role_from(worker="[::1]:9000", tuner_id="gpu-box") == Role(False, "::1", 9000, "gpu-box")
    env = {"KERASTUNER_TUNER_ID": "w7", "KERASTUNER_ORACLE_IP": "10.0.0.2", "KERASTUNER_ORACLE_PORT": "8001"}
    assert role_from(environ=env) == Role(False, "10.0.0.2", 8001, "w7")
    assert role_from(environ={**env, "KERASTUNER_TUNER_ID": "chief"}).chief
    for kwargs in (
        {"chief": "h:1", "worker": "h:1"},
        {"worker": "h:1"},
        {"worker": "h:1", "tuner_id": "mischief"},
        {"chief": "no-port"},
        {"worker": "h:99999", "tuner_id": "w"},
        {"tuner_id": "w"},
        {"environ": {"KERASTUNER_ORACLE_IP": "h"}},
    ):
        with pytest.raises(MathSymError):
            role_from(**kwargs)
