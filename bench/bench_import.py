"""Import benchmark: synthetic CRM exports, imported into a fresh SQLite database.

    .venv/bin/python -m bench.bench_import [--accounts 100000] [--orders 1000000]

    .venv/bin/python -m bench.bench_import --dir /tmp/rebuy-bench --rounds 3 \
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres [--again]
    .venv/bin/python -m bench.bench_import --dir /tmp/rebuy-bench --errors-case

Each orders import runs in a new process (accounts imported first, not timed) that
reports rows/s (wall and CPU) and its peak RSS: the plain file, then the same orders
as a CRM writes them (Salesforce opportunity headers, a Stage column, semicolons, US
dates and "$1,234.50" amounts, read with --from salesforce and --date-format), on
SQLite and, with --postgres, on a new PostgreSQL database; rounds are interleaved
and the mapped/plain ratio is the median of the rounds. Targets: ≥ 250,000 orders/s,
peak < 500 MB, the mapped path within 20 % of the plain one. --errors-case runs
`rebuy import orders` on the file with every amount wrong and counts what it prints.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from bot.db import Database
from bot.retention.importer import ImportOptions, import_csv

NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
TIERS = ("key", "mid", "small")

_FIRST = [
    "Acme",
    "Nordic",
    "Blue",
    "Granite",
    "Harbor",
    "Summit",
    "Pioneer",
    "Keystone",
    "Riverside",
    "Evergreen",
    "Atlas",
    "Beacon",
    "Cedar",
    "Delta",
    "Falcon",
    "Golden",
    "Horizon",
    "Iron",
    "Juniper",
    "Lakeside",
    "Maple",
    "Northwind",
    "Oak",
    "Pacific",
    "Quarry",
    "Redwood",
    "Silver",
    "Timber",
    "United",
    "Valley",
    "Westfield",
    "Zenith",
    "Café",
    "Müller",
]
_SECOND = [
    "Supply",
    "Logistics",
    "Hardware",
    "Foods",
    "Plastics",
    "Packaging",
    "Tools",
    "Electric",
    "Dental",
    "Print",
    "Office",
    "Chemicals",
    "Textiles",
    "Farms",
    "Motors",
    "Labs",
    "Builders",
    "Marine",
    "Optics",
    "Paper",
]
_SUFFIX = ("Ltd", "GmbH", "Inc.", "& Co.", "AB", "Oy", "LLC", "S.A.", "")
_PRODUCTS = (
    "Fasteners",
    "Adhesives",
    "Safety gloves",
    "Cutting discs",
    "Pallet wrap",
    "Cable ties",
    "Lubricants",
    "Hand tools",
    "Power tools",
    "Workwear",
    "Cleaning supplies",
    "Labels",
    "Shelving",
    "Hoses, fittings & valves",
    "Bearings",
)


def account_id(number: int) -> str:
    return f"ACC-{number:07d}"


def make_accounts_csv(path: Path, accounts: int = 100_000, reps: int = 60, seed: int = 1) -> Path:
    """A CRM accounts export: every optional column present, some cells empty."""
    rng = random.Random(seed)
    owners = [f"rep{n:03d}@seller.example" for n in range(1, reps + 1)]
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["external_id", "name", "owner_email", "tier", "annual_value", "cadence_days"]
        )
        for number in range(1, accounts + 1):
            name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(_SUFFIX)}".strip()
            tier = rng.choices(TIERS, weights=(5, 35, 60))[0]
            value = f"{rng.lognormvariate(10, 1):.2f}" if rng.random() < 0.8 else ""
            cadence = str(rng.choice((7, 21, 45, 90))) if rng.random() < 0.1 else ""
            owner = rng.choice(owners) if rng.random() < 0.97 else ""
            writer.writerow([account_id(number), f"{name} {number}", owner, tier, value, cadence])
    return Path(path)


def make_orders_csv(
    path: Path,
    accounts: int = 100_000,
    orders: int = 1_000_000,
    seed: int = 1,
    without_order_id: float = 0.1,
    days: int = 3 * 365,
) -> Path:
    """A CRM orders export over `days` days, sorted by date as CRMs export it.

    A few accounts buy a lot and most buy a little; a share of rows has no order
    id (and so is matched on content); some timestamps carry a time and offset.
    """
    rng = random.Random(seed)
    start = NOW.date() - timedelta(days=days)
    # Pareto weights: the top fifth of accounts place most orders.
    weights = [rng.paretovariate(1.2) for _ in range(accounts)]
    buyers = rng.choices(range(1, accounts + 1), weights=weights, k=orders)
    offsets = sorted(rng.randrange(days) for _ in range(orders))
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["account_external_id", "ordered_at", "amount", "order_id", "product"])
        for number, (buyer, offset) in enumerate(zip(buyers, offsets, strict=True), start=1):
            day = start + timedelta(days=offset)
            if rng.random() < 0.05:
                when = f"{day.isoformat()}T{rng.randrange(7, 19):02d}:{rng.randrange(60):02d}:00Z"
            elif rng.random() < 0.02:
                when = f"{day.isoformat()}T10:30:00+02:00"
            else:
                when = day.isoformat()
            amount = f"{rng.lognormvariate(7, 1.1):.2f}"
            if rng.random() < 0.01:
                amount = f"-{amount}"  # a refund
            order_id = "" if rng.random() < without_order_id else f"SO-{number:08d}"
            writer.writerow([account_id(buyer), when, amount, order_id, rng.choice(_PRODUCTS)])
    return Path(path)


def crm_style_copy(source: Path, path: Path) -> Path:
    """The orders file as a Salesforce opportunities report in a European Excel would
    save it: other headers, a stage, semicolons, US dates, dollar amounts."""
    with (
        source.open(encoding="utf-8", newline="") as inp,
        path.open("w", encoding="utf-8", newline="") as out,
    ):
        reader, writer = csv.reader(inp), csv.writer(out, delimiter=";")
        next(reader)
        writer.writerow(["Account ID", "Close Date", "Amount", "Opportunity ID", "Stage"])
        for account, when, amount, order_id, _product in reader:
            day = datetime.fromisoformat(when).date()
            value = float(amount)
            money = f"${abs(value):,.2f}" if value >= 0 else f"(${abs(value):,.2f})"
            writer.writerow([account, f"{day:%m/%d/%Y}", money, order_id, "Closed Won"])
    return path


def _fresh_database(
    url: str | None, folder: Path, name: str
) -> tuple[Database, Callable[[], None]]:
    """A new SQLite file in `folder`, or a new database on the PostgreSQL server at `url`."""
    if url is None:
        database = Database(f"sqlite:///{folder / (name + '.db')}")
        return database, database.dispose
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    db_name = f"rebuy_bench_{name}_{os.getpid()}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db_name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{db_name}"')
    database = Database(make_url(url).set(database=db_name).render_as_string(hide_password=False))

    def drop() -> None:
        database.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db_name}"')
        admin.dispose()

    return database, drop


def child(args: argparse.Namespace) -> None:
    """One orders import in this process (accounts first); prints one JSON line."""
    folder = Path(args.dir)
    database, done = _fresh_database(args.postgres, folder, "mapped" if args.mapped else "plain")
    try:
        database.upgrade()
        with database.transaction() as session:
            import_csv(
                session=session, kind="accounts", path=folder / "accounts.csv", now=NOW, tiers=TIERS
            )
        options = None
        path = folder / "orders.csv"
        if args.mapped:
            options = ImportOptions(vendor="salesforce", date_format="MM/DD/YYYY")
            path = folder / "opportunities.csv"
        runs = []
        for label in ("first", "again"):
            wall, cpu = time.perf_counter(), time.process_time()
            with database.transaction() as session:
                result = import_csv(
                    session=session, kind="orders", path=path, now=NOW, tiers=TIERS, options=options
                )
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            runs.append({"run": label, "rows": result.rows, "wall": wall, "cpu": cpu})
            if not args.again:
                break
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"runs": runs, "peak_mb": peak, "summary": result.summary()}))
    finally:
        done()


def _run_child(args: argparse.Namespace, *, mapped: bool, postgres: str | None) -> dict:
    command = [sys.executable, "-m", "bench.bench_import", "--child", "--dir", args.dir]
    command += ["--mapped"] * mapped + ["--again"] * args.again
    command += ["--postgres", postgres] if postgres else []
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_measured(
    command: list[str], env: dict[str, str]
) -> tuple[subprocess.CompletedProcess, float]:
    """Run `command`; its own peak RSS in MB (not that of earlier children)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=env)
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(command, process.returncode, out.read(), err.read())
    return done, usage.ru_maxrss / 1024


def errors_case(folder: Path, orders: int) -> None:
    """`rebuy import orders` of a file whose amount column is wrong on every row, as a
    new process: how many lines it prints, the --errors file, time and peak memory."""
    path = folder / "orders-bad-amounts.csv"
    if not path.exists():
        with (
            (folder / "orders.csv").open(encoding="utf-8", newline="") as inp,
            path.open("w", encoding="utf-8", newline="") as out,
        ):
            reader, writer = csv.reader(inp), csv.writer(out)
            writer.writerow(next(reader))
            for n, row in enumerate(reader):
                if n >= orders:
                    break
                writer.writerow([row[0], row[1], "n/a", *row[3:]])
    database = folder / "errors-case.db"
    Database(f"sqlite:///{database}").upgrade()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "REBUY_NOW": NOW.isoformat()}
    env.setdefault("SLACK_BOT_TOKEN", "xoxb-bench")
    env.setdefault("SLACK_SIGNING_SECRET", "bench")
    subprocess.run(
        [
            str(Path(sys.executable).with_name("rebuy")),
            "import",
            "accounts",
            str(folder / "accounts.csv"),
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    errors = folder / "errors.csv"
    started = time.perf_counter()
    done, peak = run_measured(
        [
            str(Path(sys.executable).with_name("rebuy")),
            "import",
            "orders",
            str(path),
            "--errors",
            str(errors),
        ],
        env,
    )
    elapsed = time.perf_counter() - started
    printed = done.stderr.strip().splitlines()
    with errors.open(encoding="utf-8") as handle:
        listed = sum(1 for _ in handle) - 1
    print(
        f"errors case: {orders:,} rows, exit {done.returncode}, {len(printed)} lines printed, "
        f"{listed:,} problems in --errors, {elapsed:.1f}s, peak RSS {peak:.0f} MB"
    )
    for line in printed:
        print("   |", line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", help="keep the generated files here (reused when present)")
    parser.add_argument("--postgres", help="also import into a new database on this server")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds")
    parser.add_argument("--again", action="store_true", help="re-import the file (unchanged)")
    parser.add_argument("--errors-case", action="store_true", help="only the bad-column case")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mapped", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory(prefix="rebuy-bench-") as scratch:
        folder = Path(args.dir or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        args.dir = str(folder)
        started = time.perf_counter()
        if not (folder / "accounts.csv").exists():
            make_accounts_csv(folder / "accounts.csv", args.accounts, seed=args.seed)
        if not (folder / "orders.csv").exists():
            make_orders_csv(folder / "orders.csv", args.accounts, args.orders, seed=args.seed)
        if not (folder / "opportunities.csv").exists():
            crm_style_copy(folder / "orders.csv", folder / "opportunities.csv")
        print(f"files ready in {time.perf_counter() - started:.1f}s")
        if args.errors_case:
            errors_case(folder, args.orders)
            return
        cases = [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else [])
        results: dict[tuple[str, bool], list[dict]] = {}
        for _ in range(args.rounds):
            for name, url in cases:
                for mapped in (False, True):
                    outcome = _run_child(args, mapped=mapped, postgres=url)
                    results.setdefault((name, mapped), []).append(outcome)
                    first = outcome["runs"][0]
                    again = "".join(
                        f"; re-import {r['rows'] / r['wall']:,.0f}/s" for r in outcome["runs"][1:]
                    )
                    print(
                        f"{name:10} {'mapped' if mapped else 'plain':6} "
                        f"{first['rows'] / first['wall']:>9,.0f} rows/s wall, "
                        f"{first['rows'] / first['cpu']:>9,.0f} rows/s of CPU, "
                        f"peak {outcome['peak_mb']:.0f} MB{again} — {outcome['summary']}"
                    )
        for name, _url in cases:
            plain = [r["runs"][0] for r in results[name, False]]
            mapped_runs = [r["runs"][0] for r in results[name, True]]
            ratio = statistics.median(
                (m["rows"] / m["wall"]) / (p["rows"] / p["wall"])
                for p, m in zip(plain, mapped_runs, strict=True)
            )
            print(f"{name}: mapped vs plain (median of rounds): {ratio - 1:+.0%} (target ≥ -20%)")


if __name__ == "__main__":
    main()
