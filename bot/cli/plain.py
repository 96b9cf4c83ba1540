"""Output for the lean path, without rich: what `rich.Console(markup=False,
highlight=False, emoji=False, soft_wrap=True).print(text)` writes for plain text (its
control codes dropped, tabs expanded), and JSON as `Console.print_json` wrote it."""

from __future__ import annotations

import json
import sys

# The control codes rich's Text drops (bell, backspace, vertical tab, form feed, CR).
_DROPPED = dict.fromkeys((7, 8, 11, 12, 13))


def say(text: str, *, error: bool = False) -> None:
    """One message line on stdout (or stderr), as the rich consoles print it."""
    stream = sys.stderr if error else sys.stdout
    lines = text.translate(_DROPPED).split("\n")
    stream.write("\n".join(line.expandtabs(8) for line in lines) + "\n")


def print_json(payload: dict) -> None:
    """Two-space indent, non-ASCII kept, dates and other values as their str()."""
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
