"""The CLI's answer to bad input: exit status 2 and one line on stderr, never a traceback."""

from __future__ import annotations

from proofsmith.cli import main


def usage_error(capsys, argv: list[str]) -> str:
    """Run the CLI, expect exit 2, return its one line of stderr."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()
