"""``mathsym-train``: split datasets, train and tune models, evaluate, export reports, predict files.

Every long command reports progress as a terminal bar (default), as JSON lines on stdout for the pad
(``--progress json``: the events of ``trainer.events``), or not at all. SIGINT/SIGTERM cancel cleanly: nothing
is written and the exit code is 130/143. Problems the user can fix are one ``mathsym-train: error: ...`` line
on stderr (exit 1; 2 for command-line mistakes); ``--debug`` shows tracebacks of unexpected errors.

Modules: ``parser`` (generated from ``trainer.architectures``), ``commands`` (the handlers), ``context``
(what handlers share: output, signals, exit codes), ``main`` (the entry point).
"""

from trainer.cli.main import main

__all__ = ["main"]
