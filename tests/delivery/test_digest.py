"""The weekly digest's numbers, checked by hand on small data."""

from __future__ import annotations

from datetime import date

from bot.db import Database
from bot.retention.digest import weekly_digest
from tests.support import factories as f
from tests.support.factories import NOW

CADENCE = {"key": 14, "mid": 30, "small": 60}


def test_coverage_counts_touches_within_cadence_only(db: Database) -> None:
    with db.transaction() as session:
        rep = f.rep(session, email="ana@example.com", slack_user_id="UANA")
        touched = f.account(session, owner_id=rep.id)  # touched 5 days ago: covered
        f.touch(session, touched, "2026-06-10", rep_id=rep.id)
        stale = f.account(session, owner_id=rep.id)  # touched 45 days ago: not covered
        f.touch(session, stale, "2026-05-01", rep_id=rep.id)
        snoozed = f.account(session, owner_id=rep.id)  # only snoozed: not covered
        f.snooze(session, snoozed, "2026-07-01")
        bought = f.account(session, owner_id=rep.id)  # ordered recently, never touched
        f.order(session, bought, "2026-06-01")
    with db.session() as session:
        digest = weekly_digest(
            session=session, now=NOW, as_of=date(2026, 6, 15), tier_cadence=CADENCE
        )
    (ana,) = digest.reps
    assert (ana.accounts, ana.covered) == (4, 1)
    assert ana.touches == 1  # touches in the last 7 days


def test_team_coverage_counts_accounts_with_no_active_owner(db: Database) -> None:
    """Un-assigning an account, or a rep leaving Slack, must not raise the team's coverage:
    their accounts stay in the team's numbers, said apart."""
    from bot.messages.digest import weekly_digest as digest_message
    from tests.support.slack_app import all_text

    with db.transaction() as session:
        ana = f.rep(session, email="ana@example.com", slack_user_id="UANA")
        gone = f.rep(session, email="gone@example.com", slack_user_id="UGONE", active=False)
        touched = f.account(session, owner_id=ana.id)
        f.touch(session, touched, "2026-06-10", rep_id=ana.id)
        for _ in range(2):
            f.account(session, owner_id=gone.id)  # their owner left: never touched
        f.account(session)  # imported without an owner
    with db.session() as session:
        digest = weekly_digest(
            session=session, now=NOW, as_of=date(2026, 6, 15), tier_cadence=CADENCE
        )
    assert (digest.accounts, digest.covered, digest.ownerless) == (4, 1, 3)
    text = all_text(digest_message(digest))
    assert "Team coverage 25%" in text
    assert "1 of 4 accounts touched within cadence" in text
    assert "3 accounts with no active owner: 0 touched within cadence" in text


def test_empty_workspace_is_not_fully_covered(db: Database) -> None:
    from bot.messages.digest import weekly_digest as digest_message
    from tests.support.slack_app import all_text

    with db.session() as session:
        digest = weekly_digest(
            session=session, now=NOW, as_of=date(2026, 6, 15), tier_cadence=CADENCE
        )
    message = digest_message(digest)
    assert "100%" not in all_text(message) and "100%" not in message["text"]
    assert "No accounts yet" in all_text(message)


def test_shout_outs_only_for_a_re_purchase_after_the_owners_touch(db: Database) -> None:
    """A shout-out is public praise: the owner touched the account, then it bought again.
    Not a credit note or a zero row, not after a colleague's touch."""
    from bot.messages.digest import weekly_digest as digest_message
    from tests.support.slack_app import all_text

    with db.transaction() as session:
        ana = f.rep(session, email="ana@example.com", slack_user_id="UANA")
        ben = f.rep(session, email="ben@example.com", slack_user_id="UBEN")
        # Ana's touch, then this week's row: a purchase, a credit note, a free sample.
        for name, earlier, this_week in (
            ("Won Back", 800, 1200),
            ("Credit Only", 1000, -500),
            ("Zero Row", 1000, 0),
        ):
            acct = f.account(session, name, owner_id=ana.id)
            f.order(session, acct, "2026-01-10", earlier)
            f.touch(session, acct, "2026-06-01", rep_id=ana.id)
            f.order(session, acct, "2026-06-11", this_week)
        colleague = f.account(session, "By Ben", owner_id=ana.id)
        f.order(session, colleague, "2026-01-10", 1000)
        f.touch(session, colleague, "2026-06-05", rep_id=ben.id)
        f.order(session, colleague, "2026-06-12", 1000)
    with db.session() as session:
        digest = weekly_digest(
            session=session, now=NOW, as_of=date(2026, 6, 15), tier_cadence=CADENCE
        )
    (shout_out,) = digest.shout_outs
    assert (shout_out.email, shout_out.accounts, shout_out.amount) == (
        "ana@example.com",
        ["Won Back"],
        1200.0,
    )
    assert "Won Back re-bought ($1,200)" in all_text(digest_message(digest))


def test_newly_at_risk_without_an_owner_says_so(db: Database) -> None:
    from bot.messages.digest import weekly_digest as digest_message
    from bot.retention.results import AtRiskAccount, WeeklyDigest
    from tests.support.slack_app import all_text

    digest = WeeklyDigest(
        week_start=date(2026, 6, 15),
        as_of=date(2026, 6, 15),
        reps=[],
        newly_at_risk=[AtRiskAccount("Orphan Co", None, None, 40, 60, "No order in 6 months.")],
        shout_outs=[],
        ownerless=1,
    )
    text = all_text(digest_message(digest))
    assert "no active owner" in text and "someone" not in text
