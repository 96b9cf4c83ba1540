"""One purchase occasion for signals and the re-buy model: a day with a positive row.

The signals (facts) and the model's inputs (fit job, card scoring) both read occasions
through `occasions.purchase_occasions`; raw rows given to `build_inputs` are grouped by the
same rule. Messy rows: a credit on a purchase day (even one larger than the purchase),
zero amounts, several rows a day, a credit on a day of its own, rows at the edges of
the UTC day. An occasion is worth its day's positive rows; credits never lower it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import sqlalchemy as sa

from bot.db import Database
from bot.retention.facts import load_facts
from bot.retention.rebuy_model.fit_job import load_orders
from bot.retention.rebuy_model.inputs import build_inputs
from models import Order
from tests.support import factories as f

CUTOFF = date(2026, 5, 31)

# (day, hour, amount) per account; comments say what the signals make of each day.
MESSY = {
    "Cancelled": [
        ("2026-01-05", 9, 400),  # occasion
        ("2026-02-02", 9, 300),  # sale: an occasion worth 300 ...
        ("2026-02-02", 16, -300),  # ... whatever credit lands the same day
        ("2026-03-02", 10, 0),  # zero row: no occasion
        ("2026-04-06", 11, 250),  # occasion
    ],
    "Several a day": [
        ("2026-01-10", 0, 100),  # three rows, one occasion worth 225
        ("2026-01-10", 12, 50),
        ("2026-01-10", 23, 75),
        ("2026-02-10", 8, 500),  # sale with a same-day credit: worth 500
        ("2026-02-10", 9, -120),
        ("2026-03-15", 9, -80),  # credit on a day of its own: no occasion
        ("2026-05-01", 9, 60),  # occasion
        ("2026-06-03", 9, 999),  # after the cut-off: ignored
    ],
    "Only credits and zeros": [
        ("2026-01-20", 9, -50),
        ("2026-02-20", 9, 0),
        ("2026-03-20", 9, -15),
        ("2026-03-20", 10, 0),
    ],
    # The review's case: a real purchase and a bigger credit for an older order, one day.
    "Credit on the purchase day": [
        ("2026-01-10", 9, 4000),  # occasion
        ("2026-05-01", 9, 5000),  # a real purchase: the last order ...
        ("2026-05-01", 15, -6000),  # ... net negative that day, still a purchase
    ],
}
# The occasions by hand: account -> [(day, value of its positive rows)].
EXPECTED = {
    "Cancelled": [(date(2026, 1, 5), 400.0), (date(2026, 2, 2), 300.0), (date(2026, 4, 6), 250.0)],
    "Several a day": [
        (date(2026, 1, 10), 225.0),
        (date(2026, 2, 10), 500.0),
        (date(2026, 5, 1), 60.0),
    ],
    "Only credits and zeros": [],
    "Credit on the purchase day": [(date(2026, 1, 10), 4000.0), (date(2026, 5, 1), 5000.0)],
}


def _load(db: Database) -> dict[str, int]:
    ids = {}
    with db.transaction() as session:
        for name, rows in MESSY.items():
            account = f.account(session, name)
            ids[name] = account.id
            for n, (day, hour, amount) in enumerate(rows):
                when = datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC)
                session.add(
                    Order(
                        account_id=account.id,
                        ordered_at=when + timedelta(hours=hour, minutes=n),
                        amount=Decimal(str(amount)),
                        order_key=f"{name}-{n}",
                    )
                )
    return ids


def test_signals_and_model_inputs_count_the_same_occasions(db: Database):
    ids = _load(db)
    with db.session() as session:
        facts = load_facts(session=session, as_of=CUTOFF, with_order_days=True)
        from_db = build_inputs(load_orders(session=session, through=CUTOFF), cutoff=CUTOFF)
        raw = session.execute(
            sa.select(Order.account_id, Order.ordered_at, Order.amount).order_by(Order.id)
        ).all()
    from_rows = build_inputs(raw, cutoff=CUTOFF, unit="weeks")

    for name, expected in EXPECTED.items():
        fact = facts[ids[name]]
        days = [day for day, _ in expected]
        # The signals' side.
        assert fact.occasions == len(days), name
        assert fact.order_days == days, name
        assert (fact.last_order_day if days else None) == (days[-1] if days else None)
        # The model's side, from the database and from raw rows: the same occasions.
        for inputs in (from_db, from_rows):
            if not days:
                assert ids[name] not in inputs.accounts, name
                continue
            i = inputs.accounts.index(ids[name])
            assert inputs.x[i] == len(days) - 1, name
            assert inputs.t_x[i] * 7 == (days[-1] - days[0]).days, name
            assert inputs.T[i] * 7 == (CUTOFF - days[0]).days, name
            repeat = [value for _, value in expected[1:]]
            if repeat:
                assert inputs.mean_value[i] == sum(repeat) / len(repeat), name
            else:
                assert np.isnan(inputs.mean_value[i])
    # Both model paths agree account by account.
    assert from_db.accounts == from_rows.accounts
    for column in ("x", "t_x", "T"):
        np.testing.assert_array_equal(getattr(from_db, column), getattr(from_rows, column))
    np.testing.assert_allclose(from_db.mean_value, from_rows.mean_value, equal_nan=True)
