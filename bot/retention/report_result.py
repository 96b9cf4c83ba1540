"""What the recency report answers, as plain results with no database import: the Slack
message, the terminal view and `--json` render these (bot/retention/report.py builds
them, bot/retention/report_sql.py reads them from the database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.retention.rebuy_model.words import about_money, short_day

# The re-buy model's horizon (bot/retention/rebuy_model/outlook.py, HORIZON_DAYS).
HORIZON_DAYS = 90
# The report names this many accounts without an owner, the most valuable first.
NAMES_SHOWN = 5


@dataclass(frozen=True)
class CustomerGroup:
    """Customers in one value band (by what they have spent in all)."""

    label: str
    accounts: int
    min_value: float
    max_value: float
    median_last_order: date | None
    newest_last_order: date | None
    oldest_last_order: date | None
    median_days_since: int | None

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "accounts": self.accounts,
            "min_value": round(self.min_value, 2),
            "max_value": round(self.max_value, 2),
            "last_order_at": _iso(self.median_last_order),
            "median_last_order_at": _iso(self.median_last_order),
            "newest_last_order_at": _iso(self.newest_last_order),
            "oldest_last_order_at": _iso(self.oldest_last_order),
            "median_days_since_last_order": self.median_days_since,
        }


@dataclass
class RecencyReport:
    as_of: date
    accounts: int
    never_bought: int
    not_bought_6m: int
    not_bought_12m: int
    not_bought_18m: int
    declining: int
    best: CustomerGroup
    average: CustomerGroup
    worst: CustomerGroup
    segments: dict[str, int] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    # The re-buy model's next 90 days; None when no reliable fit is stored.
    rebuy: RebuyForecast | None = None

    def to_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "accounts": self.accounts,
            "never_bought": self.never_bought,
            "not_bought_6m": self.not_bought_6m,
            "not_bought_12m": self.not_bought_12m,
            "not_bought_18m": self.not_bought_18m,
            "declining": self.declining,
            "best": self.best.to_dict(),
            "average": self.average.to_dict(),
            "worst": self.worst.to_dict(),
            "segments": self.segments,
            "rebuy": self.rebuy.to_dict() if self.rebuy else None,
            **self.extra,
        }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class RebuyForecast:
    """The next 90 days across the workspace, from the stored fit."""

    fit_id: int
    fit: dict
    expected_rebuyers: float  # the sum of the accounts' chances of an order
    scored_accounts: int
    value_at_risk: float  # a quarter's value x the chance of no order, summed
    accounts: list[dict]
    cutoff: date
    dated: bool = False  # the fit is not current: the figures are as of its cut-off
    horizon_days: int = HORIZON_DAYS

    def heading(self) -> str:
        """ "Expected to re-buy in the next 90 days" (or "in the 90 days after 31 Mar")."""
        if self.dated:
            return (
                f"Expected to re-buy in the {self.horizon_days} days after {short_day(self.cutoff)}"
            )
        return f"Expected to re-buy in the next {self.horizon_days} days"

    def rebuyers_text(self) -> str:
        """ "about 12 of 240"; "less than one of 240" rather than "about 0"."""
        if self.expected_rebuyers < 0.5:
            return f"less than one of {self.scored_accounts:,}"
        return f"about {self.expected_rebuyers:,.0f} of {self.scored_accounts:,}"

    def value_at_risk_text(self) -> str:
        return about_money(self.value_at_risk)

    def to_dict(self) -> dict:
        return {
            "fit_id": self.fit_id,
            "fit": self.fit,
            "cutoff": self.cutoff.isoformat(),
            "as_of_cutoff": self.dated,
            "horizon_days": self.horizon_days,
            "expected_rebuyers": round(self.expected_rebuyers, 1),
            "scored_accounts": self.scored_accounts,
            "value_at_risk": round(self.value_at_risk, 2),
            "accounts": self.accounts,
        }


@dataclass(frozen=True)
class Unowned:
    """Live accounts nobody is reminded of: no owner, or (`left` of them) an owner who is
    no longer in Slack."""

    count: int
    names: list[str] = field(default_factory=list)  # "Acme Corp (A-17)", most value first
    left: int = 0

    def to_dict(self) -> dict:
        return {"count": self.count, "first": self.names, "owner_left_slack": self.left}

    def sentence(self) -> str:
        """What an admin reads under the report (empty when every account has an owner)."""
        if not self.count:
            return ""
        them = "it" if self.count == 1 else "them"
        accounts = "1 account has" if self.count == 1 else f"{self.count:,} accounts have"
        shown = ", ".join(self.names)
        more = f" and {self.count - len(self.names):,} more" if self.count > len(self.names) else ""
        if self.left == self.count:
            owner = "an owner no longer in Slack"
        elif self.left:
            owner = f"no owner, or ({self.left:,} of them) an owner no longer in Slack"
        else:
            owner = "no owner"
        return (
            f"{accounts} {owner}, so nobody is reminded of {them}: {shown}{more}. "
            "Give each a rep with /account owner NAME rep@yourcompany.com "
            "or re-import the accounts with an owner_email column."
        )
