"""The day's messages for one rep, written to the database before anything is posted."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.delivery.plan import RepTarget
from bot.retention.due import DueAccount, due_by_rep
from bot.retention.tactics import record_exposure
from bot.runtime import Runtime
from handlers import blocks
from models import ReminderMessage, ReminderRun

log = logging.getLogger(__name__)

# --- composing --------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    position: int
    account_id: int | None
    tactic_id: str | None
    text: str
    blocks: list[dict]


def compose(
    items: Sequence[DueAccount], *, more: int, rep_name: str | None, monday: bool
) -> list[Draft]:
    """The day's messages: a header, then one per due account (they are reacted to one by
    one). Nothing due: nothing, or a short all-caught-up line on Mondays."""
    if not items:
        if not monday:
            return []
        message = blocks.all_caught_up(rep_name=rep_name)
        return [Draft(0, None, None, message["text"], message["blocks"])]
    header = blocks.reminder_header(count=len(items), more=more, rep_name=rep_name)
    drafts = [Draft(0, None, None, header["text"], header["blocks"])]
    for position, item in enumerate(items, start=1):
        message = blocks.reminder_account(item)
        tactic_id = item.tactic.id if item.tactic else None
        drafts.append(
            Draft(position, item.account_id, tactic_id, message["text"], message["blocks"])
        )
    return drafts


def _write_drafts(
    session: Session, run: ReminderRun, drafts: Sequence[Draft], *, now: datetime
) -> list[ReminderMessage]:
    rows = [
        ReminderMessage(
            run_id=run.id,
            position=draft.position,
            account_id=draft.account_id,
            tactic_id=draft.tactic_id,
            text=draft.text,
            blocks_json=json.dumps(draft.blocks, ensure_ascii=False),
        )
        for draft in drafts
    ]
    session.add_all(rows)
    for draft in drafts:
        if draft.account_id is not None and draft.tactic_id:
            record_exposure(
                session=session,
                account_id=draft.account_id,
                tactic_ids=[draft.tactic_id],
                now=now,
                surface="reminder",
            )
    session.flush()
    return rows


def _due_for(runtime: Runtime, session: Session, target: RepTarget, now: datetime):
    counts: dict[int, int] = {}
    due = due_by_rep(
        session=session,
        as_of=target.local_date,
        now=now,
        tier_cadence=runtime.tier_cadence,
        limit=runtime.settings.reminder_max_per_day,
        owner_ids=[target.rep_id],
        due_counts=counts,
    )
    items = due.get(target.rep_id, [])
    return items, counts.get(target.rep_id, len(items)) - len(items)
