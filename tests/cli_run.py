"""Running ``mathsym-train`` in-process from tests, and reading its one-line errors."""

from __future__ import annotations

PREFIX = "mathsym-train: error: "


def run(capsys, *argv) -> tuple[int, str, str]:
    """The exit code, stdout and stderr of one command line (arguments may be paths)."""
    from trainer.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error(err: str) -> str:
    """The single error line (TensorFlow's own start-up chatter aside); returns its message."""
    lines = [line for line in err.splitlines() if line.startswith("mathsym-train")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith(PREFIX), lines[0]
    return lines[0][len(PREFIX) :]
