"""The layers hold (README "How it is built"): the domain imports neither Slack nor the
messages or the listeners, `bot.messages` imports no database code, and the scheduler
path never imports the listeners. The contracts live in pyproject.toml; `lint-imports`
checks them and its report is the failure message."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import grimp

from tests.support.paths import REPO_ROOT as ROOT

DATABASE = ("sqlalchemy", "sqlmodel", "models", "bot.db")

# Result types the messages name only in annotations (`if TYPE_CHECKING:`), because they
# are still defined beside database code. Each should move to a DB-free module (as
# `bot.retention.results` did for the others); then its line goes from here.
TYPE_ONLY = {
    # AccountStatus's fields: AccountFacts, Outlook, Rfm, the signals, TacticPick.
    ("bot.retention.card", "bot.retention.facts"),
    ("bot.retention.card", "bot.retention.rebuy_model.outlook"),
    ("bot.retention.card", "bot.retention.rfm"),
    ("bot.retention.card", "bot.retention.signals"),
    ("bot.retention.card", "bot.retention.tactics"),
    ("bot.messages.away", "bot.retention.calendar"),  # WorkCalendar (holiday look-ups)
    ("bot.retention.results", "bot.retention.facts"),  # AccountFacts
}


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _graph(*, exclude_type_checking_imports: bool):
    return grimp.build_graph(
        "bot",
        "handlers",
        "models",
        include_external_packages=True,
        exclude_type_checking_imports=exclude_type_checking_imports,
        cache_dir=None,
    )


def test_messages_reach_database_code_only_through_known_annotations() -> None:
    """Counting annotation-only imports too, every way from `bot.messages` to database
    code goes through one of the known type references above (a new one fails here)."""
    full = _graph(exclude_type_checking_imports=False)
    runs = _graph(exclude_type_checking_imports=True)
    found = set()
    for target in DATABASE:
        for chain in full.find_shortest_chains(
            importer="bot.messages", imported=target, as_packages=True
        ):
            links = list(itertools.pairwise(chain))
            # The first step only an annotation takes; a chain without one is an import
            # that runs (the contract test names it), reported here by its first step.
            annotation_only = [
                link
                for link in links
                if not runs.direct_import_exists(importer=link[0], imported=link[1])
            ]
            found.add(annotation_only[0] if annotation_only else links[0])
    assert found <= TYPE_ONLY, sorted(found - TYPE_ONLY)
