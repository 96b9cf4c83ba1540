"""Scale benchmark: `rebuy report` on a big PostgreSQL workspace, each run a new process.

    .venv/bin/python -m bench.bench_scale \
        --url postgresql+psycopg://postgres@127.0.0.1/rebuy_scale \
        [--rounds 3] [--explain] [--day-after] [--base DIR]

The database at --url must already hold the workspace (1,000,000 accounts and
10,000,000 orders for issue 13: make the files with bench_import's generators and load
them with `rebuy import accounts|orders` as an admin would, timed with /usr/bin/time -v).
This script then runs ANALYZE (so the measured plans are the steady state, as after
autovacuum) and, interleaved round by round, as new processes:

- `rebuy report` and `rebuy report --json` once the day's RFM cut points are cached
  (every report after the first of the day);
- `rebuy report` with the day's cut points removed first (the first report of a day);
- with `--base DIR`, the same commands again with PYTHONPATH=DIR (another version of
  `bot` and `models`, e.g. `git archive main bot models | tar -x -C DIR`).

For each: median and range of wall time, CPU seconds of the process (user + system;
the server's CPU is not in it) and its peak RSS (from wait4), and the output's size.
`--day-after` runs as of the day after the summary's windows (REBUY_NOW moved on a
day), the usual case between imports. `--explain` prints EXPLAIN (ANALYZE, BUFFERS)
of each statement of the report (bot/retention/report_sql.py), slowest first.
Targets (issue 13): `rebuy report` under 5 s wall with peak memory under 300 MB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

TARGET_SECONDS = 5.0
TARGET_MB = 300


def _plain_url(url: str) -> str:
    return urlsplit(url)._replace(scheme="postgresql").geturl()


def run_measured(command: list[str], env: dict[str, str]) -> dict:
    """One new process: wall and CPU seconds, its own peak RSS (MB), its output size."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        size = out.seek(0, os.SEEK_END)
        if code != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(command[-3:])} failed ({code}): {err.read()[-800:]}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
        "bytes": size,
    }


def _analyze_and_day(url: str) -> date:
    """ANALYZE; the day of the summary's windows (the last import's day)."""
    import psycopg

    with psycopg.connect(_plain_url(url), autocommit=True) as connection:
        started = time.perf_counter()
        connection.execute("ANALYZE")
        print(f"ANALYZE {time.perf_counter() - started:.1f} s")
        counts = connection.execute(
            'SELECT (SELECT count(*) FROM account), (SELECT count(*) FROM "order"), '
            "(SELECT max(windows_on) FROM account_summary)"
        ).fetchone()
    print(f"{counts[0]:,} accounts, {counts[1]:,} orders, summary windows on {counts[2]}")
    return counts[2]


def _forget_cutoffs(url: str) -> None:
    import psycopg

    with psycopg.connect(_plain_url(url), autocommit=True) as connection:
        connection.execute("DELETE FROM rfm_cutoffs")


def explain(url: str, now: datetime) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement one report runs, slowest first."""
    import psycopg

    from bot.retention.report_build import build_report
    from bot.retention.report_sql import ReportQuery, Sql

    sql = Sql("postgresql")
    seen: list[tuple[str, dict]] = []
    with psycopg.connect(_plain_url(url)) as connection:

        def run(statement: str, params: dict):
            seen.append((statement, params))
            return connection.execute(statement, params).fetchall()

        # The report's own statements (the forecast, when a fit is shown, is not SQL).
        started = time.perf_counter()
        query = ReportQuery(run, sql, as_of=now.date(), now=now)
        build_report(query, query.cached_cutoffs() or query.compute_cutoffs())
        query.tactic_touches()
        query.unowned()
        query.fit_shown()
        print(f"the report's statements: {time.perf_counter() - started:.2f} s wall")
        plans = []
        for statement, params in seen:
            rows = connection.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            plan = "\n".join(row[0] for row in rows)
            took = float(plan.rsplit("Execution Time: ", 1)[1].split(" ")[0])
            plans.append((took, statement, plan))
        connection.rollback()
    for took, statement, plan in sorted(plans, key=lambda p: p[0], reverse=True):
        first = " ".join(statement.split())[:160]
        print(f"\n=== {took:,.0f} ms: {first} ...\n{plan}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the filled PostgreSQL database")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the report")
    parser.add_argument("--day-after", action="store_true", help="as of the summary's day + 1")
    parser.add_argument("--no-analyze", action="store_true", help="skip ANALYZE")
    parser.add_argument(
        "--base", help="also run, interleaved, the code extracted in this folder (`git archive`)"
    )
    args = parser.parse_args()
    day = _analyze_and_day(args.url) if not args.no_analyze else None
    day = day or datetime.now(UTC).date()
    if args.day_after:
        day += timedelta(days=1)
    now = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
    if args.explain:
        explain(args.url, now)
        return
    env = {**os.environ, "DATABASE_URL": args.url, "REBUY_NOW": now.isoformat()}
    env.setdefault("SLACK_BOT_TOKEN", "xoxb-bench")
    env.setdefault("SLACK_SIGNING_SECRET", "bench")
    rebuy = str(Path(sys.executable).with_name("rebuy"))
    cases = {
        "report, first of the day": ([rebuy, "report"], True, env),
        "report": ([rebuy, "report"], False, env),
        "report --json": ([rebuy, "report", "--json"], False, env),
    }
    if args.base:
        base = {**env, "PYTHONPATH": args.base}
        for name, (command, cold, _env) in list(cases.items()):
            cases[f"base: {name}"] = (command, cold, base)
    results: dict[str, list[dict]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, (command, cold, command_env) in cases.items():
            if cold:
                _forget_cutoffs(args.url)
            results[name].append(run_measured(command, command_env))
    print(f"as of {day}; load average {os.getloadavg()[0]:.1f} (1 min) at the end")
    for name, runs in results.items():
        walls = [r["wall"] for r in runs]
        cpus = [r["cpu"] for r in runs]
        peak = max(r["peak_mb"] for r in runs)
        print(
            f"{name:32} wall {statistics.median(walls):5.2f} s "
            f"({min(walls):.2f}–{max(walls):.2f}), CPU {statistics.median(cpus):4.2f} s, "
            f"peak {peak:4.0f} MB, output {runs[0]['bytes']:,} B"
            f"  [{'met' if max(walls) < TARGET_SECONDS and peak < TARGET_MB else 'NOT met'}]"
        )


if __name__ == "__main__":
    main()
