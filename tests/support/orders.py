"""Orders loaded straight into a test database (no importer), and the CDNOW rows: for
tests that compare the summary-backed answers with a recomputation."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa

from bot.db import Database
from bot.retention.importer.bulk import refresh_statistics
from bot.retention.summary import refresh_summary
from models import Account, Order
from tests.support.paths import CDNOW_MASTER as CDNOW


def load_orders(db: Database, rows: list[tuple[str, datetime, Decimal]], *, today: date) -> None:
    customers = sorted({row[0] for row in rows})
    stamp = datetime(1990, 1, 1, tzinfo=UTC)
    with db.transaction() as session:
        session.execute(
            sa.insert(Account),
            [
                {
                    "external_id": c,
                    "name": f"Customer {c}",
                    "name_key": f"customer {c}",
                    "tier": "small",
                    "created_at": stamp,
                    "updated_at": stamp,
                }
                for c in customers
            ],
        )
        ids = dict(session.execute(sa.select(Account.external_id, Account.id)).all())
        session.execute(
            sa.insert(Order),
            [
                {"account_id": ids[c], "ordered_at": at, "amount": value, "order_key": f"{c}-{n}"}
                for n, (c, at, value) in enumerate(rows)
            ],
        )
        refresh_summary(session.connection(), None, today=today)
    with db.engine.begin() as connection:  # as a large import does
        refresh_statistics(connection, "order", "account", "account_summary")


def cdnow_rows() -> list[tuple[str, datetime, Decimal]]:
    rows = []
    with gzip.open(CDNOW, "rt") as handle:
        next(handle)
        for line in handle:
            customer, day, _cds, value = line.split()
            at = datetime(int(day[:4]), int(day[4:6]), int(day[6:]), tzinfo=UTC)
            rows.append((customer, at, Decimal(value)))
    return rows
