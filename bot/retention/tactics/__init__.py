"""The tactic bank and the recommender that picks the next touch for an account.

- `tactic`: the `Tactic` and `TacticPick` result types (no database imports: the
  Block Kit layer renders them);
- `vocabulary`: fit names (signals, segments), efforts, channels, text limits;
- `context`: the account's numbers (`TacticContext`), the premises, the filled-in why;
- `bank`: `tactics.yaml`, validated with pydantic;
- `reasons`: why a tactic suits an account when it has no why of its own;
- `recommender`: scoring, variety and rotation (`rank_tactics`, `recommend_tactics`);
- `history`: exposures and tactic-using touches, read for rotation and recorded;
- `plans`: the tactics an account plan uses (`account_plan_tactic` rows).

Importing this package loads only `tactic`; the other names are loaded on first use, so
`from bot.retention.tactics import Tactic` pulls in no database code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bot.retention.tactics.tactic import Tactic, TacticPick

if TYPE_CHECKING:
    from bot.retention.tactics.bank import TACTICS_PATH, load_tactics, tactic_bank
    from bot.retention.tactics.context import (
        PREMISES,
        TacticContext,
        premise_holds,
    )
    from bot.retention.tactics.history import record_exposure
    from bot.retention.tactics.plans import plan_tactic_ids, set_plan_tactic_ids
    from bot.retention.tactics.recommender import rank_tactics, recommend_tactics
    from bot.retention.tactics.vocabulary import (
        FIT_NAMES,
        MAX_WHY,
        SEGMENTS,
        SIGNALS,
        segment_fit_name,
    )

_LAZY = {
    "TACTICS_PATH": "bank",
    "load_tactics": "bank",
    "tactic_bank": "bank",
    "PREMISES": "context",
    "TacticContext": "context",
    "premise_holds": "context",
    "record_exposure": "history",
    "plan_tactic_ids": "plans",
    "set_plan_tactic_ids": "plans",
    "rank_tactics": "recommender",
    "recommend_tactics": "recommender",
    "FIT_NAMES": "vocabulary",
    "MAX_WHY": "vocabulary",
    "SEGMENTS": "vocabulary",
    "SIGNALS": "vocabulary",
    "segment_fit_name": "vocabulary",
}

__all__ = [
    "FIT_NAMES",
    "MAX_WHY",
    "PREMISES",
    "SEGMENTS",
    "SIGNALS",
    "TACTICS_PATH",
    "Tactic",
    "TacticContext",
    "TacticPick",
    "load_tactics",
    "plan_tactic_ids",
    "premise_holds",
    "rank_tactics",
    "recommend_tactics",
    "record_exposure",
    "segment_fit_name",
    "set_plan_tactic_ids",
    "tactic_bank",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
