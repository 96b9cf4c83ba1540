"""Reminder benchmark: due lists for a large workspace, then delivery at Slack's pace.

    .venv/bin/python -m bench.bench_reminders [--reps 1000] [--accounts-per-rep 100]
                                              [--cap 50] [--concurrency N]
                                              [--client-rate R] [--skip-delivery]
                                              [--repeat N]

Builds REPS reps x ACCOUNTS_PER_REP accounts (orders, contacts, touches; about eight
accounts per rep are due, so each rep gets the header plus REMINDER_MAX_PER_DAY
account messages) in a temporary SQLite database with bulk inserts. Then:

1. computes every rep's due list (`due_by_rep`, tactics included) and reports the time
   (target: under 2 s for 1,000 reps x 100 accounts);
2. runs one reminder sweep against the local Slack Web API double set to Slack-like
   limits (1 message per second per channel with a burst of 3, and a workspace-wide
   cap of CAP messages a second), with the client-side pacer set to the same cap, and
   reports messages, wall time, the floor the cap sets (messages / CAP) and the ratio
   (target: within 10 % of the floor), and checks that every message went out once.
   FAIL_SHARE of the posts (default 1 %) answer HTTP 500 *after* posting, so delivery
   must find them in the DM history instead of posting again: 0 duplicates, 0 lost.

DM channels are cached (the steady state: `conversations.open` only runs on a rep's
first reminder ever).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from bot.clock import fixed_clock
from bot.db import Database
from bot.retention.due import due_by_rep
from bot.runtime import Runtime
from bot.settings import Settings
from models import Account, AccountPlan, Contact, Order, ReminderMessage, Rep, Touch

# A Monday, 09:05 UTC: every rep below is inside the morning window (09:00-12:00 local).
NOW = datetime(2026, 6, 15, 9, 5, tzinfo=UTC)
ZONES = ("UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "Africa/Lagos")
TIERS = (("key", 14, 0.15), ("mid", 30, 0.5), ("small", 60, 0.35))
OVERDUE_SHARE = 0.08  # about 8 of 100 accounts per rep are due


def _chunks(rows: list[dict], size: int = 20_000):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def seed(database: Database, *, reps: int, accounts_per_rep: int, seed_value: int = 7) -> dict:
    """Bulk-insert a synthetic workspace; returns row counts."""
    rng = random.Random(seed_value)
    rep_rows, account_rows, order_rows, contact_rows, touch_rows, plan_rows = [], [], [], [], [], []
    account_id = 0
    for r in range(1, reps + 1):
        user = f"U{r:05d}"
        rep_rows.append(
            {
                "id": r,
                "email": f"rep{r}@bench.example",
                "name": f"Rep {r}",
                "slack_user_id": user,
                "tz": ZONES[r % len(ZONES)],
                "tz_synced_at": NOW,
                "dm_channel_id": f"D{user}",
                "active": True,
                "created_at": NOW - timedelta(days=400),
            }
        )
        for _ in range(accounts_per_rep):
            account_id += 1
            tier, cadence, _ = rng.choices(TIERS, weights=[t[2] for t in TIERS])[0]
            account_rows.append(
                {
                    "id": account_id,
                    "external_id": f"B-{account_id}",
                    "name": f"Account {account_id}",
                    "name_key": f"account {account_id}",
                    "owner_id": r,
                    "tier": tier,
                    "annual_value": Decimal(rng.randrange(5_000, 250_000)),
                    "cadence_days": None,
                    "created_at": NOW - timedelta(days=800),
                    "updated_at": NOW - timedelta(days=800),
                }
            )
            for n in range(rng.randint(0, 6)):
                order_rows.append(
                    {
                        "account_id": account_id,
                        "ordered_at": NOW - timedelta(days=rng.randint(1, 720), hours=n),
                        "amount": Decimal(rng.randrange(200, 20_000)),
                        "order_key": f"O-{account_id}-{n}",
                    }
                )
            for n in range(rng.choice((0, 1, 1, 2, 3))):
                contact_rows.append(
                    {
                        "account_id": account_id,
                        "name": f"Person {account_id}-{n}",
                        "email": f"p{account_id}-{n}@customer.example",
                        "contact_key": f"p{account_id}-{n}@customer.example",
                        "created_at": NOW - timedelta(days=500),
                    }
                )
            if rng.random() < OVERDUE_SHARE:
                ago = cadence + rng.randint(1, 60)
            else:
                ago = rng.randint(0, cadence - 1)
            touch_rows.append(
                {
                    "account_id": account_id,
                    "kind": "call",
                    "touched_at": NOW - timedelta(days=ago),
                    "rep_id": r,
                    "slack_user_id": user,
                    "source": "import",
                    "created_at": NOW - timedelta(days=ago),
                }
            )
            if rng.random() < 0.2:
                plan_rows.append(
                    {
                        "account_id": account_id,
                        "current_state": "One product line",
                        "target_state": "Two product lines",
                        "horizon": date(2026, 10, 1),
                        "updated_at": NOW,
                    }
                )
    with database.engine.begin() as connection:
        for model, rows in (
            (Rep, rep_rows),
            (Account, account_rows),
            (Order, order_rows),
            (Contact, contact_rows),
            (Touch, touch_rows),
            (AccountPlan, plan_rows),
        ):
            for chunk in _chunks(rows):
                connection.execute(sa.insert(model.__table__), chunk)
        connection.exec_driver_sql("ANALYZE")
    return {
        "reps": len(rep_rows),
        "accounts": len(account_rows),
        "orders": len(order_rows),
        "contacts": len(contact_rows),
        "touches": len(touch_rows),
    }


def time_due_lists(runtime: Runtime) -> tuple[float, float, int, int]:
    """Seconds (wall, and this process's CPU) to compute every rep's due list (with a
    tactic each), reps with something due, and account messages that makes. The CPU
    time tells a loaded machine apart from slow code: on a shared box the wall time
    includes waiting for a core."""
    with runtime.db.session() as session:
        started, cpu = time.perf_counter(), time.process_time()
        due = due_by_rep(
            session=session,
            as_of=NOW.date(),
            now=NOW,
            tier_cadence=runtime.tier_cadence,
            limit=runtime.settings.reminder_max_per_day,
        )
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return elapsed, cpu, len(due), sum(len(items) for items in due.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--accounts-per-rep", type=int, default=100)
    parser.add_argument("--cap", type=float, default=50.0, help="workspace messages/s")
    parser.add_argument("--burst", type=int, default=3, help="per-channel burst of the double")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="reps delivered at once (default 2 x cap)"
    )
    parser.add_argument(
        "--client-rate",
        type=float,
        default=None,
        help="SLACK_POST_RATE for the run (default: the cap; a huge value turns pacing off)",
    )
    parser.add_argument(
        "--fail-share", type=float, default=0.01, help="posts that answer 500 after posting"
    )
    parser.add_argument("--skip-delivery", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="due-list runs (first is cold)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="rebuy-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        database = Database(url)
        database.upgrade()
        started = time.perf_counter()
        counts = seed(database, reps=args.reps, accounts_per_rep=args.accounts_per_rep)
        print(
            f"seeded {counts['reps']:,} reps, {counts['accounts']:,} accounts, "
            f"{counts['orders']:,} orders, {counts['contacts']:,} contacts, "
            f"{counts['touches']:,} touches in {time.perf_counter() - started:.1f} s"
        )
        concurrency = args.concurrency or max(8, int(2 * args.cap))
        settings = Settings(
            _env_file=None,
            database_url=url,
            slack_bot_token="xoxb-bench",
            delivery_concurrency=concurrency,
            slack_post_rate=args.client_rate or args.cap,
        )
        runtime = Runtime(settings=settings, db=database, clock=fixed_clock(NOW))
        best = None
        for run in range(args.repeat):
            elapsed, cpu, reps_due, items = time_due_lists(runtime)
            best = elapsed if best is None else min(best, elapsed)
            print(
                f"due lists ({'cold' if run == 0 else 'warm'}): {reps_due:,} reps with "
                f"accounts due, {items:,} account messages, computed in {elapsed:.2f} s "
                f"wall, {cpu:.2f} s CPU (target < 2 s; load average "
                f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
            )
        ok = best is not None and best < 2.0
        if not args.skip_delivery:
            ok = deliver(runtime, args, concurrency) and ok
        database.dispose()
    return 0 if ok else 1


def deliver(runtime: Runtime, args: argparse.Namespace, concurrency: int) -> bool:
    from bot.reminders import run_sweep
    from bot.slack_client import make_web_client
    from tests.doubles.slack_double import RateLimits, SlackDouble

    limits = RateLimits(per_channel_per_sec=1.0, burst=args.burst, workspace_per_sec=args.cap)
    with runtime.db.session() as session:
        expected = session.execute(
            sa.select(sa.func.count()).select_from(Rep).where(Rep.active)
        ).scalar_one()
    with SlackDouble(rate_limits=limits) as slack:
        settings = runtime.settings.model_copy(update={"slack_api_url": slack.api_url})
        runtime = Runtime(settings=settings, db=runtime.db, clock=runtime.clock)
        # Delivery's client: slack_sdk retries only 429s (a 5xx may have posted).
        client = make_web_client(settings, only_rate_limits=True)
        rng = random.Random(11)
        channels = [f"DU{r:05d}" for r in range(1, expected + 1)]
        # About 7 posts a rep: one failing post in FAIL_SHARE x 7 of the DMs.
        failing = rng.sample(channels, min(len(channels), round(args.fail_share * 7 * expected)))
        for channel in failing:
            slack.fail_next("chat.postMessage", status=500, after=True, channel=channel)
        started = time.perf_counter()
        result = run_sweep(runtime, client, instance_id="bench")
        wall = time.perf_counter() - started
        in_dms = Counter(
            (channel, m["metadata"]["event_payload"]["position"])
            for channel in channels
            for m in slack.messages(channel)
            if m.get("metadata")
        )
        duplicates = sum(n - 1 for n in in_dms.values() if n > 1)
        with runtime.db.session() as session:
            unrecorded = session.execute(
                sa.select(sa.func.count())
                .select_from(ReminderMessage)
                .where(ReminderMessage.ts.is_(None))
            ).scalar_one()
        failed_posts = sum(1 for _, _, status in slack.rejected if status == 500)
        floor = len(in_dms) / args.cap
        print(
            f"delivery: {len(in_dms):,} messages to {result.sent} reps, cap {args.cap:g}/s, "
            f"concurrency {concurrency}, {failed_posts} posts answered 500 after posting: "
            f"wall {wall:.1f} s, floor {floor:.1f} s, ratio {wall / floor:.3f} "
            f"(target <= 1.10); 429s answered: {slack.throttled}, failed reps: "
            f"{result.failed}, duplicates: {duplicates}, lost (never recorded): {unrecorded}"
        )
        return wall <= 1.10 * floor and result.complete and not duplicates and not unrecorded


if __name__ == "__main__":
    sys.exit(main())
