"""Foundation benchmark: import rate, `rebuy report` time and `rebuy account` latency on a
synthetic workspace (default 100,000 accounts and 1,000,000 orders, SQLite).

    .venv/bin/python -m bench.bench_foundation [--accounts N] [--orders N] [--lookups N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlmodel import select

from bench.bench_import import NOW, TIERS, make_accounts_csv, make_orders_csv
from bot.db import Database
from bot.retention.errors import AccountNotFound, AmbiguousAccount
from bot.retention.importer import import_csv
from bot.retention.lookup import find_account_id
from bot.retention.report import recency_report
from bot.retention.status import account_status
from bot.settings import DEFAULT_TIER_CADENCE
from models import Account


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def typo(name: str, rng: random.Random) -> str:
    """Drop one letter from a longer word: "Harbor Supply 17" -> "Harbr Supply 17"."""
    words = name.split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    word = words[i]
    cut = rng.randrange(1, len(word) - 1)
    words[i] = word[:cut] + word[cut + 1 :]
    return " ".join(words)


def time_lookups(database: Database, queries: list[str]) -> tuple[list[float], int]:
    """In-process `rebuy account NAME`: find the account and build its full status."""
    times, misses = [], 0
    for query in queries:
        started = time.perf_counter()
        with database.transaction() as session:
            try:
                account_id = find_account_id(session=session, query=query)
                account_status(
                    session=session,
                    account_id=account_id,
                    now=NOW,
                    tier_cadence=DEFAULT_TIER_CADENCE,
                )
            except (AccountNotFound, AmbiguousAccount):
                misses += 1
        times.append((time.perf_counter() - started) * 1000)
    return times, misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(7)

    with tempfile.TemporaryDirectory(prefix="rebuy-bench-") as folder:
        tmp = Path(folder)
        accounts_csv = make_accounts_csv(tmp / "accounts.csv", args.accounts)
        orders_csv = make_orders_csv(tmp / "orders.csv", args.accounts, args.orders)
        url = f"sqlite:///{tmp / 'bench.db'}"
        database = Database(url)
        database.upgrade()

        for kind, path in (("accounts", accounts_csv), ("orders", orders_csv)):
            started = time.perf_counter()
            with database.transaction() as session:
                result = import_csv(session=session, kind=kind, path=path, now=NOW, tiers=TIERS)
            elapsed = time.perf_counter() - started
            print(
                f"import {kind}: {result.rows:,} rows in {elapsed:.1f} s = "
                f"{result.rows / elapsed:,.0f} rows/s"
            )

        for label in ("cold (RFM cut points computed)", "warm (cut points cached)"):
            started = time.perf_counter()
            with database.transaction() as session:
                report = recency_report(session=session, now=NOW)
            print(
                f"report, in process, {label}: {time.perf_counter() - started:.2f} s "
                f"({report.accounts:,} accounts, {report.not_bought_6m:,} not bought in 6m)"
            )
        env = {**os.environ, "DATABASE_URL": url, "REBUY_NOW": NOW.isoformat()}
        started = time.perf_counter()
        subprocess.run(
            [Path(sys.executable).with_name("rebuy"), "report", "--json"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(
            f"`rebuy report --json` end to end (new process): {time.perf_counter() - started:.2f} s"
        )

        with database.session() as session:
            names = list(session.exec(select(Account.name)))
        sample = rng.sample(names, min(args.lookups, len(names)))
        for label, queries in (
            ("exact name", sample),
            ("lower-case", [name.lower() for name in sample]),
            ("one-letter typo", [typo(name, rng) for name in sample[: max(50, len(sample) // 5)]]),
        ):
            times, misses = time_lookups(database, queries)
            print(
                f"account look-up + status, {label}: n={len(times)} "
                f"p50 {statistics.median(times):.1f} ms, p95 {percentile(times, 0.95):.1f} ms"
                + (f", {misses} not matched" if misses else "")
            )
        database.dispose()


if __name__ == "__main__":
    main()
