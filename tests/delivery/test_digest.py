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
