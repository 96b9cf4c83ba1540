"""The tactic bank and the recommender that picks the next touch for an account.

Tactics live in `tactics.yaml` next to this module. The recommender scores each
tactic by the account's signals and RFM segment (urgent signals weigh more, a
tactic's first-listed fits weigh more than its later ones), keeps the picks
varied, and rotates away from tactics the rep saw or used on the account lately.

Given the account's numbers (a `TacticContext`), it never offers a tactic whose
premise is false for the account (each tactic `requires` named premises, see
PREMISES) and explains each pick with that tactic's own one-sentence `why`, filled
in with the account's numbers. Advice is stable within a day: tactics shown today
do not rotate away until the next day, or until a touch is logged after them.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func as sa_func
from sqlmodel import Session, col, select

from bot.clock import local_day_start
from bot.retention.dates import day_label
from bot.retention.facts import AccountFacts, utc_value
from bot.retention.signals import MODEL_SIGNAL_NAMES, SIGNAL_NAMES, median_gap_days
from models import TacticExposure, Touch

TACTICS_PATH = Path(__file__).with_name("tactics.yaml")

SIGNALS = (*SIGNAL_NAMES, *MODEL_SIGNAL_NAMES)
SEGMENTS = (
    "champions",
    "loyal",
    "potential_loyalists",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose",
    "hibernating",
    "lost",
    "no_purchases",
)
# Matches an account that shows no signal at all: keep the relationship warm.
NO_SIGNALS = "no_signals"
FIT_NAMES = (*SIGNALS, *SEGMENTS, NO_SIGNALS)
EFFORTS = ("low", "medium", "high")
CHANNELS = ("call", "email", "meeting", "visit", "any")

MAX_TITLE = 60
MAX_HOW_TO = 500
MAX_WHY = 200
MAX_ID = 64  # the width of touch.tactic_id and tactic_exposure.tactic_id
MAX_SURFACE = 16  # the width of tactic_exposure.surface

# How urgent each fit is: a tactic that answers an urgent signal ranks higher.
URGENCY: dict[str, float] = {
    "dormant_18m": 5.0,
    "dormant_12m": 5.0,
    "declining": 5.0,
    "cant_lose": 5.0,
    "at_risk": 4.5,
    "single_threaded": 4.0,
    "dormant_6m": 3.5,
    "lost": 3.5,
    "likely_lapsing": 4.0,
    "off_rhythm": 3.0,
    "need_attention": 3.0,
    "about_to_sleep": 3.0,
    "hibernating": 3.0,
    "champions": 2.5,
    "loyal": 2.5,
    "new_customers": 2.5,
    "potential_loyalists": 2.0,
    "promising": 2.0,
    "no_purchases": 2.0,
    "touch_overdue": 1.5,
    "no_plan": 1.5,
    NO_SIGNALS: 0.5,
}
# A slight preference for tactics a busy rep will actually do.
EFFORT_BONUS = {"low": 0.6, "medium": 0.3, "high": 0.0}
# Beyond the best-matching fit, further matches add half their weight.
EXTRA_MATCH_SHARE = 0.5
# Any tactic seen within the rotation window ranks below every unseen one;
# among the seen, the longer ago the better.
ROTATION_PENALTY = 100.0

_ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FIELDS = ("id", "title", "how_to", "fits", "effort", "channel", "requires", "why")


@dataclass(frozen=True)
class Tactic:
    """One retention tactic from the bank."""

    id: str
    title: str
    how_to: str
    fits: tuple[str, ...]  # best fit first
    effort: str
    channel: str
    requires: tuple[str, ...] = ()  # premises (PREMISES) that must hold for the account
    why: str = ""  # one sentence with {placeholders} from TacticContext.values()


# ---------------------------------------------------------------------------
# The account's numbers, and the premises a tactic can rest on


def _money(value: float) -> str:
    return f"${value:,.0f}"


@dataclass(frozen=True)
class TacticContext:
    """What a tactic's premise and why need to know about one account, as of a day."""

    occasions: int
    days_since_order: int | None
    days_since_touch: int | None
    contacts: int
    has_plan: bool
    value_last_6m: float
    value_prev_6m: float
    value_last_12m: float
    total_value: float
    usual_gap_days: float | None
    monetary_score: int = 0
    contract_end: date | None = None  # no contract data is kept yet: always None

    @classmethod
    def of(cls, facts: AccountFacts, *, as_of: date, monetary_score: int = 0) -> TacticContext:
        """From an account's facts (order days loaded for the usual gap)."""
        last_order, last_touch = facts.last_order_day, facts.last_touch_at
        return cls(
            occasions=facts.occasions,
            days_since_order=(as_of - last_order).days if last_order else None,
            days_since_touch=(as_of - last_touch.date()).days if last_touch else None,
            contacts=facts.contacts_count,
            has_plan=facts.has_plan,
            value_last_6m=facts.value_last_6m,
            value_prev_6m=facts.value_prev_6m,
            value_last_12m=facts.value_last_12m,
            total_value=facts.total_value,
            usual_gap_days=median_gap_days(facts.order_days)
            if len(facts.order_days) >= 3
            else None,
            monetary_score=monetary_score,
        )

    @property
    def declining(self) -> bool:
        return self.value_prev_6m > 0 and self.value_last_6m < 0.5 * self.value_prev_6m

    def values(self) -> dict[str, str]:
        """The why placeholders this account can fill; a missing one keeps its tactic out."""
        return dict(self._values)

    @functools.cached_property
    def _values(self) -> dict[str, str]:
        # Worked out once per account: every tactic in the bank asks for them.
        # "{n} days" is only said for 2 days or more ("0 days ago", "bought on 1 days"
        # never): a tactic whose why needs the number is left out below that.
        values: dict[str, str] = {}
        if self.occasions >= 2:
            values["occasions"] = f"{self.occasions:,}"
        if self.days_since_order is not None:
            if self.days_since_order >= 2:
                values["days_since_order"] = f"{self.days_since_order:,}"
            values["order_gap_text"] = f"Last order {_days_ago(self.days_since_order)}"
        else:
            values["order_gap_text"] = "No order yet"
        if self.days_since_touch is not None:
            if self.days_since_touch >= 2:
                values["days_since_touch"] = f"{self.days_since_touch:,}"
            values["touch_gap_text"] = f"Your last touch was {_days_ago(self.days_since_touch)}"
        else:
            values["touch_gap_text"] = "No touch is logged on this account yet"
        if self.contacts:
            values["contacts_text"] = (
                "your one contact"
                if self.contacts == 1
                else f"the {self.contacts} contacts on file"
            )
        for name, amount in (
            ("last_6m", self.value_last_6m),
            ("prev_6m", self.value_prev_6m),
            ("value_12m", self.value_last_12m),
            ("total", self.total_value),
            ("value_at_stake", max(self.total_value, self.value_last_12m)),
        ):
            if amount > 0:  # "$0" or "$-4,800" is never cited as something they bought
                values[name] = _money(amount)
        if self.value_prev_6m > 0 and self.value_last_6m < self.value_prev_6m:
            values["drop"] = f"{1 - max(self.value_last_6m, 0) / self.value_prev_6m:.0%}"
        if self.usual_gap_days:
            values["usual_gap"] = f"{self.usual_gap_days:.0f}"
        if self.declining and self.value_last_6m > 0:
            values["quiet_or_declining_text"] = (
                f"They spent {_money(self.value_last_6m)} in the last 6 months against "
                f"{_money(self.value_prev_6m)} in the 6 before"
            )
        elif self.days_since_order is not None and self.days_since_order >= 60:
            values["quiet_or_declining_text"] = f"No order in {self.days_since_order:,} days"
        if self.contract_end is not None:
            values["contract_end"] = day_label(self.contract_end)
        return values


def _days_ago(days: int) -> str:
    """ "today", "yesterday", "12 days ago"."""
    if days <= 0:
        return "today"
    return "yesterday" if days == 1 else f"{days:,} days ago"


# A touch this recent makes "reopen the conversation" advice pointless.
TOUCH_LATELY_DAYS = 14


def _quiet(context: TacticContext, days: int) -> bool:
    return context.days_since_order is not None and context.days_since_order >= days


# Each premise: a plain statement about the account, and how to check it.
PREMISES: dict[str, tuple[str, Callable[[TacticContext], bool]]] = {
    "has_orders": ("it has bought at least once", lambda c: c.occasions >= 1),
    "no_orders": ("it has never bought", lambda c: c.occasions == 0),
    "one_occasion": ("it has bought on exactly one day", lambda c: c.occasions == 1),
    "recent_buyer": (
        "it bought in the last 90 days",
        lambda c: not _quiet(c, 91) and c.days_since_order is not None,
    ),
    "quiet_60d": ("no order in 60 days or more", lambda c: _quiet(c, 60)),
    "quiet_6m": ("no order in six months or more", lambda c: _quiet(c, 182)),
    "still_buying": ("it spent something in the last 6 months", lambda c: c.value_last_6m > 0),
    "declining": ("its spend halved against the 6 months before", lambda c: c.declining),
    "not_declining": ("its spend has not halved", lambda c: not c.declining),
    "quiet_or_declining": (
        "it buys far less, or has not ordered in 60 days",
        lambda c: (c.declining and c.value_last_6m > 0) or _quiet(c, 60),
    ),
    "has_rhythm": (
        "it has a usual gap between orders (3+ buying days)",
        lambda c: c.usual_gap_days is not None,
    ),
    "one_contact": ("exactly one contact is on file", lambda c: c.contacts == 1),
    "has_contact": ("someone is on file to talk to", lambda c: c.contacts >= 1),
    "touched_before": ("a touch has been logged", lambda c: c.days_since_touch is not None),
    "not_touched_lately": (
        f"no touch in the last {TOUCH_LATELY_DAYS} days",
        lambda c: c.days_since_touch is None or c.days_since_touch >= TOUCH_LATELY_DAYS,
    ),
    "long_gap_since_touch": (
        "no touch and no order for six months or more",
        lambda c: (
            (c.days_since_touch is None or c.days_since_touch >= 182)
            and (c.days_since_order is None or c.days_since_order >= 182)
        ),
    ),
    "big_account": ("among the top 40% by spend", lambda c: c.monetary_score >= 4),
    "no_plan": ("no account plan is set", lambda c: not c.has_plan),
    "contract_data": ("a contract end date is known", lambda c: c.contract_end is not None),
}


def premise_holds(tactic: Tactic, context: TacticContext) -> bool:
    """Every premise of the tactic holds, and its why can be said with this account's
    numbers."""
    if not all(PREMISES[name][1](context) for name in tactic.requires):
        return False
    return _render_why(tactic, context) is not None


@functools.lru_cache(maxsize=256)
def _placeholders(template: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def _render_why(tactic: Tactic, context: TacticContext) -> str | None:
    if not tactic.why:
        return None
    values = context._values
    if not _placeholders(tactic.why) <= values.keys():
        return None
    return tactic.why.format(**values)


@dataclass(frozen=True)
class TacticPick:
    """A tactic recommended for an account, with why it suits that account."""

    tactic: Tactic
    why: str
    # The account's signal/segment names the tactic answers (empty for a filler pick).
    reasons: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        return self.tactic.id

    @property
    def title(self) -> str:
        return self.tactic.title

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.tactic.id,
            "title": self.tactic.title,
            "why": self.why,
            "how_to": self.tactic.how_to,
            "effort": self.tactic.effort,
            "channel": self.tactic.channel,
        }


# ---------------------------------------------------------------------------
# Loading the bank


def load_tactics(path: Path | None = None) -> dict[str, Tactic]:
    """The tactics in `path` (default: the bundled bank), by id, validated.

    Raises ValueError naming the tactic and the field when the data is bad.
    """
    if path is None or Path(path).resolve() == TACTICS_PATH.resolve():
        return dict(_default_bank())
    return _load(Path(path))


def tactic_bank() -> dict[str, Tactic]:
    """The bundled tactic bank, by id."""
    return load_tactics()


@functools.cache
def _default_bank() -> dict[str, Tactic]:
    return _load(TACTICS_PATH)


def _load(path: Path) -> dict[str, Tactic]:
    try:
        # libyaml's C loader when the wheel has it: ~10× faster on the bundled bank.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except yaml.YAMLError as error:
        raise ValueError(f"{path.name}: not valid YAML: {error}") from error
    entries = data.get("tactics") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path.name}: expected a non-empty list under `tactics:`")
    bank: dict[str, Tactic] = {}
    for number, entry in enumerate(entries, start=1):
        tactic = _parse(entry, source=path.name, number=number)
        if tactic.id in bank:
            raise ValueError(f"{path.name}: tactic '{tactic.id}': field 'id' is a duplicate")
        bank[tactic.id] = tactic
    return bank


def _parse(entry: Any, *, source: str, number: int) -> Tactic:
    where = f"{source}: tactic #{number}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected a mapping with fields {', '.join(_FIELDS)}")
    raw_id = entry.get("id")
    if not isinstance(raw_id, str) or not _ID_PATTERN.match(raw_id) or len(raw_id) > MAX_ID:
        raise ValueError(
            f"{where}: field 'id' must be kebab-case, at most {MAX_ID} characters (got {raw_id!r})"
        )
    where = f"{source}: tactic '{raw_id}'"

    def problem(name: str, message: str) -> ValueError:
        return ValueError(f"{where}: field '{name}' {message}")

    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise problem(unknown[0], "is not a tactic field")
    title = _text(entry, "title", MAX_TITLE, problem)
    how_to = _text(entry, "how_to", MAX_HOW_TO, problem)
    fits = entry.get("fits")
    if not isinstance(fits, list) or not fits:
        raise problem("fits", "must be a non-empty list of signal or segment names")
    for name in fits:
        if name not in FIT_NAMES:
            raise problem("fits", f"has unknown name {name!r}; known: {', '.join(FIT_NAMES)}")
    if len(set(fits)) != len(fits):
        raise problem("fits", "lists a name twice")
    effort = entry.get("effort")
    if effort not in EFFORTS:
        raise problem("effort", f"must be one of {', '.join(EFFORTS)} (got {effort!r})")
    channel = entry.get("channel")
    if channel not in CHANNELS:
        raise problem("channel", f"must be one of {', '.join(CHANNELS)} (got {channel!r})")
    requires = entry.get("requires", [])
    if not isinstance(requires, list):
        raise problem("requires", "must be a list of premise names")
    for name in requires:
        if name not in PREMISES:
            raise problem("requires", f"has unknown premise {name!r}; known: {', '.join(PREMISES)}")
    why = _text(entry, "why", MAX_WHY, problem) if "why" in entry else ""
    known = set(_ALL_PLACEHOLDERS)
    unknown_names = sorted(_placeholders(why) - known)
    if unknown_names:
        raise problem("why", f"has unknown placeholder {{{unknown_names[0]}}}")
    return Tactic(
        id=raw_id,
        title=title,
        how_to=how_to,
        fits=tuple(fits),
        effort=effort,
        channel=channel,
        requires=tuple(requires),
        why=why,
    )


_ALL_PLACEHOLDERS = (
    "occasions",
    "days_since_order",
    "order_gap_text",
    "days_since_touch",
    "touch_gap_text",
    "contacts_text",
    "last_6m",
    "prev_6m",
    "value_12m",
    "total",
    "value_at_stake",
    "drop",
    "usual_gap",
    "quiet_or_declining_text",
    "contract_end",
)


def _text(entry: dict, name: str, limit: int, problem) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value.strip():
        raise problem(name, "must be non-empty text")
    value = " ".join(value.split())  # folded YAML leaves stray newlines and spaces
    if len(value) > limit:
        raise problem(name, f"is {len(value)} characters; the limit is {limit}")
    return value


# ---------------------------------------------------------------------------
# Why a tactic suits an account


@dataclass(frozen=True)
class _Reason:
    label: str  # combines as "Declining and single-threaded: …"
    detail: str  # follows the combined labels
    sentences: tuple[str, ...]  # stand-alone, one per pick sharing this reason


REASONS: dict[str, _Reason] = {
    "dormant_6m": _Reason(
        "No order in 6+ months",
        "the buying habit fades the longer you wait",
        (
            "No order in over six months — reconnect before a competitor fills the gap.",
            "Six months without an order: the buying habit is fading, so give them a reason "
            "to talk.",
        ),
    ),
    "dormant_12m": _Reason(
        "No order in 12+ months",
        "a year quiet usually means someone else supplies them now",
        (
            "A full year without an order — they're buying from someone; find out who and why.",
            "Twelve months quiet: a low-pressure reason to talk beats another price list.",
        ),
    ),
    "dormant_18m": _Reason(
        "No order in 18+ months",
        "people and needs have likely changed, so start fresh",
        (
            "Eighteen months without an order — treat it as a win-back, starting with who is "
            "there now.",
            "A year and a half quiet: whoever bought from you may well have moved on.",
        ),
    ),
    "declining": _Reason(
        "Declining",
        "spend is down by half or more, so learn what changed",
        (
            "Spend over the last six months is under half of the six before — find out what "
            "changed.",
            "They're buying far less than they used to; the reason decides the next move.",
        ),
    ),
    "off_rhythm": _Reason(
        "Off rhythm",
        "their usual reorder is late, so nudge before it goes elsewhere",
        (
            "Well past their usual gap between orders — a timely nudge may be all it takes.",
            "Later than their normal reorder: check whether it slipped or went elsewhere.",
        ),
    ),
    "likely_lapsing": _Reason(
        "Likely lapsing",
        "a valuable account's chance of ordering again is low, so act before it goes",
        (
            "A valuable account whose chance of another order is now low — reach out "
            "before it is gone.",
            "The order history says this good customer is slipping: find out why while "
            "they still pick up.",
        ),
    ),
    "touch_overdue": _Reason(
        "Touch overdue",
        "you're past your cadence, so make the next contact count",
        (
            "Your next touch is past due — a quick, useful contact puts you back on cadence.",
            "Overdue for a touch: keep it short and bring them something of value.",
        ),
    ),
    "single_threaded": _Reason(
        "Single-threaded",
        "with fewer than two contacts on file, one departure loses the account",
        (
            "Only one contact on file — one departure and the account is gone.",
            "Fewer than two contacts: widen the relationship before you need to.",
        ),
    ),
    "no_plan": _Reason(
        "No account plan",
        "give the next touches a shared goal and a date",
        (
            "No account plan yet — agree where this account should be in 3–5 months.",
            "Without a plan every touch is ad hoc; give the next one a goal.",
        ),
    ),
    "champions": _Reason(
        "One of your best customers",
        "happy, frequent buyers are your best source of new business",
        (
            "One of your best customers — recent, frequent and high-spend; let them help you grow.",
            "One of your best customers: they trust you, so deepen the relationship.",
        ),
    ),
    "loyal": _Reason(
        "Loyal",
        "steady buyers are the easiest place to grow",
        (
            "Buys from you regularly — there's room to grow your share of their spend.",
            "A loyal buyer: earn the next product line, not just the next reorder.",
        ),
    ),
    "potential_loyalists": _Reason(
        "Potential loyalist",
        "the next few orders decide whether they become regulars",
        (
            "A recent buyer with a few orders — a little attention now turns them into a regular.",
            "On the way to loyal: make the next product easy to say yes to.",
        ),
    ),
    "new_customers": _Reason(
        "New customer",
        "a smooth start is what brings the second order",
        (
            "Bought for the first time recently — the next 90 days decide whether they buy again.",
            "Just started with you: make the first weeks easy and they'll order again.",
        ),
    ),
    "promising": _Reason(
        "Promising",
        "spend is small so far, but the door is open",
        (
            "A recent but small buyer — show them what else you can do for them.",
            "Started small and recently: the door is open for a bigger second order.",
        ),
    ),
    "need_attention": _Reason(
        "Needs attention",
        "a good history, but recent buying is slipping",
        (
            "An above-average customer whose buying is slipping — a timely touch keeps them.",
            "Solid history, quieter lately: ask what's coming up on their side.",
        ),
    ),
    "about_to_sleep": _Reason(
        "About to sleep",
        "one relevant touch now is cheaper than a win-back later",
        (
            "Buying less often and less recently — wake the relationship before it goes quiet.",
            "Orders are getting rarer: one relevant touch now beats a win-back later.",
        ),
    ),
    "at_risk": _Reason(
        "At risk",
        "a strong history but fading recency, so act before they're gone",
        (
            "Used to buy often and well, but not lately — act before they're gone.",
            "At risk: a strong history, fading recency; find out what's pulling them away.",
        ),
    ),
    "cant_lose": _Reason(
        "Can't lose",
        "a lot of value is at stake, so make the effort visible",
        (
            "One of your biggest past spenders has gone quiet — this one deserves senior "
            "attention.",
            "Too valuable to let drift — show them they matter before a competitor does.",
        ),
    ),
    "hibernating": _Reason(
        "Hibernating",
        "a light, useful touch can restart it",
        (
            "Small, rare and long-ago orders — a light, useful touch can restart them.",
            "Hibernating: no pressure, just a reason to remember you.",
        ),
    ),
    "lost": _Reason(
        "Lost",
        "an honest conversation may reopen the door",
        (
            "Lowest recency, frequency and spend — win them back or learn why; both are worth it.",
            "Gone quiet for good, it seems: the reason they left is worth knowing either way.",
        ),
    ),
    "no_purchases": _Reason(
        "No purchases yet",
        "learn their priorities, then make a first order easy",
        (
            "No orders yet — help them to a first, easy one.",
            "Nothing bought yet: a small, safe first step beats a big pitch.",
        ),
    ),
    NO_SIGNALS: _Reason(
        "No warning signs",
        "stay on their radar between orders",
        (
            "No warning signs — a light, useful touch keeps it that way.",
            "All healthy: stay visible without asking for anything.",
        ),
    ),
}
FILLER_WHY = "An easy extra touch that keeps the relationship warm."


def segment_fit_name(segment: str | None) -> str | None:
    """The fit name for an RFM segment display name: "Can't lose" -> "cant_lose".

    Unknown or empty segments give None.
    """
    if not segment:
        return None
    key = re.sub(r"['’]", "", segment.strip().casefold())
    key = re.sub(r"[^a-z0-9]+", "_", key).strip("_")
    return key if key in SEGMENTS else None


def _why_options(reasons: tuple[str, ...]) -> list[str]:
    """Ways to say why, best first; `reasons` are ordered by how much they count."""
    if not reasons:
        return [FILLER_WHY]
    top = REASONS[reasons[0]]
    options: list[str] = []
    for count in range(min(len(reasons), 3), 1, -1):
        labels = [REASONS[name].label for name in reasons[:count]]
        rest = [_lower_first(label) for label in labels[1:]]
        joined = labels[0] + "".join(f", {label}" for label in rest[:-1]) + f" and {rest[-1]}"
        text = f"{joined}: {top.detail}."
        if len(text) <= MAX_WHY:
            options.append(text)
            break
    options.extend(top.sentences)
    options.append(f"{top.label}: {top.detail}.")
    return options


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# ---------------------------------------------------------------------------
# Recommending


@dataclass(frozen=True)
class _Candidate:
    tactic: Tactic
    reasons: tuple[str, ...]
    score: float
    last_seen: datetime | None

    @property
    def seen(self) -> bool:
        return self.last_seen is not None


def recommend_tactics(
    *,
    session: Session,
    account_id: int,
    signals: Sequence[str],
    segment: str | None,
    now: datetime,
    limit: int = 3,
    record: str | None = None,
    rotation_days: int = 30,
    bank: Mapping[str, Tactic] | None = None,
    context: TacticContext | None = None,
    tz: str | None = None,
) -> list[TacticPick]:
    """The best `limit` tactics for an account, each with a one-line why.

    Tactics fitting the account's signals and segment rank by urgency; picks are
    kept varied (no two for exactly the same reason while another reason is
    available). Tactics shown (TacticExposure) or used (Touch.tactic_id) on the
    account within `rotation_days` drop below the unseen ones, so repeated calls
    rotate; when everything fitting was seen, the least recently seen come back. The
    advice stays put for the day in `tz`, the asking rep's time zone (UTC if unknown).
    With `record` (a surface name such as "card" or "reminder") the picks are
    stored as exposures; the caller commits.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1 (got {limit})")
    if rotation_days < 0:
        raise ValueError(f"rotation_days must not be negative (got {rotation_days})")
    now = _utc(now)
    tactics = tactic_bank() if bank is None else bank
    last_seen = _last_seen(
        session=session,
        account_id=account_id,
        now=now,
        days=rotation_days,
        today=local_day_start(now, tz),
    )
    picks = rank_tactics(
        tactics.values(),
        signals=signals,
        segment=segment,
        now=now,
        last_seen=last_seen,
        limit=limit,
        rotation_days=rotation_days,
        context=context,
    )
    if record is not None and picks:
        record_exposure(
            session=session,
            account_id=account_id,
            tactic_ids=[pick.id for pick in picks],
            now=now,
            surface=record,
        )
    return picks


def rank_tactics(
    tactics: Iterable[Tactic],
    *,
    signals: Sequence[str],
    segment: str | None,
    now: datetime,
    last_seen: Mapping[str, datetime] | None = None,
    limit: int = 3,
    rotation_days: int = 30,
    context: TacticContext | None = None,
) -> list[TacticPick]:
    """The recommender without the database: `last_seen` maps tactic id to when it was seen.

    With `context`, tactics whose premise is false for the account are left out and each
    pick's why is that tactic's own sentence with the account's numbers.
    """
    now = _utc(now)
    last_seen = last_seen or {}
    wanted = _fit_names(signals, segment)
    fitting: list[_Candidate] = []
    others: list[_Candidate] = []
    for tactic in tactics:
        if context is not None and not premise_holds(tactic, context):
            continue
        weights = {
            name: URGENCY[name] * _position_weight(index)
            for index, name in enumerate(tactic.fits)
            if name in wanted
        }
        seen = last_seen.get(tactic.id)
        if weights:
            ordered = sorted(weights, key=lambda name: (-weights[name], FIT_NAMES.index(name)))
            best = weights[ordered[0]]
            score = best + EXTRA_MATCH_SHARE * (sum(weights.values()) - best)
            score += EFFORT_BONUS[tactic.effort]
            fitting.append(_Candidate(tactic, tuple(ordered), score, seen))
        else:
            # A filler, used only when too few tactics fit: warm-keeping ones first.
            score = (1.0 if NO_SIGNALS in tactic.fits else 0.0) + EFFORT_BONUS[tactic.effort]
            others.append(_Candidate(tactic, (), score, seen))

    def rank(candidate: _Candidate) -> tuple[float, str]:
        penalty = _rotation_penalty(candidate.last_seen, now=now, days=rotation_days)
        return (-(candidate.score - penalty), candidate.tactic.id)

    fitting.sort(key=rank)
    others.sort(key=rank)
    chosen: list[_Candidate] = []
    for tier in (
        [c for c in fitting if not c.seen],
        [c for c in fitting if c.seen],
        others,
    ):
        _pick_varied(tier, chosen, limit)
    if context is not None:
        return [
            TacticPick(tactic=c.tactic, why=_render_why(c.tactic, context) or "", reasons=c.reasons)
            for c in chosen
        ]
    return _explain(chosen)


def _fit_names(signals: Sequence[str], segment: str | None) -> set[str]:
    # Unknown signal names are ignored so a new signal never breaks the card.
    names = {name for name in signals if name in SIGNALS}
    segment_name = segment_fit_name(segment)
    if segment_name:
        names.add(segment_name)
    # Nothing to go on: suggest the tactics that keep a healthy relationship warm.
    return names or {NO_SIGNALS}


def _position_weight(index: int) -> float:
    """A tactic's first-listed fit counts fully, later ones a little less."""
    return max(0.55, 1.0 - 0.15 * index)


def _rotation_penalty(seen: datetime | None, *, now: datetime, days: int) -> float:
    if seen is None:
        return 0.0
    age = max((now - seen).total_seconds(), 0.0) / 86400
    freshness = max(0.0, 1.0 - age / days) if days else 0.0
    return ROTATION_PENALTY * (1.0 + freshness)


def _pick_varied(tier: list[_Candidate], chosen: list[_Candidate], limit: int) -> None:
    """Take from `tier` in order, skipping a reason already covered while others remain."""
    deferred: list[_Candidate] = []
    for candidate in tier:
        if len(chosen) >= limit:
            return
        if candidate.reasons and candidate.reasons in {c.reasons for c in chosen}:
            deferred.append(candidate)
        else:
            chosen.append(candidate)
    for candidate in deferred:
        if len(chosen) >= limit:
            return
        chosen.append(candidate)


def _explain(chosen: list[_Candidate]) -> list[TacticPick]:
    picks: list[TacticPick] = []
    used: set[str] = set()
    for candidate in chosen:
        options = _why_options(candidate.reasons)
        why = next((text for text in options if text not in used), options[0])
        used.add(why)
        picks.append(TacticPick(tactic=candidate.tactic, why=why, reasons=candidate.reasons))
    return picks


def _last_seen(
    *, session: Session, account_id: int, now: datetime, days: int, today: datetime
) -> dict[str, datetime]:
    """When each tactic was last shown or used on the account, within the window.

    A tactic shown since `today` (the start of the rep's own day) only counts once a
    touch was logged after it: viewing the card again the same day shows the same
    advice; the next day, or after a touch, it rotates.
    """
    if days <= 0:
        return {}
    since = now - timedelta(days=days)
    last_touch = session.exec(
        select(sa_func.max(Touch.touched_at)).where(Touch.account_id == account_id)
    ).one()
    last_touch = utc_value(last_touch)
    stable_from = max(today, last_touch) if last_touch is not None else today
    shown = session.exec(
        select(TacticExposure.tactic_id, TacticExposure.shown_at).where(
            TacticExposure.account_id == account_id,
            TacticExposure.shown_at > since,
            TacticExposure.shown_at < stable_from,
        )
    ).all()
    used = session.exec(
        select(Touch.tactic_id, Touch.touched_at).where(
            Touch.account_id == account_id,
            col(Touch.tactic_id).is_not(None),
            Touch.touched_at > since,
        )
    ).all()
    last: dict[str, datetime] = {}
    for tactic_id, when in (*shown, *used):
        if tactic_id and (tactic_id not in last or when > last[tactic_id]):
            last[tactic_id] = when
    return last


def record_exposure(
    *,
    session: Session,
    account_id: int,
    tactic_ids: Sequence[str],
    now: datetime,
    surface: str,
) -> None:
    """Remember that these tactics were shown for the account; flushes, the caller commits."""
    if not surface or len(surface) > MAX_SURFACE:
        raise ValueError(f"surface must be 1-{MAX_SURFACE} characters (got {surface!r})")
    now = _utc(now)
    for tactic_id in dict.fromkeys(tactic_ids):
        session.add(
            TacticExposure(
                account_id=account_id, tactic_id=tactic_id, shown_at=now, surface=surface
            )
        )
    session.flush()


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass an aware UTC time")
    return moment.astimezone(UTC)
