"""Sync benchmark: full and incremental syncs from the local CRM doubles into Rebuy's database.

    .venv/bin/python -m bench.bench_sync [--companies 10000] [--deals 50000]
        [--activities 100000] [--database-url postgresql://127.0.0.1/bench]

Each double (HubSpot via hubspot-api-client, Salesforce via simple-salesforce)
is filled with the issue's data set; the benchmark runs `run_sync` from an empty
database (pull, the importer's planners, the bulk write, cursors and the run row:
everything `rebuy sync` does) and prints records per second (rows, removals and
skipped records all count: each is a record read from the API), then changes 100
deals / opportunities and times the incremental sync that takes them. The SQL
source reads the same number of orders (and their customers) from a SQLite file.
The database is a fresh SQLite file unless --database-url names an empty one.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from bot.crm.base import Source
from bot.crm.hubspot import HubSpotSettings, HubSpotSource
from bot.crm.salesforce import SalesforceSettings, SalesforceSource
from bot.crm.sql import SqlQuery, SqlSource
from bot.crm.sync import SyncResult, run_sync
from bot.db import Database
from tests.doubles.hubspot_double import HubSpotDouble
from tests.doubles.salesforce_double import SalesforceDouble

TIERS = ("key", "mid", "small")
NOW = datetime(2026, 6, 15, tzinfo=UTC)


def _database(url: str | None, folder: str, name: str) -> Database:
    db = Database(url or f"sqlite:///{Path(folder) / (name + '.db')}")
    db.upgrade()
    return db


def _sync(db: Database, source: Source) -> SyncResult:
    result = run_sync(db=db, source=source, clock=lambda: NOW, tiers=TIERS)
    assert result.status in ("ok", "partial"), result.errors[:3]
    return result


def _report(name: str, result: SyncResult) -> None:
    rate = result.records / result.duration_s
    print(
        f"{name:<30} {result.records:>9,} records in {result.duration_s:7.2f} s = "
        f"{rate:>7,.0f}/s ({result.created:,} rows new)"
    )


def _incremental(name: str, db: Database, source: Source, change: Callable[[], None]) -> None:
    change()
    result = _sync(db, source)
    print(
        f"{name:<30} {result.records:>9,} changes in {result.duration_s:7.3f} s "
        f"({result.updated:,} updated, {result.removed:,} removed)"
    )


def bench_hubspot(companies: int, deals: int, activities: int, url: str | None) -> None:
    with HubSpotDouble() as double, tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        double.generate(companies=companies, contacts=companies, deals=deals, activities=activities)
        print(f"HubSpot double filled in {time.perf_counter() - start:.1f} s")
        source = HubSpotSource(
            HubSpotSettings(access_token=double.token, host=double.url, page_size=200)
        )
        db = _database(url, folder, "hubspot")
        _report("HubSpot full sync", _sync(db, source))
        changed = [r.id for r in double.live("deals")[:100]]

        def change() -> None:
            for deal in changed:
                double.update("deals", deal, amount="99.00")

        _incremental("HubSpot incremental (100)", db, source, change)
        db.dispose()


def bench_salesforce(companies: int, deals: int, activities: int, url: str | None) -> None:
    with SalesforceDouble() as double, tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        double.generate(
            accounts=companies, contacts=companies, opportunities=deals, activities=activities
        )
        print(f"Salesforce double filled in {time.perf_counter() - start:.1f} s")
        source = SalesforceSource(
            SalesforceSettings(
                instance_url=double.url,
                session_id=double.session_id,
                session=double.session(),
                page_size=2000,
            )
        )
        db = _database(url, folder, "salesforce")
        _report("Salesforce full sync", _sync(db, source))
        changed = list(double.objects["Opportunity"])[:100]

        def change() -> None:
            for opportunity in changed:
                double.update("Opportunity", opportunity, Amount=99.0)

        _incremental("Salesforce incremental (100)", db, source, change)
        db.dispose()


def bench_sql(companies: int, orders: int, url: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = sa.create_engine(f"sqlite:///{Path(folder) / 'erp.db'}")
        meta = sa.MetaData()
        customers = sa.Table(
            "customers",
            meta,
            sa.Column("no", sa.String, primary_key=True),
            sa.Column("name", sa.String),
            sa.Column("changed", sa.DateTime),
        )
        table = sa.Table(
            "orders",
            meta,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("customer", sa.String),
            sa.Column("placed", sa.DateTime),
            sa.Column("total", sa.Numeric(12, 2)),
            sa.Column("changed", sa.DateTime),
        )
        meta.create_all(engine)
        base = datetime(2026, 1, 1)
        with engine.begin() as connection:
            connection.execute(
                customers.insert(),
                [
                    {"no": f"C{i}", "name": f"Customer {i}", "changed": base}
                    for i in range(companies)
                ],
            )
            connection.execute(
                table.insert(),
                [
                    {
                        "id": i,
                        "customer": f"C{i % companies}",
                        "placed": base - timedelta(hours=i % 8000),
                        "total": Decimal(i % 900) + Decimal("0.5"),
                        "changed": base + timedelta(seconds=i),
                    }
                    for i in range(orders)
                ],
            )
        queries = {
            "accounts": SqlQuery(
                "SELECT no, name, changed FROM customers",
                columns={"external_id": "no"},
                modified_column="changed",
                id_column="no",
            ),
            "orders": SqlQuery(
                "SELECT id, customer, placed, total, changed FROM orders",
                columns={
                    "order_id": "id",
                    "account_external_id": "customer",
                    "ordered_at": "placed",
                    "amount": "total",
                },
                modified_column="changed",
                id_column="id",
            ),
        }
        source = SqlSource(engine, queries)
        db = _database(url, folder, "sql")
        _report("SQL (SQLite) full sync", _sync(db, source))

        def change() -> None:
            with engine.begin() as connection:
                connection.execute(
                    sa.text("UPDATE orders SET total = 1, changed = :t WHERE id < 100"),
                    {"t": base + timedelta(days=30)},
                )

        _incremental("SQL incremental (100)", db, source, change)
        db.dispose()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--deals", type=int, default=50_000)
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="an empty database (default SQLite)")
    parser.add_argument("--only", choices=("hubspot", "salesforce", "sql"), default=None)
    args = parser.parse_args()
    print(
        f"{datetime.now(UTC):%Y-%m-%d}: {args.companies:,} companies, {args.deals:,} deals, "
        f"{args.activities:,} activities into {args.database_url or 'SQLite'}"
    )
    if args.only in (None, "hubspot"):
        bench_hubspot(args.companies, args.deals, args.activities, args.database_url)
    if args.only in (None, "salesforce"):
        bench_salesforce(args.companies, args.deals, args.activities, args.database_url)
    if args.only in (None, "sql"):
        bench_sql(args.companies, args.deals, args.database_url)


if __name__ == "__main__":
    main()
