"""Fault injection for the kill tests (tests/test_faults.py), inert unless its environment variable is set.

``MATHSYM_FAULT_POINT=save:model-renamed`` makes the process send itself ``MATHSYM_FAULT_SIGNAL`` (KILL, the
default, TERM or INT) when it reaches that named point, so a test can stop a real run at an exact step of a
save. The points are named where :func:`fault_point` is called (``save:locked``, ``save:model-written``,
``save:onnx-written``, ``save:card-written``, ``save:backed-up``, ``save:onnx-renamed``, ``save:keras-renamed``,
``save:json-renamed``, ``save:committed``).
"""

from __future__ import annotations

import os
import signal

POINT_VARIABLE = "MATHSYM_FAULT_POINT"
SIGNAL_VARIABLE = "MATHSYM_FAULT_SIGNAL"


def fault_point(name: str) -> None:
    """Signal this process if the fault-injection variable names this point; otherwise do nothing."""
    if os.environ.get(POINT_VARIABLE) != name:
        return
    signum = getattr(signal, "SIG" + os.environ.get(SIGNAL_VARIABLE, "KILL"))
    os.kill(os.getpid(), signum)
