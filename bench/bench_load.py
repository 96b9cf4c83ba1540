"""Load benchmark: does every signed command get its ack within 3 s under load and faults?

    .venv/bin/python -m bench.bench_load [--requests 300] [--idle 120] [--accounts 2000]
                                         [--sweep] [--sweep-limit 900] [--stall] [--runs 1]

Runs `rebuy serve` (HTTP, with its scheduler process) as a separate process against a
temporary SQLite database and a local Slack Web API double in this process, then:

1. burst: `--requests` signed `/account NAME` commands sent all at once;
2. idle: the same burst while `--idle` clients hold half-sent requests open;
3. with `--sweep`: the reminder time is midnight, so the scheduler process's first
   sweep (10 s after it starts) reminds every rep; commands are sent one after another
   from before it starts until it has finished (at least `--requests`; see
   bench/load_sweep.py), then the bursts (use `--accounts 100000 --orders 1000000`).
   The run fails if the sweep posted no reminder while the commands were sent;
4. with `--stall` (needs PostgreSQL on 127.0.0.1:5432): a second server whose database
   sits behind a local TCP proxy; the proxy then stops forwarding (connections stay open,
   nothing is answered) and a burst of 60 is sent: acks within 3 s, every one answered
   with the apology within 10 s, `/healthz` 503 within 2 s.

Each burst reports acks within 3 s, p50/p99/max ack time. Exit status 1 on a missed ack.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.bench_slack import NOW, SECRET, TOKEN, build_database, percentile, rep_email, rep_user
from bench.load_sweep import commands_during_sweep
from bench.load_sweep import report as load_sweep_report
from tests.doubles.slack_double import SlackDouble
from tests.doubles.stalling_proxy import StallingProxy
from tests.support.slack_signing import FORM, get, post_signed, slash_command_body

ACK_LIMIT = 3.0
APOLOGY_LIMIT = 10.0  # seconds from the burst to the last apology, database stalled
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REPO = Path(__file__).resolve().parent.parent
HALF_REQUEST = (
    b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\ncommand="
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`rebuy serve` in its own process, configured only through the environment."""

    def __init__(self, database_url: str, api_url: str, *, reminder_time: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        env.update(
            DATABASE_URL=database_url,
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=api_url,
            PORT=str(self.port),
            REBUY_NOW=NOW.isoformat(),
            REMINDER_TIME=reminder_time,
            # The morning window must close after REMINDER_TIME (a 23:59 start holds the
            # sweep off; 00:00 runs it at once).
            REMINDER_CUTOFF="23:59:59",
            LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
        )
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("rebuy")), "serve"],
            cwd=tempfile.gettempdir(),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "ab"),  # noqa: SIM115
        )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"rebuy serve exited with {self.process.returncode}")
            try:
                if get(self.url, "/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("rebuy serve did not become healthy")

    def stop(self) -> float:
        """SIGTERM; returns how long the clean stop took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return time.monotonic() - started


def burst(
    url: str, double: SlackDouble, names: list[str], count: int, label: str
) -> tuple[list[float | None], list[str]]:
    """`count` signed `/account NAME` at once; returns ack seconds (None: failed) and keys."""
    rng = random.Random(label)
    keys = [f"{label}-{uuid.uuid4().hex[:8]}" for _ in range(count)]
    bodies = [
        slash_command_body(
            text=rng.choice(names).lower(),
            user_id=rep_user(1 + n % 60),
            response_url=double.response_url(key),
        )
        for n, key in enumerate(keys)
    ]
    go = threading.Barrier(count)

    failures: dict[str, int] = {}

    def send(body: bytes) -> float | None:
        go.wait()
        started = time.perf_counter()
        try:
            status, _, _ = post_signed(url, body, FORM, SECRET, timeout=30)
        except OSError as error:
            status = type(error).__name__
        took = time.perf_counter() - started
        if status != 200:
            failures[str(status)] = failures.get(str(status), 0) + 1
            return None
        return took

    with ThreadPoolExecutor(max_workers=count) as pool:
        acks = list(pool.map(send, bodies))
    if failures:
        print(f"  {label}: not acked with 200: {failures}")
    return acks, keys


def summary(label: str, acks: list[float | None]) -> bool:
    done = [a for a in acks if a is not None]
    within = sum(1 for a in done if a <= ACK_LIMIT)
    ms = [a * 1000 for a in done] or [0.0]
    print(
        f"  {label:<34} acked within 3 s: {within:>4}/{len(acks):<4} "
        f"p50 {percentile(ms, 50):7.0f} ms  p99 {percentile(ms, 99):7.0f} ms  "
        f"max {max(ms):7.0f} ms"
    )
    return within == len(acks)


def answered(double: SlackDouble, keys: list[str], timeout: float, text: str = "") -> int:
    """How many of `keys` got a response_url post (containing `text`) within `timeout`."""
    wanted = set(keys)
    deadline = time.monotonic() + timeout
    while True:
        got = {
            c["response_url"].rsplit("/", 1)[-1]
            for c in double.calls_to("response_url")
            if text in str(c.get("text", ""))
        } & wanted
        if len(got) == len(wanted) or time.monotonic() > deadline:
            return len(got)
        time.sleep(0.2)


def hold_idle(port: int, count: int) -> list[socket.socket]:
    clients = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(HALF_REQUEST)
        clients.append(sock)
    return clients


def stall_scenario(double: SlackDouble, requests: int) -> bool:
    import sqlalchemy as sa

    from bot.db import Database

    name = f"rebuy_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    proxy = StallingProxy(("127.0.0.1", 5432))
    url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/{name}"
    ok = True
    try:
        database = Database(url)
        database.upgrade()
        names = [f"Stall Account {n}" for n in range(200)]
        with database.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO account (external_id, name, name_key, tier, created_at, "
                    "updated_at) VALUES (:e, :n, :k, 'mid', now(), now())"
                ),
                [{"e": f"S{n}", "n": x, "k": x.lower()} for n, x in enumerate(names)],
            )
        database.dispose()
        server = Server(url, double.api_url, reminder_time="23:59")
        try:
            server.wait_ready()
            burst(server.url, double, names, 20, "stall-warm")  # fill the pool
            proxy.stalled.set()
            time.sleep(0.5)
            count = min(requests, 60)
            started = time.monotonic()
            acks, keys = burst(server.url, double, names, count, "stalled")
            ok = summary(f"stalled database, {count} at once", acks)
            apologies = answered(double, keys, 20, "can't reach its database")
            took = time.monotonic() - started
            ok &= apologies == count and took <= APOLOGY_LIMIT
            print(f"  {'':<34} answered with the apology: {apologies}/{count} in {took:.1f} s")
            started = time.monotonic()
            status = get(server.url, "/healthz", timeout=10)[0]
            health_took = time.monotonic() - started
            ok &= status == 503 and health_took < 2
            print(f"  {'':<34} /healthz: {status} in {health_took:.2f} s")
        finally:
            proxy.stalled.clear()
            server.stop()
    finally:
        proxy.close()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--idle", type=int, default=120)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=None, help="default 10 per account")
    parser.add_argument("--sweep", action="store_true", help="morning sweep runs meanwhile")
    parser.add_argument(
        "--sweep-limit", type=float, default=900, help="seconds the sweep may take (900)"
    )
    parser.add_argument("--stall", action="store_true", help="also a stalled PostgreSQL")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    orders = args.orders if args.orders is not None else args.accounts * 10
    ok = True
    with tempfile.TemporaryDirectory(prefix="rebuy-bench-load-") as folder:
        path = Path(folder) / "bench.db"
        started = time.perf_counter()
        names = build_database(path, args.accounts, orders)
        print(f"built {args.accounts:,} accounts in {time.perf_counter() - started:.1f}s")
        with SlackDouble() as double:
            for number in range(1, 61):
                double.add_user(rep_user(number), email=rep_email(number), tz="Europe/Berlin")
            reminder_time = "00:00" if args.sweep else "23:59"
            server = Server(f"sqlite:///{path}", double.api_url, reminder_time=reminder_time)
            try:
                server.wait_ready()
                burst(server.url, double, names, 10, "warm")
                if args.sweep:
                    phase = commands_during_sweep(
                        server.url,
                        double,
                        names,
                        path,
                        at_least=args.requests,
                        time_limit=args.sweep_limit,
                    )
                    ok &= summary(f"{len(phase.acks)} one by one, sweep running", phase.acks)
                    ok &= load_sweep_report(phase, args.sweep_limit)
                for run in range(1, args.runs + 1):
                    print(f"run {run}:")
                    acks, _ = burst(server.url, double, names, args.requests, f"b{run}")
                    ok &= summary(f"{args.requests} at once", acks)
                    idle = hold_idle(server.port, args.idle)
                    try:
                        acks, _ = burst(server.url, double, names, args.requests, f"i{run}")
                        ok &= summary(f"{args.requests} at once, {args.idle} idle held", acks)
                        health = get(server.url, "/healthz", timeout=5)[0]
                        print(f"  {'':<34} /healthz while idle clients held: {health}")
                    finally:
                        for sock in idle:
                            sock.close()
            finally:
                print(f"  clean stop on SIGTERM took {server.stop():.1f} s")
            if args.stall:
                print("stalled database (PostgreSQL behind a proxy that stops answering):")
                ok &= stall_scenario(double, args.requests)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
