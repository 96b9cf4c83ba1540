"""Results to render and checks on what the builders return, shared by the message tests
(plain values: no database, no Slack)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.messages.home import home
from bot.retention.facts import AccountFacts
from bot.retention.results import (
    BookEntry,
    BookSummary,
    Health,
    Signal,
    TouchSchedule,
)
from bot.retention.rfm import Rfm
from bot.retention.status import AccountStatus, LastTouch, Person
from bot.retention.tactics import TacticPick, tactic_bank
from tests.support.block_kit_rules import VIEW_BLOCKS, check_message, check_view
from tests.support.slack_app import mrkdwn_texts

EVIL = "<!channel> & <@U123>"


ESCAPED = "&lt;!channel&gt; &amp; &lt;@U123&gt;"


TODAY = date(2026, 6, 15)


NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)


def facts(account_id: int = 1, name: str = "Acme Corp", **fields) -> AccountFacts:
    fields.setdefault("last_order_at", datetime(2025, 5, 1, 12, tzinfo=UTC))
    fields.setdefault("orders_count", 3)
    fields.setdefault("occasions", fields["orders_count"])
    fields.setdefault("total_value", 2500.0)
    fields.setdefault("last_touch_at", datetime(2026, 6, 1, 12, tzinfo=UTC))
    return AccountFacts(
        id=account_id,
        external_id=f"ACC-{account_id}",
        name=name,
        tier="mid",
        owner_id=1,
        annual_value=None,
        cadence_days=None,
        created_at=NOW,
        **fields,
    )


def signal(reason: str = "No order in over 12 months.", name: str = "dormant_12m") -> Signal:
    return Signal(name=name, reason=reason, penalty=35)


def schedule(days_overdue: int = 3) -> TouchSchedule:
    return TouchSchedule(
        cadence_days=30,
        cadence_source="tier",
        next_touch_due=date(2026, 6, 12),
        snoozed_until=None,
        days_overdue=days_overdue,
    )


def health(score: int = 30, reasons: list[str] | None = None) -> Health:
    return Health(score=score, band="at risk", reasons=reasons or ["−35: No order in a year."])


def picks(why: str = "Dormant: a year quiet.") -> list[TacticPick]:
    bank = list(tactic_bank().values())
    return [TacticPick(tactic=tactic, why=why) for tactic in bank[:3]]


def status(name: str = "Acme Corp", **over) -> AccountStatus:
    fields = dict(
        id=7,
        name=name,
        external_id="ACC-7",
        tier="mid",
        owner_email="ana@seller.example",
        owner_name="Ana",
        owner_slack_user_id="U1",
        annual_value=50_000.0,
        facts=facts(7, name),
        schedule=schedule(),
        signals=[signal()],
        health=health(),
        rfm=Rfm(1, 2, 3, "At risk"),
        last_order_amount=800.0,
        last_touch=LastTouch(
            at=datetime(2026, 6, 1, 12, tzinfo=UTC),
            kind="call",
            by="Ana",
            by_slack_user_id="U1",
            note="Asked about Q3",
            source="command",
        ),
        contacts=[Person("Carla", "Buyer", "carla@x.example")],
        plan=None,
        tactics=picks(),
        as_of=TODAY,
    )
    fields.update(over)
    return AccountStatus(**fields)


def entry(n: int, name: str | None = None, reason: str = "Touch overdue.") -> BookEntry:
    return BookEntry(
        facts(n, name or f"Account {n}"),
        schedule(days_overdue=n % 3),
        [signal(reason, "touch_overdue")],
        health(),
        TODAY,
    )


def assert_within_limits(payload_blocks: list[dict], *, max_blocks: int = 50) -> None:
    """Slack would accept these blocks: every rule of the strict double (block_kit_rules)."""
    if max_blocks == VIEW_BLOCKS:
        verdict = check_view({"type": "home", "blocks": payload_blocks})
    else:
        verdict = check_message({"text": "fallback", "blocks": payload_blocks})
    assert verdict.ok, verdict.errors


def assert_slack_accepts(payload: dict) -> None:
    """A whole message (blocks and fallback text) or view, as Slack would judge it."""
    verdict = check_view(payload) if "type" in payload else check_message(payload)
    assert verdict.ok, verdict.errors
    assert not verdict.warnings, verdict.warnings


def assert_escaped(payload: dict) -> None:
    for text in mrkdwn_texts(payload):
        for raw in ("<!channel>", "<@U123>", "<!here>"):
            assert raw not in text, text
        assert "&amp;lt;" not in text and "&amp;amp;" not in text, text  # escaped once


def home_view(*, entries, board, streak: int = 4) -> dict:
    return home(
        rep_label="Ana",
        summary=BookSummary(len(entries), 0, 0, 0, 0, 0, 0),
        due=entries,
        overdue=entries,
        dormant=entries,
        at_risk=entries,
        streak=streak,
        board=board,
    )
