"""The plain results the domain hands out and `bot.messages` renders: signals and health,
book entries, due accounts, the re-buy outlook, the weekly digest, away periods.

This module imports no database code (no sqlalchemy, sqlmodel, `models` or `bot.db`), so
the messages layer can use these types without reaching the database. The modules that
compute them (`signals`, `book`, `due`, `digest`, `calendar`, `unowned`,
`rebuy_model.outlook`) import them from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from bot.retention.dates import day_label
from bot.retention.rebuy_model.words import (
    about_money,
    band_of,
    orders_text,
    percent_text,
    rounded_chance,
)
from bot.retention.wording import plural

if TYPE_CHECKING:  # annotations only: these modules read the database
    from bot.retention.facts import AccountFacts
    from bot.retention.tactics.tactic import TacticPick

AT_RISK_BELOW = 50  # health under this is "at risk"
HORIZON_DAYS = 90  # the re-buy outlook's window

# The book's list filters and what each one means (`/account list WHICH`).
LIST_FILTERS = {
    "due": "due today or overdue",
    "overdue": "touch overdue",
    "dormant": "no order in 6 months or more",
    "at-risk": f"health under {AT_RISK_BELOW}",
    "declining": "buying far less than before",
    "single-threaded": "fewer than two contacts",
    "all": "every account",
}


# --- signals, health, schedule ----------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    name: str
    reason: str
    penalty: int

    def to_dict(self) -> dict:
        return {"name": self.name, "reason": self.reason, "penalty": self.penalty}


@dataclass(frozen=True)
class Health:
    score: int
    band: str  # "healthy", "watch" or "at risk"
    reasons: list[str]

    def to_dict(self) -> dict:
        return {"score": self.score, "band": self.band, "reasons": self.reasons}


@dataclass(frozen=True)
class TouchSchedule:
    cadence_days: int
    cadence_source: str  # "account" or "tier"
    next_touch_due: date
    snoozed_until: date | None
    days_overdue: int  # working days since the due day; > 0 once it has passed
    # False while no touch is logged: the first touch is planned, never overdue.
    touched: bool = True

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


# Signals that restate a fact another signal already says: "no order in over 12
# months" already says the rhythm is broken and nothing was bought in 6 months.
_SAID_BY = {
    "off_rhythm": {"dormant_6m", "dormant_12m", "dormant_18m"},
}


def reasons_once(signals: Sequence[Signal], *, overdue_in_header: bool = False) -> list[str]:
    """A reminder's reasons, most important first, each fact once: off-rhythm is dropped
    when dormancy says it, "stopped buying" when dormancy says it, and the overdue touch
    when the message header already gives the days overdue."""
    names = {signal.name for signal in signals}
    dormant = bool(names & {"dormant_6m", "dormant_12m", "dormant_18m"})
    kept = []
    for signal in sorted(signals, key=lambda s: -s.penalty):
        if _SAID_BY.get(signal.name, set()) & names:
            continue
        if signal.name == "declining" and dormant and signal.reason.startswith("Stopped"):
            continue
        if signal.name == "touch_overdue" and overdue_in_header:
            continue
        kept.append(signal.reason)
    return kept


# --- the re-buy outlook -----------------------------------------------------------------


@dataclass(frozen=True)
class Outlook:
    """One account's outlook for the next `horizon_days`, from stored fit `fit_id`."""

    fit_id: int
    cutoff: date
    chance: float  # of at least one order in the horizon
    expected_orders: float
    expected_value: float | None  # None without 2 order days or a usable spend fit
    order_value: float | None  # Gamma-Gamma expected value of one order
    order_days: int
    valuable: bool
    horizon_days: int = HORIZON_DAYS
    # A later data cut-off than the fit's (the refit is queued), for freshness.
    newer_data: date | None = None
    # Set by `with_outlook` when the fit is not current on the day shown: "As of ...".
    dated: bool = False

    @property
    def shown_chance(self) -> float:
        return rounded_chance(self.chance)

    @property
    def percent(self) -> int:
        return round(self.shown_chance * 100)

    @property
    def band(self) -> str:
        return band_of(self.chance)

    @property
    def lapsing(self) -> bool:
        """A valuable account whose chance fell below the unlikely band."""
        return self.valuable and self.band == "unlikely"

    def chance_text(self) -> str:
        """ "Chance of an order in the next 90 days: 20 % (less than one order expected)",
        after "As of 31 Mar, " when the fit is not current."""
        text = (
            f"hance of an order in the next {self.horizon_days} days: "
            f"{percent_text(self.chance)} ({orders_text(self.expected_orders)})"
        )
        if self.dated:
            return f"As of {day_label(self.cutoff, year=False)}, c{text}"
        return f"C{text}"

    def value_text(self) -> str | None:
        if self.expected_value is None:
            return None
        if self.expected_value < 0.5:  # never "worth about $0"
            return "worth under $1 next quarter"
        return f"worth about {about_money(self.expected_value)} next quarter"

    def line(self) -> str:
        """The whole outlook in one line, for a reminder or the Home tab."""
        value = self.value_text()
        return f"{self.chance_text()}, {value}" if value else self.chance_text()

    def to_dict(self) -> dict:
        return {
            "fit_id": self.fit_id,
            "cutoff": self.cutoff.isoformat(),
            "as_of_cutoff": self.dated,
            "horizon_days": self.horizon_days,
            "chance_of_order": round(self.chance, 4),
            "chance_shown": self.percent,
            "band": self.band,
            "expected_orders": round(self.expected_orders, 4),
            "expected_value": None
            if self.expected_value is None
            else round(self.expected_value, 2),
            "likely_lapsing": self.lapsing,
        }


def with_outlook_line(reasons: list[str], outlook: Outlook | None) -> list[str]:
    """A reminder's reasons with the outlook second (after the most important one),
    unless `likely_lapsing` already says the chance."""
    if outlook is None or outlook.lapsing:
        return reasons
    return [*reasons[:1], f"{outlook.line()}.", *reasons[1:]]


# --- the rep's book ---------------------------------------------------------------------


@dataclass
class BookEntry:
    facts: AccountFacts
    schedule: TouchSchedule
    signals: list[Signal]
    health: Health

    @property
    def names(self) -> set[str]:
        return {signal.name for signal in self.signals}

    @property
    def due(self) -> bool:
        return self.schedule.next_touch_due <= self.as_of

    as_of: date = date.min
    outlook: Outlook | None = None  # the re-buy model's, when a reliable fit is stored


@dataclass(frozen=True)
class BookSummary:
    accounts: int
    due_today: int
    overdue: int
    dormant: int
    at_risk: int
    declining: int
    single_threaded: int


@dataclass(frozen=True)
class LeaderboardRow:
    rep_email: str
    rep_name: str | None
    slack_user_id: str | None
    touches: int
    accounts: int


@dataclass
class DueAccount:
    facts: AccountFacts
    schedule: TouchSchedule
    signals: list[Signal]
    health: Health
    # `urgency.urgency_key`: sorting by it puts the most urgent first.
    urgency_key: tuple
    tactic: TacticPick | None = None
    outlook: Outlook | None = None  # the re-buy model's, when a reliable fit is stored

    @property
    def account_id(self) -> int:
        return self.facts.id

    @property
    def name(self) -> str:
        return self.facts.name

    @property
    def why(self) -> list[str]:
        """The reasons it is due, most important first, each fact once (the message header
        already says how many days overdue)."""
        reasons = reasons_once(self.signals, overdue_in_header=True)
        if not self.schedule.overdue:
            last = self.facts.last_touch_at
            since = f"last touch {day_label(last.date())}" if last else "no touch logged yet"
            every = plural(self.schedule.cadence_days, "day")
            reasons.insert(0, f"Due today: {since}, every {every}.")
        return with_outlook_line(reasons, self.outlook)


# --- the weekly digest ------------------------------------------------------------------


@dataclass(frozen=True)
class RepCoverage:
    """One rep's week: accounts within cadence and touches logged."""

    email: str
    name: str | None
    slack_user_id: str | None
    accounts: int
    covered: int
    touches: int

    @property
    def coverage(self) -> float:
        return self.covered / self.accounts if self.accounts else 1.0


@dataclass(frozen=True)
class AtRiskAccount:
    """An account whose health fell into "at risk" this week."""

    name: str
    owner_email: str | None
    owner_slack_user_id: str | None
    health: int
    was: int
    reason: str


@dataclass(frozen=True)
class ShoutOut:
    """A rep whose accounts ordered again within 60 days after a touch they logged, this
    week."""

    email: str
    name: str | None
    slack_user_id: str | None
    accounts: list[str]
    amount: float


@dataclass
class WeeklyDigest:
    week_start: date
    as_of: date
    reps: list[RepCoverage]
    newly_at_risk: list[AtRiskAccount]
    shout_outs: list[ShoutOut]
    tactic_win_rates: list[dict] = field(default_factory=list)
    # Accounts with no owner or an inactive one (and how many of them were touched within
    # cadence): in the team's numbers, under no rep's line.
    ownerless: int = 0
    ownerless_covered: int = 0

    @property
    def accounts(self) -> int:
        return sum(rep.accounts for rep in self.reps) + self.ownerless

    @property
    def covered(self) -> int:
        return sum(rep.covered for rep in self.reps) + self.ownerless_covered

    @property
    def touches(self) -> int:
        return sum(rep.touches for rep in self.reps)

    @property
    def coverage(self) -> float:
        return self.covered / self.accounts if self.accounts else 1.0


# --- away periods -----------------------------------------------------------------------


@dataclass(frozen=True)
class Away:
    """An away period as plain values."""

    id: int
    rep_id: int
    starts_on: date
    ends_on: date
    cover_rep_id: int | None

    def covers(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


@dataclass(frozen=True)
class AwayWithCover:
    """An away period and who covers it (their Slack id and name, for a mention)."""

    away: Away
    cover_slack_user_id: str | None = None
    cover_name: str | None = None


# --- reactions on a reminder ------------------------------------------------------------


@dataclass(frozen=True)
class ReactionAck:
    """A touch or snooze logged by reacting to a reminder: what, by whom (a Slack user
    id), and for a snooze, until when. `bot.messages` writes the line."""

    kind: str  # a touch kind ("call", "note", ...) or "snooze"
    slack_user_id: str | None
    until: date | None = None
