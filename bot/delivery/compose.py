"""The day's messages for one rep, written to the database before anything is posted."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import time as clock_time

from sqlmodel import Session

from bot.delivery.plan import AwayOffer, Covered, RepTarget
from bot.messages import away as away_blocks
from bot.messages.kit import context, escape, finish_dicts
from bot.messages.reminder import all_caught_up, greeting, reminder_account, reminder_header
from bot.retention.calendar import Away
from bot.retention.dates import day_label
from bot.retention.due import DueAccount, due_by_rep
from bot.retention.tactics import record_exposure
from bot.runtime import Runtime
from models import ReminderMessage, ReminderRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Draft:
    position: int
    account_id: int | None
    tactic_id: str | None
    text: str
    blocks: list[dict]


def _with_offer(message: dict, offer: AwayOffer | None) -> dict:
    """The offer to pause reminders, right under the greeting."""
    if offer is None:
        return message
    first, rest = message["blocks"][:1], message["blocks"][1:]
    offer_raw = away_blocks.offer_blocks(
        last_day=offer.last_day, emoji=offer.emoji, text=offer.text
    )
    return {**message, "blocks": finish_dicts([*first, *offer_raw, *rest])}


def _mark_covered(message: dict, who: Covered) -> dict:
    back = day_label(who.back_on, year=False, weekday=True)
    note = f"🤝 Covered for {escape(who.name)}, back {back}"
    raw = [*message["blocks"], context(note).to_dict()]
    return {"blocks": finish_dicts(raw), "text": f"(Covering) {message['text']}"}


def compose(
    items: Sequence[DueAccount],
    *,
    more: int,
    rep_name: str | None,
    monday: bool,
    local_time: clock_time | None = None,
    covered: Mapping[int, Covered] | None = None,
    covering: Sequence[Covered] = (),
    back_from: Away | None = None,
    away_offer: AwayOffer | None = None,
) -> list[Draft]:
    """The day's messages: a header, then one per due account (they are reacted to one by
    one). Nothing due: nothing, or a short all-caught-up line on Mondays. Accounts of an
    away colleague (`covered`, account id -> colleague) are marked as covered; the first
    morning back (`back_from`) opens with a short while-you-were-away line. With
    `away_offer` (the rep's Slack status says away) the first message offers to pause."""
    hello = greeting(rep_name, local_time)
    covered = covered or {}
    if not items:
        if not monday:
            return []
        message = _with_offer(all_caught_up(hello), away_offer)
        return [Draft(0, None, None, message["text"], message["blocks"])]
    header = reminder_header(
        count=len(items),
        more=more,
        hello=hello,
        away=(back_from.starts_on, back_from.ends_on) if back_from is not None else None,
        # Only colleagues with an account in today's list are named as "marked".
        covering=[c.name for c in covering if c in covered.values()],
        more_covered=bool(covering),
    )
    header = _with_offer(header, away_offer)
    drafts = [Draft(0, None, None, header["text"], header["blocks"])]
    for position, item in enumerate(items, start=1):
        message = reminder_account(item)
        if item.account_id in covered:
            message = _mark_covered(message, covered[item.account_id])
        tactic_id = item.tactic.id if item.tactic else None
        drafts.append(
            Draft(position, item.account_id, tactic_id, message["text"], message["blocks"])
        )
    return drafts


def write_drafts(
    session: Session, run: ReminderRun, drafts: Sequence[Draft], *, now: datetime
) -> list[ReminderMessage]:
    """Store the run's messages, rendered, before any is posted, and the tactics they
    show as exposures (flushes; the caller commits)."""
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


def due_for(runtime: Runtime, session: Session, target: RepTarget, now: datetime):
    """The rep's due accounts (with the colleagues' they cover) and how many more are due,
    when the sweep did not work them out beforehand."""
    counts: dict[int, int] = {}
    due = due_by_rep(
        session=session,
        as_of=target.local_date,
        now=now,
        tier_cadence=runtime.tier_cadence,
        calendars=runtime.calendars,
        limit=runtime.settings.reminder_max_per_day,
        owner_ids=[target.rep_id],
        due_counts=counts,
    )
    items = due.get(target.rep_id, [])
    return items, counts.get(target.rep_id, len(items)) - len(items)
