"""The status card: read from the purchase summary, equal to the card recomputed from
every order; its content module loads no database layer."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from bot.db import Database
from bot.retention.status import account_status
from bot.settings import DEFAULT_TIER_CADENCE
from models import Account, Rep, Touch
from tests.support.orders import cdnow_rows, load_orders


def test_the_card_content_loads_no_database_layer() -> None:
    code = (
        "import sys, bot.retention.card; "
        "bad = [m for m in ('sqlalchemy', 'sqlmodel', 'models', 'bot.db') if m in sys.modules]; "
        "sys.exit(str(bad) if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _give_owners_and_touches(db: Database, *, touched_before: datetime) -> None:
    """Two reps own one account in twenty; one account in seven was touched. Untouched
    owned accounts get their first touch planned over their batch (whose facts come
    from the summary too)."""
    with db.transaction() as session:
        reps = []
        for n in (1, 2):
            rep = Rep(email=f"rep{n}@example.com", created_at=datetime(1990, 1, 1, tzinfo=UTC))
            session.add(rep)
            session.flush()
            reps.append(rep.id)
        ids = session.execute(sa.select(Account.id).order_by(Account.id)).scalars().all()
        for parity in (0, 1):
            session.execute(
                sa.update(Account)
                .where(Account.id % 20 == 1, Account.id % 2 == parity)
                .values(owner_id=reps[parity])
            )
        session.execute(
            sa.insert(Touch),
            [
                {
                    "account_id": account_id,
                    "kind": "call",
                    "touched_at": touched_before - timedelta(days=account_id % 90),
                    "source": "command",
                    "created_at": touched_before,
                }
                for account_id in ids
                if account_id % 7 == 0
            ],
        )


def _same_cards(db: Database, as_of: date, *, sample: int, seed: int) -> None:
    """Cards of a sample of accounts (and of owned ones), each read in a session of its
    own as a request does: the first pays for the day's RFM thresholds and caches them,
    the rest read them from the cache (one long session would never see that cache)."""
    now = datetime.combine(as_of, time(12), tzinfo=UTC)
    rng = random.Random(seed)
    with db.session() as session:
        ids = session.execute(sa.select(Account.id).order_by(Account.id)).scalars().all()
    owned = [i for i in ids if i % 20 == 1]
    for account_id in rng.sample(ids, min(sample, len(ids))) + rng.sample(owned, 5):
        cards = []
        for from_summary in (True, False):
            with db.session() as session:
                status = account_status(
                    session=session,
                    account_id=account_id,
                    now=now,
                    as_of=as_of,
                    tier_cadence=DEFAULT_TIER_CADENCE,
                    from_summary=from_summary,
                )
                # The rhythm (off-rhythm, the tactics, the outlook): the summary's median
                # gap equals the one taken from every occasion day.
                cards.append({**status.to_dict(), "gap": status.facts.usual_gap_days})
        assert cards[0] == cards[1], account_id


def test_the_card_from_the_summary_equals_the_full_recomputation_on_cdnow(db: Database) -> None:
    load_orders(db, cdnow_rows(), today=date(1998, 7, 15))
    _give_owners_and_touches(db, touched_before=datetime(1998, 6, 1, tzinfo=UTC))
    # The summary's day, a day after it and one before it (window edges), a replayed past.
    for n, as_of in enumerate(
        (date(1998, 7, 15), date(1998, 6, 30), date(1999, 1, 31), date(1997, 9, 30))
    ):
        _same_cards(db, as_of, sample=40, seed=n)


def test_the_card_from_the_summary_equals_the_full_recomputation_on_synthetic(db) -> None:
    rng = random.Random(21)
    rows = []
    for n in range(400):
        customer = f"S{n:05d}"
        day = date(2023, 1, 1) + timedelta(days=rng.randint(0, 900))
        for _ in range(rng.randint(1, 14)):
            day += timedelta(days=rng.randint(0, 120))
            if day > date(2026, 6, 14):
                break
            at = datetime.combine(day, time(rng.randint(0, 23)), tzinfo=UTC)
            value = Decimal(rng.randint(-3000, 90000)) / 100
            rows.append((customer, at, value))
            if rng.random() < 0.1:  # a credit or a free sample on the same day
                rows.append((customer, at, -value if rng.random() < 0.5 else Decimal(0)))
    load_orders(db, rows, today=date(2026, 6, 15))
    _give_owners_and_touches(db, touched_before=datetime(2026, 6, 1, tzinfo=UTC))
    for n, as_of in enumerate(
        (date(2026, 6, 15), date(2026, 7, 31), date(2026, 2, 28), date(2025, 3, 31))
    ):
        _same_cards(db, as_of, sample=40, seed=n)
