"""Daily reminder DMs, end to end against the local Slack Web API double: content and order,
the exactly-once claim through faults, restarts and a second instance, time zones, and
`rebuy remind`."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
from slack_sdk import WebClient
from sqlmodel import select
from typer.testing import CliRunner

from bot import cli
from bot.db import Database
from bot.messages.ids import Action
from bot.messages.reminder import REACTION_HINT
from bot.reminders import (
    MAX_ATTEMPTS,
    TokenBucket,
    claim_run,
    local_reminder_day,
    reps_due_now,
    run_sweep,
    slack_users,
    sync_reps,
)
from models import ReminderRun, Rep, TacticExposure
from tests.doubles.slack_double import SlackDouble
from tests.support import factories
from tests.support.factories import NOW
from tests.support.reminders import (
    MORNING,
    TOKEN,
    client_for,
    due_account,
    fast_pacer,
    fresh_account,
    linked_rep,
    make_runtime,
    posts_by_slot,
    runs,
    stored_messages,
)

TUESDAY = NOW + timedelta(days=1)  # NOW is Monday 15 June 2026, 14:00 UTC


# --- helpers (the shared ones are in tests/support/reminders.py) -------------------------------


def block_text(blocks: list[dict]) -> str:
    parts = []
    for block in blocks:
        if block.get("text"):
            parts.append(block["text"]["text"])
        for element in block.get("elements", []):
            parts.append(element.get("text", "") if isinstance(element.get("text"), str) else "")
    return "\n".join(parts)


# --- content and order --------------------------------------------------------------------


def test_header_then_one_message_per_due_account_in_rank_order(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        ana = linked_rep(session, "U1", name="Ana Lopez")
        alpha = due_account(
            session, ana, "Alpha Supply", value=50_000
        )  # due Fri 1 May: 31 working days overdue
        beta = due_account(session, ana, "Beta Tools", value=20_000, last_touch="2026-05-10")
        gamma = due_account(session, ana, "<!channel> Gamma", value=30_000, last_touch="2026-05-16")
        fresh_account(session, ana, "Delta Fresh")
    runtime = make_runtime(db, double)

    result = run_sweep(runtime, client_for(runtime), pacer=fast_pacer(), instance_id="i1")

    assert (result.sent, result.failed, result.messages) == (1, 0, 4)
    posted = double.messages("DU1")
    assert [m["text"].split(":")[0] for m in posted[1:]] == [
        "Alpha Supply",
        "&lt;!channel&gt; Gamma",  # due today, worth more than Beta's 6 days overdue
        "Beta Tools",
    ]
    header = block_text(posted[0]["blocks"])
    assert "Good afternoon, Ana! 3 accounts need you today." in header  # 16:00 in Berlin
    assert REACTION_HINT in header
    first = posted[1]["blocks"]
    assert "*Alpha Supply* · 31 working days overdue · $50,000 a year" in block_text(first)
    # The header says how late it is; the reasons do not say it again.
    assert block_text(first).count("31 working days") == 1
    assert "Touch overdue" not in block_text(first)
    assert "💡 *" in block_text(first)  # one tactic
    actions = next(block for block in first if block["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == [
        Action.LOG_TOUCH,
        Action.SNOOZE,
        Action.SHOW_ACCOUNT,
    ]
    assert {e["value"] for e in actions["elements"]} == {str(alpha.id)}
    assert "<!channel>" not in str(posted[2])  # escaped everywhere

    rows = stored_messages(db)
    assert [(r.position, r.account_id) for r in rows] == [
        (0, None),
        (1, alpha.id),
        (2, gamma.id),
        (3, beta.id),
    ]
    assert [(r.channel, r.ts) for r in rows] == [("DU1", m["ts"]) for m in posted]
    assert all(r.tactic_id for r in rows[1:]) and rows[0].tactic_id is None
    with db.session() as session:
        shown = session.exec(select(TacticExposure).where(TacticExposure.surface == "reminder"))
        assert sorted((e.account_id, e.tactic_id) for e in shown) == sorted(
            (r.account_id, r.tactic_id) for r in rows[1:]
        )
    (run,) = runs(db)
    assert (run.status, run.local_date, run.attempts) == ("sent", date(2026, 6, 15), 1)


def test_at_most_the_daily_maximum_ranked_by_value_and_lateness(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        rep = linked_rep(session, "U1")
        due_account(session, rep, "Small but very late", value=10_000, last_touch="2026-02-15")
        due_account(session, rep, "Big due today", value=30_000, last_touch="2026-05-16")
        due_account(session, rep, "Mid a month late", value=12_000, last_touch="2026-04-16")
    runtime = make_runtime(db, double, reminder_max_per_day=2)

    run_sweep(runtime, client_for(runtime), pacer=fast_pacer())

    posted = double.messages("DU1")
    assert len(posted) == 3
    assert "2 accounts need you today (1 more due: `/account list due`)" in posted[0]["text"]
    # 10k x (1 + 3 cadences late, capped) = 40k > 30k x 1 > 12k x 2
    assert [m["text"].split(":")[0] for m in posted[1:]] == ["Small but very late", "Big due today"]


def test_nothing_due_sends_nothing_except_a_short_line_on_mondays(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        rep = linked_rep(session, "U1")
        fresh_account(session, rep, "Fresh")
    tuesday = make_runtime(db, double, now=TUESDAY)
    run_sweep(tuesday, client_for(tuesday), pacer=fast_pacer())
    assert double.calls_to("chat.postMessage") == []
    assert [(r.status, r.local_date) for r in runs(db)] == [("empty", TUESDAY.date())]

    with db.transaction() as session:
        session.delete(session.exec(select(ReminderRun)).one())
    monday = make_runtime(db, double)
    run_sweep(monday, client_for(monday), pacer=fast_pacer())
    (line,) = double.messages("DU1")
    assert "All caught up" in line["text"]
    assert [(r.status, r.local_date) for r in runs(db)] == [("empty", NOW.date())]


def test_the_monday_line_does_not_say_the_week_is_clear_when_an_account_is_due_tomorrow(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        rep = linked_rep(session, "U1")
        due_account(session, rep, "Due Tuesday", last_touch="2026-05-17")  # 30 days: 16 Jun
    monday = make_runtime(db, double)
    run_sweep(monday, client_for(monday), pacer=fast_pacer())
    (line,) = double.messages("DU1")
    assert "nothing is due today" in line["text"]
    assert "this week" not in line["text"]


# --- at Slack's pace, through faults --------------------------------------------------------


def test_rate_limits_and_server_errors_lose_nothing_and_duplicate_nothing(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        for user in ("U1", "U2"):
            rep = linked_rep(session, user)
            due_account(session, rep, f"{user} first", value=20_000)
            due_account(session, rep, f"{user} second")
    # (A 5xx on chat.postMessage is never retried blindly: Slack may have posted.)
    double.fail_next("chat.postMessage", status=429, retry_after=1, times=1)
    double.fail_next("conversations.open", status=503, times=1)
    runtime = make_runtime(db, double)

    result = run_sweep(runtime, client_for(runtime), pacer=fast_pacer())

    assert (result.sent, result.failed, result.messages) == (2, 0, 6)
    slots = posts_by_slot(double)
    assert len(slots) == 6 and set(slots.values()) == {1}
    assert {channel for channel, _, _ in slots} == {"DU1", "DU2"}
    rejected = Counter((method, status) for method, _, status in double.rejected)
    assert rejected == {
        ("chat.postMessage", 429): 1,
        ("conversations.open", 503): 1,
    }
    assert all(row.ts for row in stored_messages(db))
    assert {run.status for run in runs(db)} == {"sent"}


def test_dm_channel_is_opened_once_per_rep_and_cached(db: Database, double: SlackDouble) -> None:
    with db.transaction() as session:
        rep = linked_rep(session, "U1")
        for n in range(3):
            due_account(session, rep, f"Account {n}")
    runtime = make_runtime(db, double)
    run_sweep(runtime, client_for(runtime), pacer=fast_pacer())
    tuesday = make_runtime(db, double, now=TUESDAY)
    run_sweep(tuesday, client_for(tuesday), pacer=fast_pacer())

    assert double.calls_to("conversations.open") == [{"users": "U1"}]
    assert [p["channel"] for p in double.calls_to("chat.postMessage")] == ["DU1"] * 8
    with db.session() as session:
        assert session.exec(select(Rep.dm_channel_id)).one() == "DU1"


def test_one_reps_failure_never_stops_the_others_and_is_retried_next_sweep(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        for user in ("U1", "U2", "U3"):
            rep = linked_rep(session, user, dm_channel_id=f"D{user}")
            due_account(session, rep, f"{user} account")
    double.fail_next("chat.postMessage", error="channel_not_found", channel="DU2", times=None)
    double.fail_next("chat.postMessage", error="account_inactive", channel="DU3", times=None)
    runtime = make_runtime(db, double)
    client = client_for(runtime)

    first = run_sweep(runtime, client, pacer=fast_pacer())

    assert (first.sent, first.failed) == (1, 2)
    assert len(double.messages("DU1")) == 2
    by_rep = {run.rep_id: run for run in runs(db)}
    assert [(r.status, r.error) for r in by_rep.values()] == [
        ("sent", None),
        ("failed", "channel_not_found"),
        ("failed", "account_inactive"),
    ]
    with db.session() as session:
        channels = dict(session.exec(select(Rep.slack_user_id, Rep.dm_channel_id)).all())
    assert channels == {"U1": "DU1", "U2": None, "U3": "DU3"}  # a vanished DM is reopened

    double.reset()  # the workspace recovers
    second = run_sweep(runtime, client, pacer=fast_pacer())

    assert (second.sent, second.failed, second.plan.finished) == (2, 0, 1)
    assert double.calls_to("conversations.open") == [{"users": "U2"}]
    assert set(posts_by_slot(double).values()) == {1}
    assert len(double.messages("DU1")) == 2  # nothing sent twice
    assert {run.status for run in runs(db)} == {"sent"}
    assert [run.attempts for run in runs(db)] == [1, 2, 2]


def test_a_failing_rep_stops_being_retried_after_max_attempts(db: Database) -> None:
    with db.transaction() as session:
        rep = linked_rep(session, "U1")
    day = NOW.date()
    for attempt in range(MAX_ATTEMPTS):
        with db.transaction() as session:
            run = claim_run(session, rep_id=rep.id, local_date=day, now=NOW, instance_id="i")
            assert run is not None and run.attempts == attempt + 1
            run.status = "failed"
            session.add(run)
    with db.transaction() as session:
        assert claim_run(session, rep_id=rep.id, local_date=day, now=NOW, instance_id="i") is None
    assert reps_due_now(make_runtime(db)) == []


# --- exactly once: restarts and concurrent instances -----------------------------------------


class Crash(BaseException):
    """The process dies: nothing after this runs, no error handling marks the run."""


class CrashingClient:
    """A WebClient whose process dies right after its `after`-th chat.postMessage reached
    Slack (posted, but its ts never stored), or right before it (`before=True`)."""

    def __init__(self, client: WebClient, *, after: int, before: bool = False) -> None:
        self._client = client
        self._after = after
        self._before = before
        self.posts = 0

    def __getattr__(self, name: str):
        return getattr(self._client, name)

    def chat_postMessage(self, **kwargs):
        if self._before and self.posts + 1 >= self._after:
            raise Crash()
        response = self._client.chat_postMessage(**kwargs)
        self.posts += 1
        if self.posts >= self._after:
            raise Crash()
        return response


@pytest.mark.parametrize("before", [False, True], ids=["crash-after-post", "crash-before-post"])
def test_a_restart_mid_run_resumes_without_double_sending(
    db: Database, double: SlackDouble, before: bool
) -> None:
    with db.transaction() as session:
        rep = linked_rep(session, "U1")
        for n in range(4):
            due_account(session, rep, f"Account {n}", value=10_000 * (n + 1))
    runtime = make_runtime(db, double)

    with pytest.raises(Crash):
        run_sweep(
            runtime,
            CrashingClient(client_for(runtime), after=3, before=before),
            pacer=fast_pacer(),
            instance_id="dead",
        )
    sent_before_crash = 3 if not before else 2
    assert len(double.messages("DU1")) == sent_before_crash
    (run,) = runs(db)
    assert (run.status, run.claimed_by) == ("claimed", "dead")
    assert len(stored_messages(db)) == 5  # all written before the first post
    assert sum(1 for row in stored_messages(db) if row.ts) == 2

    # Restarted at once: the dead instance's lease still holds, nothing is sent.
    soon = make_runtime(db, double, now=NOW + timedelta(minutes=2))
    early = run_sweep(soon, client_for(soon), pacer=fast_pacer(), instance_id="new")
    assert early.count("skipped") == 1 and len(double.messages("DU1")) == sent_before_crash

    # Once the lease has run out the new instance takes over and finishes the run.
    later = make_runtime(db, double, now=NOW + timedelta(minutes=11))
    resumed = run_sweep(later, client_for(later), pacer=fast_pacer(), instance_id="new")

    assert resumed.sent == 1
    assert resumed.messages == 5 - sent_before_crash
    slots = posts_by_slot(double)
    assert sorted(position for _, _, position in slots) == [0, 1, 2, 3, 4]
    assert set(slots.values()) == {1}
    posted = double.messages("DU1")
    assert [(row.channel, row.ts) for row in stored_messages(db)] == [
        ("DU1", m["ts"]) for m in posted
    ]
    (run,) = runs(db)
    assert (run.status, run.claimed_by, run.attempts) == ("sent", "new", 2)


def test_two_instances_sweeping_one_database_send_each_reminder_once(
    db: Database, double: SlackDouble
) -> None:
    users = [f"U{n}" for n in range(1, 7)]
    with db.transaction() as session:
        for user in users:
            rep = linked_rep(session, user)
            due_account(session, rep, f"{user} a", value=20_000)
            due_account(session, rep, f"{user} b")
    runtime = make_runtime(db, double, delivery_concurrency=3)
    start = threading.Barrier(2)
    results = {}

    def instance(name: str) -> None:
        client = client_for(runtime)
        start.wait()
        results[name] = run_sweep(runtime, client, pacer=fast_pacer(), instance_id=name)

    threads = [threading.Thread(target=instance, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert results["a"].sent + results["b"].sent == len(users)
    slots = posts_by_slot(double)
    assert len(slots) == 3 * len(users) and set(slots.values()) == {1}
    assert {run.status for run in runs(db)} == {"sent"} and len(runs(db)) == len(users)
    again = run_sweep(runtime, client_for(runtime), pacer=fast_pacer(), instance_id="c")
    assert (again.sent, again.plan.finished) == (0, len(users))
    assert len(double.calls_to("chat.postMessage")) == 3 * len(users)


def test_claims_are_exclusive_until_they_fail_or_their_lease_runs_out(db: Database) -> None:
    with db.transaction() as session:
        rep = linked_rep(session, "U1")
    day = NOW.date()

    def claim(at: datetime, who: str):
        with db.transaction() as session:
            run = claim_run(session, rep_id=rep.id, local_date=day, now=at, instance_id=who)
            return (run.claimed_by, run.attempts) if run else None

    assert claim(NOW, "a") == ("a", 1)
    assert claim(NOW + timedelta(minutes=9), "b") is None  # a's lease holds
    assert claim(NOW + timedelta(minutes=11), "b") == ("b", 2)  # a died
    assert claim(NOW + timedelta(minutes=12), "a") is None
    with db.transaction() as session:
        run = session.exec(select(ReminderRun)).one()
        run.status = "sent"
        session.add(run)
    assert claim(NOW + timedelta(hours=5), "c") is None  # sent is final


# --- time zones ----------------------------------------------------------------------------


NINE = time(9, 0)


@pytest.mark.parametrize(
    ("utc", "tz", "expected"),
    [
        # Auckland is 12 hours ahead: Sunday evening UTC is Monday morning there.
        ("2026-06-14T21:30", "Pacific/Auckland", "2026-06-15"),
        ("2026-06-14T20:30", "Pacific/Auckland", None),  # Monday 08:30 there
        ("2026-06-19T22:00", "Pacific/Auckland", None),  # Saturday 10:00 there
        # Los Angeles is 7 hours behind: Tuesday 03:00 UTC is still Monday evening there.
        ("2026-06-16T03:00", "America/Los_Angeles", None),  # Monday 20:00: window passed
        ("2026-06-16T07:30", "America/Los_Angeles", None),  # Tuesday 00:30: not Monday late
        ("2026-06-16T16:00", "America/Los_Angeles", "2026-06-16"),  # Tuesday 09:00 sharp
        ("2026-06-15T18:59", "America/Los_Angeles", "2026-06-15"),  # Monday 11:59 there
        ("2026-06-15T19:00", "America/Los_Angeles", None),  # Monday 12:00: the cut-off
        # Berlin around the switch to summer time (Sunday 29 March 2026).
        ("2026-03-27T07:30", "Europe/Berlin", None),  # Friday 08:30 CET
        ("2026-03-27T08:00", "Europe/Berlin", "2026-03-27"),  # Friday 09:00 CET
        ("2026-03-30T07:00", "Europe/Berlin", "2026-03-30"),  # Monday 09:00 CEST
        ("2026-03-30T06:59", "Europe/Berlin", None),  # Monday 08:59 CEST
        # ...and back to winter time (Sunday 25 October 2026).
        ("2026-10-26T07:30", "Europe/Berlin", None),  # Monday 08:30 CET (09:30 in CEST)
        ("2026-10-26T08:00", "Europe/Berlin", "2026-10-26"),
        # New York: summer time from Sunday 8 March, winter time from Sunday 1 November.
        ("2026-03-09T13:30", "America/New_York", "2026-03-09"),  # 09:30 EDT
        ("2026-03-06T13:30", "America/New_York", None),  # Friday 08:30 EST
        ("2026-11-02T13:30", "America/New_York", None),  # Monday 08:30 EST
        ("2026-11-02T14:00", "America/New_York", "2026-11-02"),
        ("2026-06-13T12:00", "Europe/Berlin", None),  # Saturday
        ("2026-06-15T09:00", "Not/AZone", "2026-06-15"),  # unknown zone: UTC
    ],
)
def test_local_reminder_day(utc: str, tz: str, expected: str | None) -> None:
    now = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    day = local_reminder_day(now, tz, NINE)
    assert day == (date.fromisoformat(expected) if expected else None)


def test_the_sweep_claims_each_reps_own_local_day_and_never_yesterday(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        kiwi = linked_rep(session, "U1", tz="Pacific/Auckland")
        angeleno = linked_rep(session, "U2", tz="America/Los_Angeles")
        due_account(session, kiwi, "Kiwi account")
        due_account(session, angeleno, "LA account")

    def sweep_at(iso: str):
        runtime = make_runtime(db, double, now=datetime.fromisoformat(iso).replace(tzinfo=UTC))
        return run_sweep(runtime, client_for(runtime), pacer=fast_pacer())

    def claimed() -> set[tuple[int, date]]:
        return {(run.rep_id, run.local_date) for run in runs(db)}

    # Monday 09:30 in Auckland, Sunday 14:30 in Los Angeles.
    result = sweep_at("2026-06-14T21:30")
    assert (result.sent, result.plan.weekend) == (1, 1)
    assert claimed() == {(kiwi.id, date(2026, 6, 15))}
    # The instance was down all Monday in Los Angeles; at Tuesday 00:30 there it is too late
    # for Monday's and too early for Tuesday's (Auckland, at Tuesday 19:30, gets Tuesday's).
    result = sweep_at("2026-06-16T07:30")
    assert (result.sent, result.plan.waiting) == (1, 1)
    assert claimed() == {(kiwi.id, date(2026, 6, 15)), (kiwi.id, date(2026, 6, 16))}
    # Tuesday 09:30 in Los Angeles (Wednesday 04:30 in Auckland: not yet there).
    result = sweep_at("2026-06-16T16:30")
    assert (result.sent, result.plan.waiting) == (1, 1)
    assert claimed() == {
        (kiwi.id, date(2026, 6, 15)),
        (kiwi.id, date(2026, 6, 16)),
        (angeleno.id, date(2026, 6, 16)),
    }


def test_a_day_that_failed_is_not_retried_once_the_reps_day_is_over(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        rep = linked_rep(session, "U1", tz="America/Los_Angeles")
        due_account(session, rep, "LA account")
        session.add(
            ReminderRun(
                rep_id=rep.id,
                local_date=date(2026, 6, 15),
                status="failed",
                error="ratelimited",
                lease_until=NOW,
                created_at=NOW,
            )
        )
    # Tuesday 08:00 in Los Angeles: Monday's failure stays failed, nothing is sent.
    early = make_runtime(db, double, now=datetime(2026, 6, 16, 15, 0, tzinfo=UTC))
    assert run_sweep(early, client_for(early), pacer=fast_pacer()).sent == 0
    assert double.calls_to("chat.postMessage") == []
    # Tuesday 09:00: Tuesday's reminder.
    on_time = make_runtime(db, double, now=datetime(2026, 6, 16, 16, 0, tzinfo=UTC))
    assert run_sweep(on_time, client_for(on_time), pacer=fast_pacer()).sent == 1
    assert sorted((r.local_date, r.status) for r in runs(db)) == [
        (date(2026, 6, 15), "failed"),
        (date(2026, 6, 16), "sent"),
    ]


def test_reps_due_now_skips_weekends_unlinked_inactive_and_finished_reps(db: Database) -> None:
    with db.transaction() as session:
        berlin = linked_rep(session, "U1")
        linked_rep(session, "U2", tz="Pacific/Auckland")  # Tuesday 02:00 there: not yet
        factories.rep(session, email="nobody@example.com")  # no Slack user
        linked_rep(session, "U4", active=False)
        done = linked_rep(session, "U5")
        session.add(
            ReminderRun(
                rep_id=done.id,
                local_date=NOW.date(),
                status="sent",
                lease_until=NOW,
                created_at=NOW,
            )
        )
    assert [(t.rep_id, day) for t, day in reps_due_now(make_runtime(db))] == [
        (berlin.id, NOW.date())
    ]
    saturday = make_runtime(db, now=datetime(2026, 6, 20, 10, 0, tzinfo=UTC))
    assert reps_due_now(saturday) == []


# --- pace -----------------------------------------------------------------------------------


def test_token_bucket_spaces_calls_at_its_rate_after_the_burst() -> None:
    clock = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))
        clock[0] += seconds

    bucket = TokenBucket(4.0, 2, clock=lambda: clock[0], sleep=sleep)
    for _ in range(5):
        bucket.acquire()
    assert waits == [0.25, 0.25, 0.25]  # two at once, then one every quarter second
    clock[0] += 10  # idle: the burst refills, but no further
    assert bucket.reserve() == 0 and bucket.reserve() == 0 and bucket.reserve() == 0.25


# --- reps and time zones from Slack -----------------------------------------------------------


def test_sync_reps_pages_through_users_list_and_refreshes_time_zones(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        factories.rep(session, email="ana@example.com")
        factories.rep(session, email="bo@example.com", tz="Europe/Berlin")
        gone = factories.rep(session, email="gone@example.com")
        for name in ("Left One", "Left Two"):
            factories.account(session, name, owner_id=gone.id)
        factories.rep(session, email="back@example.com", active=False)
        for n in range(12):
            factories.rep(session, email=f"nobody{n:02d}@example.com")
    double.add_user("U9", email="back@example.com")
    double.add_user("U1", email="Ana@Example.com", tz="America/Los_Angeles", real_name="Ana L")
    double.add_user("U2", email="bo@example.com", tz="Asia/Tokyo")
    double.add_user("U3", email="gone@example.com", deleted=True)
    double.add_user("UB", email="bot@example.com", is_bot=True)
    runtime = make_runtime(db, double)
    client = client_for(runtime)

    assert [u.id for u in slack_users(client, page_size=2)] == ["U9", "U1", "U2", "U3"]
    assert len(double.calls_to("users.list")) == 3  # paginated (5 users, 2 a page)

    summary = sync_reps(runtime, client)

    assert "3 reps linked" in summary and "1 rep deactivated (user deleted in Slack)" in summary
    assert "1 rep back in Slack and active again" in summary
    assert "2 accounts are owned by reps no longer in Slack, so nobody is reminded" in summary
    assert "No Slack user has the e-mail of 12 reps: nobody00@example.com" in summary
    assert summary.endswith("nobody09@example.com and 2 more.")
    with db.session() as session:
        reps = {r.email: r for r in session.exec(select(Rep))}
    assert (reps["ana@example.com"].slack_user_id, reps["ana@example.com"].tz) == (
        "U1",
        "America/Los_Angeles",
    )
    assert reps["bo@example.com"].tz == "Asia/Tokyo"
    assert reps["ana@example.com"].tz_synced_at == NOW
    assert reps["gone@example.com"].active is False


# --- rebuy remind ----------------------------------------------------------------------------


def _cli_env(db: Database, double: SlackDouble, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": db.url,
        "REBUY_NOW": MORNING.isoformat(),
        "SLACK_API_URL": double.api_url,
        **extra,
    }


def test_rebuy_remind_dry_run_prints_the_messages_and_sends_nothing(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        rep = linked_rep(session, "U1", name="Ana Lopez")
        due_account(session, rep, "Alpha [Supply]", value=50_000)
        other = linked_rep(session, "U2")
        due_account(session, other, "Other account")

    result = CliRunner().invoke(
        cli.app, ["remind", "--dry-run", "--rep", "u1@example.com"], env=_cli_env(db, double)
    )

    assert result.exit_code == 0, result.output
    assert "To u1@example.com" in result.output
    assert "Good morning, Ana! 1 account needs you today." in result.output
    assert "*Alpha [Supply]* · 31 working days overdue" in result.output
    assert "[Log a touch]  [Snooze]  [Details]" in result.output
    assert "Other account" not in result.output
    assert "Dry run: nothing sent. Would remind 1 rep." in result.output
    assert double.calls == [] and runs(db) == []


def test_rebuy_remind_sends_inside_the_window_and_a_second_run_sends_nothing(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        rep = linked_rep(session, "U1")  # Monday 10:00 in Berlin
        due_account(session, rep, "Due account")
        late = linked_rep(session, "U3", tz="Pacific/Auckland")  # Monday 20:00 there
        due_account(session, late, "Too late today")
        idle = linked_rep(session, "U2")
        fresh_account(session, idle, "Fresh account")
        factories.rep(session, email="new@example.com")
    env = _cli_env(db, double, SLACK_BOT_TOKEN=TOKEN)

    first = CliRunner().invoke(cli.app, ["remind"], env=env)
    second = CliRunner().invoke(cli.app, ["remind"], env=env)

    assert first.exit_code == 0, first.output
    assert "u1@example.com: 2 messages sent" in first.output
    assert "Sent today's reminders to 1 rep (2 messages)." in first.output
    assert "1 rep: nothing due." in first.output
    assert "not linked to a Slack user (run `rebuy reps sync`): new@example.com" in first.output
    assert "past REMINDER_CUTOFF in their time zone" in first.output
    assert "u3@example.com" in first.output
    assert second.exit_code == 0, second.output
    assert "No reminders sent." in second.output
    assert "1 rep already had today's reminder" in second.output
    assert len(double.calls_to("chat.postMessage")) == 2
    assert [(r.local_date, r.status) for r in runs(db)] == [(date(2026, 6, 15), "sent")]
    assert double.messages("DU3") == []


def test_rebuy_remind_without_a_bot_token_says_what_to_do(db: Database) -> None:
    result = CliRunner().invoke(
        cli.app, ["remind"], env={"DATABASE_URL": db.url, "REBUY_NOW": NOW.isoformat()}
    )
    assert result.exit_code != 0
    assert "SLACK_BOT_TOKEN is not set" in str(result.exception)


@pytest.mark.parametrize("command", [["remind"], ["reps", "sync"]])
def test_a_refused_bot_token_is_one_sentence_before_any_work(
    db: Database, command: list[str]
) -> None:
    # Before: `reps sync` printed "Something went wrong: SlackApiError: …" and `remind`
    # "could not be reached (invalid_auth)" for every rep, as if the reps were the problem.
    with db.transaction() as session:
        due_account(session, linked_rep(session, "U1"), "Due account")
    with SlackDouble(tokens={TOKEN}) as slack:
        env = _cli_env(db, slack, SLACK_BOT_TOKEN="xoxb-revoked")
        result = CliRunner().invoke(cli.app, command, env=env)
        assert [method for method, _ in slack.calls] == ["auth.test"]
    assert result.exit_code != 0
    assert str(result.exception) == (
        "Slack refused the bot token (invalid_auth): check SLACK_BOT_TOKEN."
    )


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("xapp-1-A1-2-abc", "SLACK_BOT_TOKEN holds an app-level token (xapp-…)"),
        ("xoxp-1-2-3", "SLACK_BOT_TOKEN holds a user token (xoxp-…)"),
        ("\u201cxoxb-1-2\u201d", "SLACK_BOT_TOKEN contains spaces, quotes or non-ASCII"),
    ],
)
def test_a_token_in_the_wrong_variable_is_named_without_asking_slack(
    db: Database, double: SlackDouble, token: str, says: str
) -> None:
    result = CliRunner().invoke(
        cli.app, ["reps", "sync"], env=_cli_env(db, double, SLACK_BOT_TOKEN=token)
    )
    assert result.exit_code != 0
    assert str(result.exception).startswith(says)
    assert "Bot User OAuth Token (xoxb-…" in str(result.exception)
    assert double.calls == []
