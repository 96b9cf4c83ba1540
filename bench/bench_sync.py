"""Sync benchmark: full and incremental pulls from the local CRM doubles through the adapters.

    .venv/bin/python -m bench.bench_sync [--companies 10000] [--deals 50000] [--activities 100000]

Each double (HubSpot via hubspot-api-client, Salesforce via simple-salesforce)
is filled with the issue's data set; the benchmark pulls every kind from an
empty cursor and prints records per second (rows, removals and skipped records
all count: each is a record read from the API), then changes 100 deals /
opportunities and times the incremental pull that takes them. The SQL source
reads the same number of orders from a SQLite file. Only the pull is timed,
not the data generation; writing to Rebuy's database is the importer's part.
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

from bot.crm.base import KINDS, Cursor, Source
from bot.crm.hubspot import HubSpotSettings, HubSpotSource
from bot.crm.salesforce import SalesforceSettings, SalesforceSource
from bot.crm.sql import SqlQuery, SqlSource
from tests.doubles.hubspot_double import HubSpotDouble
from tests.doubles.salesforce_double import SalesforceDouble


def _full(source: Source, kinds: tuple[str, ...]) -> tuple[dict[str, Cursor | None], int, float]:
    cursors: dict[str, Cursor | None] = {}
    records = 0
    start = time.perf_counter()
    for kind in kinds:
        cursors[kind] = None
        for batch in source.pull(kind):
            records += len(batch)
            cursors[kind] = batch.cursor
    return cursors, records, time.perf_counter() - start


def _report(name: str, records: int, seconds: float) -> None:
    print(f"{name:<28} {records:>9,} records in {seconds:7.2f} s = {records / seconds:>9,.0f}/s")


def _incremental(
    name: str, source: Source, kind: str, cursor: Cursor | None, change: Callable[[], None]
) -> None:
    change()
    start = time.perf_counter()
    taken = sum(len(b) for b in source.pull(kind, cursor))
    print(f"{name:<28} {taken:>9,} changes taken in {time.perf_counter() - start:7.3f} s")


def bench_hubspot(companies: int, deals: int, activities: int) -> None:
    with HubSpotDouble() as double:
        start = time.perf_counter()
        double.generate(companies=companies, contacts=companies, deals=deals, activities=activities)
        print(f"HubSpot double filled in {time.perf_counter() - start:.1f} s")
        source = HubSpotSource(
            HubSpotSettings(access_token=double.token, host=double.url, page_size=200)
        )
        cursors, records, seconds = _full(source, KINDS)
        _report("HubSpot full pull", records, seconds)
        changed = [r.id for r in double.live("deals")[:100]]

        def change() -> None:
            for deal in changed:
                double.update("deals", deal, amount="99.00")

        _incremental("HubSpot incremental (100)", source, "orders", cursors["orders"], change)


def bench_salesforce(companies: int, deals: int, activities: int) -> None:
    with SalesforceDouble() as double:
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
        cursors, records, seconds = _full(source, KINDS)
        _report("Salesforce full pull", records, seconds)
        changed = list(double.objects["Opportunity"])[:100]

        def change() -> None:
            for opportunity in changed:
                double.update("Opportunity", opportunity, Amount=99.0)

        _incremental("Salesforce incremental (100)", source, "orders", cursors["orders"], change)


def bench_sql(orders: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = sa.create_engine(f"sqlite:///{Path(folder) / 'erp.db'}")
        table = sa.Table(
            "orders",
            sa.MetaData(),
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("customer", sa.String),
            sa.Column("placed", sa.DateTime),
            sa.Column("total", sa.Numeric(12, 2)),
            sa.Column("changed", sa.DateTime),
        )
        table.create(engine)
        base = datetime(2026, 1, 1)
        with engine.begin() as connection:
            connection.execute(
                table.insert(),
                [
                    {
                        "id": i,
                        "customer": f"C{i % 5000}",
                        "placed": base - timedelta(hours=i),
                        "total": Decimal(i % 900) + Decimal("0.5"),
                        "changed": base + timedelta(seconds=i),
                    }
                    for i in range(orders)
                ],
            )
        query = SqlQuery(
            "SELECT id, customer, placed, total, changed FROM orders",
            columns={
                "order_id": "id",
                "account_external_id": "customer",
                "ordered_at": "placed",
                "amount": "total",
            },
            modified_column="changed",
            id_column="id",
        )
        source = SqlSource(engine, {"orders": query})
        cursors, records, seconds = _full(source, ("orders",))
        _report("SQL (SQLite) full pull", records, seconds)

        def change() -> None:
            with engine.begin() as connection:
                connection.execute(
                    sa.text("UPDATE orders SET total = 1, changed = :t WHERE id < 100"),
                    {"t": base + timedelta(days=30)},
                )

        _incremental("SQL incremental (100)", source, "orders", cursors["orders"], change)
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--deals", type=int, default=50_000)
    parser.add_argument("--activities", type=int, default=100_000)
    args = parser.parse_args()
    print(
        f"{datetime.now(UTC):%Y-%m-%d}: {args.companies:,} companies, {args.deals:,} deals, "
        f"{args.activities:,} activities"
    )
    bench_hubspot(args.companies, args.deals, args.activities)
    bench_salesforce(args.companies, args.deals, args.activities)
    bench_sql(args.deals)


if __name__ == "__main__":
    main()
