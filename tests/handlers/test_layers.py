"""The shape of the listener layer, checked: surfaces do not import each other, hold no
SQL, and the scheduler's path never imports `handlers`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SURFACES = ("actions", "away", "commands", "events", "home", "log", "views")
# What surfaces may share (none of them a surface).
SHARED = {"handlers.common", "handlers.work", "handlers.errors", "handlers.payloads"}
NEW_DOMAIN = ("account_ops", "rep_ops", "log_text", "name_hits")


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_surfaces_import_only_shared_helpers_from_handlers() -> None:
    for surface in SURFACES:
        names = imported(ROOT / "handlers" / f"{surface}.py")
        from_handlers = {n for n in names if n.startswith("handlers.")} - SHARED
        # `from handlers.common import x` also lists `handlers.common.x`.
        assert {n for n in from_handlers if n.rsplit(".", 1)[0] not in SHARED} == set(), surface


def test_surfaces_hold_no_queries() -> None:
    for surface in SURFACES:
        source = (ROOT / "handlers" / f"{surface}.py").read_text(encoding="utf-8")
        for query in ("session.get(", "session.exec(", "session.execute(", "select("):
            assert query not in source, f"{surface} runs {query}"
        assert not {n for n in imported(ROOT / "handlers" / f"{surface}.py")} & {
            "sqlalchemy",
            "sqlmodel",
        }, surface


def test_the_domain_the_listeners_call_imports_no_slack() -> None:
    for module in NEW_DOMAIN:
        names = imported(ROOT / "bot" / "retention" / f"{module}.py")
        assert not {
            n for n in names if n.split(".")[0] in ("slack_bolt", "slack_sdk", "handlers")
        }, module
        assert not {n for n in names if n.startswith("bot.messages")}, module


def test_the_scheduler_path_does_not_import_handlers() -> None:
    code = (
        "import sys, bot.scheduler, bot.reminders, bot.delivery.acknowledge, bot.delivery.sweep;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'handlers'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"
