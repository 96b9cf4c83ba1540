"""Import benchmark: synthetic CRM exports, imported into a fresh SQLite database.

    .venv/bin/python -m bench.bench_import [--accounts 100000] [--orders 1000000]

    .venv/bin/python -m bench.bench_import --dir /tmp/rebuy-bench --rounds 3 \
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres [--again]
    .venv/bin/python -m bench.bench_import --dir /tmp/rebuy-bench --errors-case
    .venv/bin/python -m bench.bench_import --dir /tmp/rebuy-bench --rounds 3 --cli \
        --peer /tmp/rebuy-before [--postgres URL]

Each orders import runs in a new process (accounts imported first, not timed) that
reports rows/s (wall and CPU) and its peak RSS: the plain file, then the same orders
as a CRM writes them (Salesforce opportunity headers, a Stage column, semicolons, US
dates and "$1,234.50" amounts, read with --from salesforce and --date-format), on
SQLite and, with --postgres, on a new PostgreSQL database; rounds are interleaved
and the mapped/plain ratio is the median of the rounds. Targets: ≥ 250,000 orders/s,
peak < 500 MB, the mapped path within 20 % of the plain one. --errors-case runs
`rebuy import orders` on the file with every amount wrong and counts what it prints.

--cli times `rebuy import orders FILE` as a new process (start-up, the import, the
model fit it runs after; CPU and peak RSS from the process's own rusage) instead of the
import call alone. --peer DIR runs every case again with the code in DIR first on the
import path (e.g. `git archive <commit> bot models | tar -x -C DIR`), interleaved with
this checkout's in each round, and prints the ratio of the two per round.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from bench.import_data import (  # noqa: F401  (re-exported for the other benches)
    _FIRST,
    _PRODUCTS,
    _SECOND,
    _SUFFIX,
    NOW,
    TIERS,
    account_id,
    crm_style_copy,
    make_accounts_csv,
    make_orders_csv,
)
from bot.db import Database
from bot.retention.importer import ImportOptions, import_csv


def _fresh_database(
    url: str | None, folder: Path, name: str
) -> tuple[Database, Callable[[], None]]:
    """A new SQLite file in `folder`, or a new database on the PostgreSQL server at `url`."""
    if url is None:
        path = folder / (name + ".db")
        for leftover in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-shm"),
        ):
            leftover.unlink(missing_ok=True)
        database = Database(f"sqlite:///{path}")
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
        if args.cli:
            runs.append(_cli_import(database, path, mapped=args.mapped))
            peak = max(r["peak_mb"] for r in runs)
            print(json.dumps({"runs": runs, "peak_mb": peak, "summary": runs[0]["summary"]}))
            return
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


def _cli_import(database: Database, path: Path, *, mapped: bool) -> dict:
    """`rebuy import orders FILE` as a new process: wall, CPU and peak RSS of that process."""
    env = {
        **os.environ,
        "DATABASE_URL": database.engine.url.render_as_string(hide_password=False),
        "REBUY_NOW": NOW.isoformat(),
    }
    env.setdefault("SLACK_BOT_TOKEN", "xoxb-bench")
    env.setdefault("SLACK_SIGNING_SECRET", "bench")
    command = [sys.executable, "-c", "from bot.cli import main; main()", "import", "orders"]
    command += [str(path)]
    command += ["--from", "salesforce", "--date-format", "MM/DD/YYYY"] * mapped
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=env)
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        printed, problems = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"rebuy import orders failed:\n{printed}\n{problems[-2000:]}")
    rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
    return {
        "run": "cli",
        "rows": rows,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
        "summary": printed.strip().splitlines()[0] if printed.strip() else "",
    }


def _run_child(
    args: argparse.Namespace, *, mapped: bool, postgres: str | None, code: str | None = None
) -> dict:
    """One case in a new process; `code`: a folder whose code comes first on the path."""
    command = [sys.executable, "-m", "bench.bench_import", "--child", "--dir", args.dir]
    command += ["--mapped"] * mapped + ["--again"] * args.again + ["--cli"] * args.cli
    command += ["--postgres", postgres] if postgres else []
    env = dict(os.environ)
    if code is not None:
        here = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join([code, here, env.get("PYTHONPATH", "")])
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
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
    parser.add_argument("--cli", action="store_true", help="time `rebuy import orders` itself")
    parser.add_argument("--peer", help="also run each case with the code in this folder")
    parser.add_argument("--plain-only", action="store_true", help="skip the mapped file")
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
        _compare(args, cases)


def _compare(args: argparse.Namespace, cases: list[tuple[str, str | None]]) -> None:
    """Every case in every round, the peer's code (if any) right after this checkout's."""
    codes: list[tuple[str, str | None]] = [("this", None)]
    codes += [("peer", args.peer)] if args.peer else []
    results: dict[tuple[str, bool, str], list[dict]] = {}
    for round_number in range(1, args.rounds + 1):
        for name, url in cases:
            for mapped in (False,) if args.plain_only else (False, True):
                for label, code in codes:
                    outcome = _run_child(args, mapped=mapped, postgres=url, code=code)
                    results.setdefault((name, mapped, label), []).append(outcome)
                    first = outcome["runs"][0]
                    again = "".join(
                        f"; re-import {r['rows'] / r['wall']:,.0f}/s" for r in outcome["runs"][1:]
                    )
                    print(
                        f"round {round_number} {name:10} {'mapped' if mapped else 'plain':6} "
                        f"{label:4} {first['rows'] / first['wall']:>9,.0f} rows/s wall, "
                        f"{first['rows'] / first['cpu']:>9,.0f} rows/s of CPU, "
                        f"peak {outcome['peak_mb']:.0f} MB, load {os.getloadavg()[0]:.1f}"
                        f"{again} — {outcome['summary']}",
                        flush=True,
                    )
    for name, _url in cases:
        if args.peer:
            for mapped in (False,) if args.plain_only else (False, True):
                ours, theirs = results[name, mapped, "this"], results[name, mapped, "peer"]
                wall = [
                    p["runs"][0]["wall"] / o["runs"][0]["wall"]
                    for o, p in zip(ours, theirs, strict=True)
                ]
                cpu = [
                    p["runs"][0]["cpu"] / o["runs"][0]["cpu"]
                    for o, p in zip(ours, theirs, strict=True)
                ]
                print(
                    f"{name} {'mapped' if mapped else 'plain'}: this / peer speed, per round: "
                    f"wall {', '.join(f'{r:.2f}×' for r in wall)}; "
                    f"CPU {', '.join(f'{r:.2f}×' for r in cpu)}"
                )
        if args.plain_only:
            continue
        plain = [r["runs"][0] for r in results[name, False, "this"]]
        mapped_runs = [r["runs"][0] for r in results[name, True, "this"]]
        ratio = statistics.median(
            (m["rows"] / m["wall"]) / (p["rows"] / p["wall"])
            for p, m in zip(plain, mapped_runs, strict=True)
        )
        print(f"{name}: mapped vs plain (median of rounds): {ratio - 1:+.0%} (target ≥ -20%)")


if __name__ == "__main__":
    main()
