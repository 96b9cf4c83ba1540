"""Report benchmark: `rebuy report --json` as a new process against its peers, same run.

    .venv/bin/python -m bench.bench_report [--accounts 100000] [--orders 1000000] [--rounds 5]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--with-account]
        [--account-rounds 10] [--reuse FOLDER]

Makes the synthetic accounts and orders exports of bench_import, imports them into a
fresh SQLite database (or a new scratch database on the PostgreSQL server given, dropped
at the end; the import keeps the purchase summary), then runs, interleaved round by
round, each as a new process over the same data:

- rebuy: `rebuy report --json` (the CLI: its start-up, then the report);
- report via Typer: the same command through the Typer app and the full settings (the
  start-up every command paid before the lean path, bot/cli/lean.py);
- report body: the same report through `read_report` alone, without the CLI's
  start-up (what the report's own read path costs: DB-API driver, aggregate SQL over
  the summary, cut points cached after the first round as `rebuy report` caches them);
- pandas: a script that reads the two CSV files and computes the report's core (per
  account: net per day, purchase occasions, last occasion, total, 6/12/24-month values;
  then dormant counts, declining, value fifths);
- duckdb: the same as one SQL query over the CSV files;
- with `--with-account`, `rebuy account NAME --json` end to end, after the report's
  rounds, in `--account-rounds` interleaved rounds of its own (at least 10): an exact
  name, the same name in lower case, the CRM id, a typo and a name not found, beside
  `python -c pass` (the interpreter's own start, the floor of any new process) and
  the import of SQLAlchemy, SQLModel and the models (the floor of the ORM card path).

Prints median CPU seconds (user + system of each new process) and the ratios
rebuy / pandas and rebuy / duckdb. The machine is shared with other work,
so only ratios measured in the same run mean anything.
pandas and duckdb are not dependencies of Rebuy: `pip install pandas duckdb`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_import import NOW, TIERS, _fresh_database, make_accounts_csv, make_orders_csv
from bot.retention.importer import import_csv

PANDAS = r"""
import sys, pandas as pd
accounts = pd.read_csv(sys.argv[1], usecols=["external_id"])
orders = pd.read_csv(sys.argv[2], usecols=["account_external_id", "ordered_at", "amount"])
orders["day"] = pd.to_datetime(orders["ordered_at"], utc=True, format="mixed").dt.floor("D")
daily = orders.groupby(["account_external_id", "day"], sort=False)["amount"].sum().reset_index()
as_of = pd.Timestamp("2026-06-15", tz="UTC")
since = {m: as_of - pd.DateOffset(months=m) for m in (6, 12, 18, 24)}
bought = daily[daily["amount"] > 0]
last = bought.groupby("account_external_id")["day"].max()
total = daily.groupby("account_external_id")["amount"].sum()
v6 = daily[daily["day"] >= since[6]].groupby("account_external_id")["amount"].sum()
v12 = daily[daily["day"] >= since[12]].groupby("account_external_id")["amount"].sum()
w = bought[bought["day"] >= since[24]].groupby("account_external_id").size()
f = pd.DataFrame({"last": last, "total": total, "v6": v6, "v12": v12, "w": w}).reindex(
    accounts["external_id"])
prev = f["v12"].fillna(0) - f["v6"].fillna(0)
out = {m: int((f["last"].isna() | (f["last"] < since[m])).sum()) for m in (6, 12, 18)}
out["declining"] = int(((prev > 0) & (f["v6"].fillna(0) < 0.5 * prev)).sum())
ranked = f[f["last"].notna()].sort_values("total", ascending=False)
fifth = len(ranked) // 5
out["best_median_last"] = str(ranked["last"].iloc[:fifth].median())
print(out)
"""

BODY = r"""
import json, sys
from datetime import datetime
from bot.retention.report_command import read_report
report = read_report(sys.argv[1], now=datetime.fromisoformat(sys.argv[2]), as_of=None)
print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str))
"""

# The same command through the Typer app (as every command ran before the lean path).
TYPER = "import sys; from bot.cli import app; app(sys.argv[1:], prog_name='rebuy')"

DUCKDB = r"""
import sys, duckdb
print(duckdb.sql(f'''
WITH o AS (
  SELECT account_external_id AS a,
         CAST(timezone('UTC', CAST(ordered_at AS TIMESTAMPTZ)) AS DATE) AS d, amount
  FROM read_csv('{sys.argv[2]}', auto_detect=true)),
daily AS (SELECT a, d, sum(amount) AS net FROM o GROUP BY a, d),
f AS (
  SELECT a, max(d) FILTER (WHERE net > 0) AS last, sum(net) AS total,
         sum(net) FILTER (WHERE d >= DATE '2025-12-15') AS v6,
         sum(net) FILTER (WHERE d >= DATE '2025-06-15') AS v12,
         count(*) FILTER (WHERE net > 0 AND d >= DATE '2024-06-15') AS w
  FROM daily GROUP BY a),
acc AS (SELECT external_id AS a FROM read_csv('{sys.argv[1]}', auto_detect=true)),
j AS (SELECT acc.a, f.last, f.total, coalesce(f.v6, 0) AS v6,
             coalesce(f.v12, 0) - coalesce(f.v6, 0) AS prev FROM acc LEFT JOIN f USING (a)),
ranked AS (SELECT *, ntile(5) OVER (ORDER BY total DESC) AS fifth FROM j WHERE last IS NOT NULL)
SELECT
  (SELECT count(*) FROM j WHERE last IS NULL OR last < DATE '2025-12-15') AS not_6m,
  (SELECT count(*) FROM j WHERE last IS NULL OR last < DATE '2025-06-15') AS not_12m,
  (SELECT count(*) FROM j WHERE last IS NULL OR last < DATE '2024-12-15') AS not_18m,
  (SELECT count(*) FROM j WHERE prev > 0 AND v6 < 0.5 * prev) AS declining,
  (SELECT median(last) FROM ranked WHERE fifth = 1) AS best_median_last
''').fetchall())
"""


def _run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """The CPU seconds (user + system) the new process used, and its wall seconds: on a
    machine shared with other work, wall time measures the neighbours as much as the
    command; on PostgreSQL the server's CPU is not the process's, so read both."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # `rebuy account` exits 1 when a name is not found: still an answer.
    if done.returncode != 0 and not (command[1] == "account" and done.returncode == 1):
        raise SystemExit(f"{command[:3]} failed: {done.stderr[-800:]}")
    return elapsed, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a scratch database is made)")
    parser.add_argument("--with-account", action="store_true", help="also time `rebuy account`")
    parser.add_argument("--account-rounds", type=int, default=10, help="`rebuy account` rounds")
    parser.add_argument("--reuse", help="a folder an earlier SQLite run left: time again")
    args = parser.parse_args()
    if args.reuse:
        folder = Path(args.reuse)
        accounts, orders = folder / "accounts.csv", folder / "orders.csv"
        url = f"sqlite:///{folder / 'report.db'}"
        _compare(args, url, accounts, orders)
        if args.with_account:
            _compare_account(args, url, _account_name(accounts, 42))
        return
    folder = Path(tempfile.mkdtemp(prefix="rebuy-bench-report-"))
    print(f"exports (and a SQLite database) in {folder}")
    accounts = make_accounts_csv(folder / "accounts.csv", args.accounts)
    orders = make_orders_csv(folder / "orders.csv", args.accounts, args.orders)
    database, drop = _fresh_database(args.postgres, folder, "report")
    try:
        database.upgrade()
        started = time.perf_counter()
        for kind, path in (("accounts", accounts), ("orders", orders)):
            with database.transaction() as session:
                import_csv(session=session, kind=kind, path=path, now=NOW, tiers=TIERS)
        print(
            f"{database.engine.dialect.name}: imported {args.accounts:,} accounts, "
            f"{args.orders:,} orders in {time.perf_counter() - started:.1f} s (summary included)"
        )
        if database.engine.dialect.name == "postgresql":
            # Fresh tables have no planner statistics until autovacuum's ANALYZE comes
            # round (soon after a bulk load); without them PostgreSQL plans 100,000
            # accounts as a few dozen (nested loops). Measure the steady state.
            with database.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
        url = database.engine.url.render_as_string(hide_password=False)
        _compare(args, url, accounts, orders)
        if args.with_account:
            _compare_account(args, url, _account_name(accounts, 42))
    finally:
        drop()


def _compare(args: argparse.Namespace, url: str, accounts: Path, orders: Path) -> None:
    env = {**os.environ, "DATABASE_URL": url, "REBUY_NOW": NOW.isoformat()}
    rebuy = str(Path(sys.executable).with_name("rebuy"))
    commands = {
        "rebuy report --json": [rebuy, "report", "--json"],
        "report body": [sys.executable, "-c", BODY, url, NOW.isoformat()],
        "report via Typer": [sys.executable, "-c", TYPER, "report", "--json"],
        "pandas": [sys.executable, "-c", PANDAS, str(accounts), str(orders)],
        "duckdb": [sys.executable, "-c", DUCKDB, str(accounts), str(orders)],
    }
    medians, wall = _interleaved(commands, env, args.rounds)
    for ours in ("rebuy report --json", "report body", "report via Typer"):
        for peer in ("pandas", "duckdb"):
            if peer in medians:
                print(
                    f"{ours} / {peer}: {medians[ours] / medians[peer]:.2f}x CPU, "
                    f"{wall[ours] / wall[peer]:.2f}x wall"
                )


def _account_name(accounts: Path, number: int) -> str:
    """The name of the `number`th account of the export."""
    import csv

    with accounts.open(encoding="utf-8", newline="") as handle:
        for row_number, row in enumerate(csv.DictReader(handle), start=1):
            if row_number == number:
                return row["name"]
    raise SystemExit(f"the export has fewer than {number} accounts")


def _compare_account(args: argparse.Namespace, url: str, name: str) -> None:
    """`rebuy account NAME --json` as new processes, median of `--account-rounds`."""
    env = {**os.environ, "DATABASE_URL": url, "REBUY_NOW": NOW.isoformat()}
    rebuy = str(Path(sys.executable).with_name("rebuy"))
    words = name.split()
    typo = [words[0][:-1], *words[1:]]  # a letter missing from the first word
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        # What the card's ORM read path imports before any work: its floor today.
        "import ORM + models": [sys.executable, "-c", "import sqlalchemy, sqlmodel, models"],
        "account exact name": [rebuy, "account", *words, "--json"],
        "account lower case": [rebuy, "account", *name.lower().split(), "--json"],
        "account CRM id": [rebuy, "account", "ACC-0000042", "--json"],
        "account typo": [rebuy, "account", *typo, "--json"],
        "account not found": [rebuy, "account", "Zzqx", "Nothing", "--json"],
    }
    print(f"rebuy account: {name!r}, typo {' '.join(typo)!r}")
    _interleaved(commands, env, max(args.account_rounds, 1))


def _interleaved(
    commands: dict[str, list[str]], env: dict[str, str], rounds: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Run each command once a round, `rounds` rounds (each round in another order);
    print and return the medians."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    walls: dict[str, list[float]] = {name: [] for name in commands}
    for number in range(rounds):
        # Each round starts one command later, so no command always follows the same one.
        order = list(commands.items())
        order = order[number % len(order) :] + order[: number % len(order)]
        for name, command in order:
            if name not in commands:
                continue
            try:
                cpu, wall = _run(command, env)
                times[name].append(cpu)
                walls[name].append(wall)
            except SystemExit as problem:
                if name in ("pandas", "duckdb"):
                    print(f"{name}: not run ({problem})")
                    del commands[name]
                    continue
                raise
    medians = {name: statistics.median(ts) for name, ts in times.items() if ts}
    wall = {name: statistics.median(ts) for name, ts in walls.items() if ts}
    for name, value in medians.items():
        print(
            f"{name:24} median {value:6.2f} s CPU, {wall[name]:6.2f} s wall (of {len(times[name])})"
        )
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return medians, wall


if __name__ == "__main__":
    main()
