"""Small factories for test data. Each returns the saved row."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlmodel import Session

from bot.retention.names import normalize_name
from bot.retention.summary import refresh_summary
from bot.retention.tactics.plans import set_plan_tactic_ids
from models import (
    Account,
    AccountPlan,
    Contact,
    Order,
    ReminderMessage,
    ReminderRun,
    Rep,
    Snooze,
    Touch,
)

NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)
_seq = itertools.count(1)


def at(day: date | str, hour: int = 12) -> datetime:
    """A UTC datetime on `day` (a date or an ISO date string)."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return datetime.combine(day, time(hour), tzinfo=UTC)


def rep(session: Session, email: str | None = None, **fields) -> Rep:
    n = next(_seq)
    row = Rep(email=email or f"rep{n}@example.com", created_at=NOW, **fields)
    session.add(row)
    session.flush()
    return row


def account(session: Session, name: str | None = None, **fields) -> Account:
    n = next(_seq)
    name = name or f"Account {n}"
    fields.setdefault("external_id", f"ACC-{n}")
    fields.setdefault("tier", "mid")
    row = Account(
        name=name, name_key=normalize_name(name), created_at=NOW, updated_at=NOW, **fields
    )
    session.add(row)
    session.flush()
    return row


def order(
    session: Session, acct: Account, day: date | str, amount: float | str = 1000, **fields
) -> Order:
    n = next(_seq)
    fields.setdefault("order_key", f"ORD-{n}")
    row = Order(account_id=acct.id, ordered_at=at(day), amount=Decimal(str(amount)), **fields)
    session.add(row)
    session.flush()
    # Like every writer of orders: the account's summary in the same transaction.
    refresh_summary(session.connection(), [acct.id], today=NOW.date())
    return row


def contact(session: Session, acct: Account, name: str | None = None, **fields) -> Contact:
    n = next(_seq)
    name = name or f"Person {n}"
    fields.setdefault("email", f"person{n}@customer.example")
    row = Contact(
        account_id=acct.id, name=name, contact_key=fields["email"] or name, created_at=NOW, **fields
    )
    session.add(row)
    session.flush()
    return row


def touch(session: Session, acct: Account, day: date | str, kind: str = "call", **fields) -> Touch:
    fields.setdefault("source", "command")
    row = Touch(account_id=acct.id, kind=kind, touched_at=at(day), created_at=NOW, **fields)
    session.add(row)
    session.flush()
    return row


def snooze(session: Session, acct: Account, until: date | str, **fields) -> Snooze:
    until = date.fromisoformat(until) if isinstance(until, str) else until
    row = Snooze(account_id=acct.id, until=until, created_at=NOW, **fields)
    session.add(row)
    session.flush()
    return row


def plan(session: Session, acct: Account, tactic_ids: Sequence[str] = (), **fields) -> AccountPlan:
    fields.setdefault("current_state", "One product line, ~$20k a quarter")
    fields.setdefault("target_state", "Two product lines, $35k a quarter")
    fields.setdefault("horizon", date(2026, 10, 1))
    row = AccountPlan(account_id=acct.id, updated_at=NOW, **fields)
    set_plan_tactic_ids(row, tactic_ids)
    session.add(row)
    session.flush()
    return row


def sent_reminder(
    session: Session, rep_id: int, account_id: int, *, channel: str, ts: str, **fields
) -> ReminderMessage:
    """Today's reminder run for `rep_id`, sent, holding one stored DM line about
    `account_id` at (`channel`, `ts`), as the daily run leaves it (`fields`: text,
    blocks_json, tactic_id, posted_at...)."""
    run = ReminderRun(
        rep_id=rep_id, local_date=NOW.date(), status="sent", lease_until=NOW, created_at=NOW
    )
    session.add(run)
    session.flush()
    fields.setdefault("text", "x")
    fields.setdefault("blocks_json", "[]")
    message = ReminderMessage(
        run_id=run.id, position=1, account_id=account_id, channel=channel, ts=ts, **fields
    )
    session.add(message)
    session.flush()
    return message
