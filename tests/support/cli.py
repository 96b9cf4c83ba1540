"""Running the `rebuy` command line in-process, as an admin would, at a fixed "now"."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot import cli

NOW = "2026-06-15T14:00:00+00:00"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`rebuy ARGS` in this process: (exit code, stdout, stderr)."""
    argv = sys.argv
    sys.argv = ["rebuy", *args]
    try:
        cli.main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        sys.argv = argv
    captured = capsys.readouterr()
    return code, captured.out, captured.err


ORDERS_HEADER = "account_external_id,ordered_at,amount,order_id,product\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
