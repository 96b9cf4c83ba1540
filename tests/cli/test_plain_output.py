"""The lean path prints without rich, exactly as the rich consoles printed before:
messages (bot.cli.plain.say) and JSON (bot.cli.plain.print_json)."""

from __future__ import annotations

import io
import json
from datetime import date, datetime

import pytest
from rich.console import Console

from bot.cli import plain

TEXTS = [
    "Account “Zzqx” not found.",
    "[/bold] and :fire: stay text <!channel> & more",
    "a\ttab, two\t\ttabs\nand a second\tline",
    "bell\x07 backspace\x08 vt\x0b ff\x0c cr\r end",
    "Café Zoë 東京 — ✅",
    "",
]


def _rich(text: str) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer, highlight=False, soft_wrap=True, markup=False, emoji=False, width=80
    )
    console.print(text)
    return buffer.getvalue()


@pytest.mark.parametrize("text", TEXTS)
def test_say_prints_what_the_rich_console_printed(text: str, capsys) -> None:
    plain.say(text)
    plain.say(text, error=True)
    captured = capsys.readouterr()
    assert captured.out == _rich(text)
    assert captured.err == _rich(text)


def test_print_json_prints_what_rich_print_json_printed(capsys) -> None:
    payload = {
        "name": "Café <!channel> [/bold] :fire:",
        "note": "tab\there\r\nnew line \x07",
        "as_of": date(2026, 6, 15),
        "at": datetime(2026, 6, 15, 9, 30),
        "money": 1234.5,
        "nothing": None,
        "list": [1, 2.0, "東京", {"nested": True}],
        "empty": {},
    }
    plain.print_json(payload)
    buffer = io.StringIO()
    Console(
        file=buffer, highlight=False, soft_wrap=True, markup=False, emoji=False, width=80
    ).print_json(json.dumps(payload, default=str), highlight=False)
    assert capsys.readouterr().out == buffer.getvalue()
