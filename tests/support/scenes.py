"""Scenes on the served Slack app shared by the App Home and modal tests: Ana's book,
a stored reminder DM, and the Home view read by part."""

from __future__ import annotations

import json

from slack_sdk import WebClient

from tests.support import factories as f
from tests.support.slack_app import TOKEN, SlackApp

ANA = "U123"
BEN = "UBEN"
TODAY = f.NOW.date()


def post_reminder(slack_app: SlackApp, ids: dict[str, int]) -> tuple[str, str]:
    """A reminder DM about Acme Corp, as the daily run would have posted and stored it."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Acme Corp* · due today"}}]
    client = WebClient(token=TOKEN, base_url=slack_app.double.api_url)
    posted = client.chat_postMessage(channel=f"D{ANA}", text="Acme Corp: due", blocks=blocks)
    with slack_app.db.transaction() as session:
        f.sent_reminder(
            session,
            ids["ana"],
            ids["acme"],
            channel=posted["channel"],
            ts=posted["ts"],
            text="Acme Corp: due",
            blocks_json=json.dumps(blocks),
            posted_at=f.NOW,
        )
    slack_app.double.reset()
    return posted["channel"], posted["ts"]


def seed(slack_app: SlackApp) -> dict[str, int]:
    """Ana's book: one account due today, one overdue, one dormant, one at risk, one fine.
    She touched something on each of the last three working days; Ben once."""
    slack_app.double.add_user(ANA, email="ana@seller.example", real_name="Ana Lima")
    with slack_app.db.transaction() as session:
        ana = f.rep(session, "ana@seller.example", name="Ana Lima")  # linked on first open
        ben = f.rep(session, "ben@seller.example", name="Ben Ode", slack_user_id=BEN)
        due = f.account(session, "Due Today GmbH", owner_id=ana.id, cadence_days=30)
        f.order(session, due, "2026-05-20")
        f.touch(session, due, "2026-05-16", rep_id=ana.id)  # + 30 days = 15 Jun
        overdue = f.account(session, "Overdue Oy", owner_id=ana.id, cadence_days=30)
        f.order(session, overdue, "2026-05-20")
        f.touch(session, overdue, "2026-05-01", rep_id=ana.id)
        dormant = f.account(session, "Dormant AB", owner_id=ana.id)
        f.order(session, dormant, "2025-10-01")
        f.touch(session, dormant, "2026-06-11", rep_id=ana.id)
        risky = f.account(session, "Risky Inc", owner_id=ana.id)
        f.order(session, risky, "2024-01-01")
        f.touch(session, risky, "2026-06-12", rep_id=ana.id)
        fine = f.account(session, "Fine Ltd", owner_id=ana.id)
        f.order(session, fine, "2026-06-01")
        f.contact(session, fine, "A")
        f.contact(session, fine, "B")
        f.touch(session, fine, "2026-06-15", rep_id=ana.id)
        f.touch(session, f.account(session, "Ben Co", owner_id=ben.id), "2026-06-12", rep_id=ben.id)
        return {"due": due.id, "overdue": overdue.id, "risky": risky.id, "ana": ana.id}


def sections(view: dict) -> dict[str, list[str]]:
    """Home view text grouped under the part titles (Due today, Overdue, ...)."""
    parts: dict[str, list[str]] = {}
    current = "top"
    for block in view["blocks"]:
        text = (block.get("text") or {}).get("text", "")
        for title in ("Due today", "Overdue", "Dormant", "At risk", "Team leaderboard"):
            if text.startswith(f"*{title}*"):
                current = title
        if text:
            parts.setdefault(current, []).append(text)
    return parts
