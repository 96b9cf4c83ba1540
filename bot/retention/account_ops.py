"""What the Slack listeners do to and with one account, each a plain function over a
session that returns a plain result: the card (with the command's look-up), logging,
snoozing, the plan form, the report. Listeners parse, call one of these, render, reply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, select

from bot.retention.actions import (
    Actor,
    log_touch,
    require_owner_or_admin,
    save_plan,
    snooze_account,
)
from bot.retention.calendar import Calendars
from bot.retention.errors import AccountNotFound, AmbiguousAccount, InvalidInput
from bot.retention.lookup import find_account_match, finds_without_guessing
from bot.retention.name_hits import starts_with_an_account
from bot.retention.reactions import reminder_message_at
from bot.retention.report import RecencyReport, recency_report
from bot.retention.status import AccountStatus, account_status
from bot.retention.tactics import plan_tactic_ids, record_exposure
from bot.retention.unowned import Unowned, unowned_accounts
from models import Account, AccountPlan

ACCOUNT_GONE = (
    "That account no longer exists (it may have been merged or removed in the CRM). "
    "Look it up again with `/account NAME`."
)


class AccountGone(InvalidInput):
    """The account a button, a form or a pick list is about was deleted since."""

    def __init__(self) -> None:
        super().__init__(ACCOUNT_GONE)


def account_exists(*, session: Session, account_id: int) -> bool:
    return session.get(Account, account_id) is not None


def account_name(*, session: Session, account_id: int) -> str:
    """The account's name; AccountGone when it no longer exists."""
    account = session.get(Account, account_id)
    if account is None:
        raise AccountGone()
    return account.name


# --- the card ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CardLookup:
    """What `/account WORDS` found: the card to show, or why there is none.

    `error` is the look-up's own answer (a pick list, a did-you-mean); `guessed` the
    accounts the look-up only guessed (fuzzily, or several), for the command to decide
    whether the first word was a mistyped sub-command rather than part of a name."""

    query: str
    status: AccountStatus | None = None
    error: AccountNotFound | AmbiguousAccount | None = None
    final: bool = False  # nothing to second-guess: show the card or the error as it is
    guessed: list[tuple[int, str]] = field(default_factory=list)
    rest_names_an_account: bool = False  # the words after the first name one exactly


def look_up_card(
    *,
    session: Session,
    words: Sequence[str],
    now: datetime,
    as_of: date,
    tier_cadence: Mapping[str, int],
    calendars: Calendars,
    tz: str | None,
    name_words_tried: int,
) -> CardLookup:
    """Find the account `words` name and assess it for its card (read only)."""
    query = " ".join(words)
    try:
        match = find_account_match(session=session, query=query)
    except AmbiguousAccount as error:
        # Several accounts really have that name: the pick list is the answer.
        final = finds_without_guessing(session=session, query=query)
        return _guessed(session, words, error, final, error.candidates, name_words_tried)
    except AccountNotFound as error:
        return _guessed(session, words, error, error.empty, error.candidates, name_words_tried)
    status = account_status(
        session=session,
        account_id=match.account_id,
        now=now,
        as_of=as_of,
        tier_cadence=tier_cadence,
        calendars=calendars,
        record_tactics=None,
        tz=tz,
    )
    if match.exact:
        return CardLookup(query, status=status, final=True)
    guessed = [(match.account_id, status.name)]
    return _guessed(session, words, None, False, guessed, name_words_tried, status=status)


def _guessed(session, words, error, final, guessed, tried, *, status=None) -> CardLookup:
    rest = not final and len(words) > 1
    return CardLookup(
        " ".join(words),
        status=status,
        error=error,
        final=final,
        guessed=list(guessed),
        rest_names_an_account=rest
        and starts_with_an_account(session=session, words=words[1:], tried=tried),
    )


def account_card(
    *,
    session: Session,
    account_id: int,
    now: datetime,
    as_of: date,
    tier_cadence: Mapping[str, int],
    calendars: Calendars,
) -> AccountStatus:
    """The card of one account a button names; AccountGone if it was deleted since."""
    if not account_exists(session=session, account_id=account_id):
        raise AccountGone()
    return account_status(
        session=session,
        account_id=account_id,
        now=now,
        as_of=as_of,
        tier_cadence=tier_cadence,
        calendars=calendars,
    )


def record_card_tactics(*, session: Session, status: AccountStatus, now: datetime) -> None:
    """Remember the tactics a card showed, so that the next card rotates them."""
    if status.tactics:
        record_exposure(
            session=session,
            account_id=status.id,
            tactic_ids=[pick.id for pick in status.tactics],
            now=now,
            surface="card",
        )


# --- touches and snoozes --------------------------------------------------------------------


@dataclass(frozen=True)
class Logged:
    name: str
    logged: bool  # False: the same request had already logged it (its key was taken)


def log_named_touch(
    *,
    session: Session,
    account_id: int,
    kind: str,
    on: date | None,
    today: date,
    note: str | None,
    now: datetime,
    actor: Actor,
    source: str,
    dedupe_key: str | None = None,
    reminder: tuple[str, str] | None = None,
) -> Logged:
    """Log a touch and say on which account. Logged from a reminder message (its
    channel and ts), the touch credits the tactic the reminder suggested."""
    name = account_name(session=session, account_id=account_id)
    message = (
        reminder_message_at(session=session, channel=reminder[0], ts=reminder[1])
        if reminder
        else None
    )
    touch = log_touch(
        session=session,
        account_id=account_id,
        kind=kind,
        now=now,
        actor=actor,
        source=source,
        on=on,
        today=today,
        note=note,
        dedupe_key=dedupe_key,
        tactic_id=message.tactic_id if message else None,
    )
    return Logged(name=name, logged=touch is not None)


def snooze_named(
    *,
    session: Session,
    account_id: int,
    until: date,
    reason: str | None,
    now: datetime,
    actor: Actor,
    dedupe_key: str | None = None,
) -> str:
    """Snooze the account until `until`; its name."""
    name = account_name(session=session, account_id=account_id)
    snooze_account(
        session=session,
        account_id=account_id,
        until=until,
        now=now,
        actor=actor,
        reason=reason,
        dedupe_key=dedupe_key,
    )
    return name


# --- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanForm:
    """What the plan modal opens with."""

    account_id: int
    name: str
    current_state: str
    target_state: str
    horizon: date | None
    chosen: list[str]


def plan_form(*, session: Session, account_id: int, actor: Actor) -> PlanForm:
    """The account's plan as it stands, for someone allowed to change it."""
    require_plan_editor(session=session, account_id=account_id, actor=actor)
    account = session.get(Account, account_id)
    plan = session.exec(select(AccountPlan).where(AccountPlan.account_id == account_id)).first()
    return PlanForm(
        account_id=account_id,
        name=account.name,
        current_state=plan.current_state if plan else "",
        target_state=plan.target_state if plan else "",
        horizon=plan.horizon if plan else None,
        chosen=plan_tactic_ids(plan) if plan else [],
    )


def require_plan_editor(*, session: Session, account_id: int, actor: Actor) -> None:
    """AccountGone, or PermissionDenied unless the actor owns the account or is an admin."""
    account = session.get(Account, account_id)
    if account is None:
        raise AccountGone()
    require_owner_or_admin(session=session, actor=actor, account=account, what="change the plan")


@dataclass(frozen=True)
class SavedPlan:
    name: str
    horizon: date | None


def save_named_plan(
    *,
    session: Session,
    account_id: int,
    current_state: str,
    target_state: str,
    horizon: date | None,
    tactic_ids: list[str],
    now: datetime,
    actor: Actor,
    known_tactics: set[str],
) -> SavedPlan:
    """Create or replace the account's plan (see `save_plan`); its name and horizon."""
    name = account_name(session=session, account_id=account_id)
    plan = save_plan(
        session=session,
        account_id=account_id,
        current_state=current_state,
        target_state=target_state,
        horizon=horizon,
        tactic_ids=tactic_ids,
        now=now,
        actor=actor,
        known_tactics=known_tactics,
    )
    return SavedPlan(name=name, horizon=plan.horizon)


# --- the report -------------------------------------------------------------------------------


def report_with_win_rates(
    *, session: Session, now: datetime, with_unowned: bool
) -> tuple[RecencyReport, Unowned | None]:
    """The recency report (its `extra` carries the tactics' win rates); with the accounts
    nobody owns when asked (admins)."""
    report = recency_report(session=session, now=now)
    return report, unowned_accounts(session=session) if with_unowned else None
