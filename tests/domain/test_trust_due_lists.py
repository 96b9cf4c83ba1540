"""The due lists, book lists and Home sections wired to the trust rules: one urgency
order, purchase occasions (credits never reset the schedule), tactics whose premise
holds, stable advice all day, each fact once in a reminder."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.db import Database
from bot.retention import book as books
from bot.retention.due import due_by_rep
from bot.retention.tactics import PREMISES, TacticContext, record_exposure, tactic_bank
from models import TacticExposure
from tests.support import factories as f
from tests.support.factories import NOW

TIERS = {"key": 14, "mid": 30, "small": 60}
AS_OF = NOW.date()


def _due(session, **kwargs):
    return due_by_rep(session=session, as_of=AS_OF, now=NOW, tier_cadence=TIERS, limit=10, **kwargs)


def test_an_at_risk_account_long_overdue_comes_before_a_healthy_one_slightly_overdue(
    db: Database,
) -> None:
    with db.transaction() as session:
        ana = f.rep(session, "ana@x.example")
        healthy = f.account(session, "Healthy Co", owner_id=ana.id, annual_value=40_000)
        for day in ("2026-01-10", "2026-03-01", "2026-05-20"):
            f.order(session, healthy, day, 10_000)
        f.contact(session, healthy)
        f.contact(session, healthy)
        f.plan(session, healthy)
        f.touch(session, healthy, AS_OF - timedelta(days=45))  # 15 days overdue
        lost = f.account(session, "Lost Co", owner_id=ana.id, annual_value=30_000)
        f.order(session, lost, "2025-02-17", 30_000)
        f.touch(session, lost, "2025-03-19")  # 423 days overdue
        due = _due(session)[ana.id]
    # The old order (value x lateness) put the $40k healthy account first.
    assert [item.name for item in due] == ["Lost Co", "Healthy Co"]
    assert due[0].urgency_key < due[1].urgency_key


def test_a_later_credit_note_does_not_hide_a_due_account(db: Database) -> None:
    with db.transaction() as session:
        ana = f.rep(session, "ana@x.example")
        acct = f.account(session, "Credit Co", owner_id=ana.id)
        f.order(session, acct, "2026-03-01", 4_800)  # last purchase: 106 days ago
        f.order(session, acct, AS_OF - timedelta(days=5), -4_800)  # a refund last week
        f.order(session, acct, AS_OF - timedelta(days=3), 0)  # a free sample
        due = _due(session)
    assert [item.name for item in due[ana.id]] == ["Credit Co"]
    # Never touched: due by the first-touch plan, never called overdue (issue 12).
    schedule = due[ana.id][0].schedule
    assert not schedule.touched and schedule.days_overdue == 0


def test_each_due_tactic_has_a_true_premise_and_its_own_why(db: Database) -> None:
    with db.transaction() as session:
        ana = f.rep(session, "ana@x.example")
        accounts = []
        for n, (orders, contacts) in enumerate([(0, 0), (1, 1), (4, 2), (6, 0)]):
            acct = f.account(session, f"Premise {n}", owner_id=ana.id, annual_value=10_000)
            for k in range(orders):
                f.order(session, acct, f"2025-0{k + 1}-15", 2_000)
            for _ in range(contacts):
                f.contact(session, acct)
            f.touch(session, acct, "2026-04-01")  # all due: 45 days since the last touch
            accounts.append(acct)
        due = _due(session)[ana.id]
    bank = tactic_bank()
    assert len(due) == 4
    for item in due:
        assert item.tactic is not None
        context = TacticContext.of(item.facts, as_of=AS_OF)
        tactic = bank[item.tactic.id]
        for premise in tactic.requires:
            if premise != "big_account":  # needs the workspace's M score
                assert PREMISES[premise][1](context), (item.name, tactic.id, premise)
        assert item.tactic.why and "{" not in item.tactic.why


def test_the_reminder_tactic_stays_put_all_day_and_rotates_after_a_touch(db: Database) -> None:
    with db.transaction() as session:
        ana = f.rep(session, "ana@x.example")
        acct = f.account(session, "Steady Co", owner_id=ana.id, annual_value=10_000)
        f.order(session, acct, "2025-06-01", 5_000)
        first = _due(session)[ana.id][0].tactic
        # Shown this morning (as the reminder and the card record it).
        record_exposure(
            session=session,
            account_id=acct.id,
            tactic_ids=[first.id],
            now=NOW - timedelta(hours=3),
            surface="reminder",
        )
        again = [_due(session)[ana.id][0].tactic.id for _ in range(3)]
        assert again == [first.id] * 3
        # Tomorrow, or once a touch comes after it, it rotates.
        tomorrow = due_by_rep(
            session=session,
            as_of=AS_OF + timedelta(days=1),
            now=NOW + timedelta(days=1),
            tier_cadence=TIERS,
            limit=10,
        )[ana.id][0].tactic
        assert tomorrow.id != first.id
        f.touch(session, acct, AS_OF)  # 12:00, after the 11:00 exposure
        session.flush()
        assert session.exec(select(TacticExposure)).all()
    with db.session() as session:
        items = due_by_rep(
            session=session,
            as_of=AS_OF + timedelta(days=60),
            now=NOW + timedelta(days=60),
            tier_cadence=TIERS,
            limit=10,
        )
        # 60 days on the exposure has left the rotation window: only the touch matters.
        assert items[ana.id][0].tactic is not None


def test_a_reminder_says_each_fact_once(db: Database) -> None:
    with db.transaction() as session:
        ana = f.rep(session, "ana@x.example")
        acct = f.account(session, "Quiet Co", owner_id=ana.id, annual_value=30_000)
        for day in ("2024-01-10", "2024-03-01", "2024-05-01", "2025-02-17"):
            f.order(session, acct, day, 5_000)
        f.touch(session, acct, "2025-03-19")
        item = _due(session)[ana.id][0]
    names = {signal.name for signal in item.signals}
    assert {"touch_overdue", "dormant_12m"} <= names
    why = " ".join(item.why)
    assert "overdue" not in why.lower()  # the reminder's header says it
    assert "rhythm" not in why.lower()  # dormancy already says it
    assert why.lower().count("12 months") == 1


def test_home_sections_list_each_account_once_under_its_most_urgent_heading(
    db: Database,
) -> None:
    with db.transaction() as session:
        ana = f.rep(session, "ana@x.example")
        lost = f.account(session, "Lost Co", owner_id=ana.id)
        f.order(session, lost, "2025-02-17", 30_000)
        f.touch(session, lost, "2025-03-19")  # overdue, dormant and at risk
        quiet = f.account(session, "Quiet Co", owner_id=ana.id)
        f.order(session, quiet, "2025-10-01", 3_000)
        f.contact(session, quiet)
        f.contact(session, quiet)
        f.plan(session, quiet)
        f.touch(session, quiet, AS_OF - timedelta(days=3))  # dormant only
        late = f.account(session, "Late Co", owner_id=ana.id)
        f.order(session, late, AS_OF - timedelta(days=20), 3_000)
        f.contact(session, late)
        f.contact(session, late)
        f.plan(session, late)
        f.touch(session, late, AS_OF - timedelta(days=40))  # 10 days overdue
        entries = books.book_entries(
            session=session, owner_id=ana.id, as_of=AS_OF, tier_cadence=TIERS
        )
    sections = books.home_sections(entries)
    placed = {h: [e.facts.name for e in items] for h, items in sections.items()}
    assert placed == {
        "at-risk": ["Lost Co"],
        "dormant": ["Quiet Co"],
        "overdue": ["Late Co"],
        "due": [],
    }
    # The filtered lists still show every match, most urgent first.
    assert [e.facts.name for e in books.filtered(entries, "overdue")] == ["Lost Co", "Late Co"]
