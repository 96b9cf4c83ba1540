"""Reminder delivery through Slack's bad weather, against the Slack double: 5xx before
and after posting, timeouts, dropped connections, an unreadable history and 429s. The
promise: every rep's full set within the run, each message exactly once, and when the
history cannot tell what arrived, nothing is posted blindly."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from slack_sdk import WebClient
from typer.testing import CliRunner

from bot import cli
from bot.db import Database
from bot.delivery.reconcile import Backoff
from bot.reminders import run_sweep
from bot.slack_client import make_retry_handlers
from tests.doubles.slack_double import SlackDouble
from tests.support.reminders import (
    FAST,
    TOKEN,
    client_for,
    fast_pacer,
    make_runtime,
    remind_env,
    runs,
    stored_messages,
    two_reps,
)

pytestmark = pytest.mark.real_clock  # the double stamps messages with the real time


def in_slack(double: SlackDouble, channels) -> Counter:
    """How often each (channel, run, position) is in the DM: exactly once is the promise."""
    return Counter(
        (
            channel,
            m["metadata"]["event_payload"]["run_id"],
            m["metadata"]["event_payload"]["position"],
        )
        for channel in channels
        for m in double.messages(channel)
        if m.get("metadata", {}).get("event_type") == "rebuy_reminder"
    )


def sweep(runtime, client=None, **kwargs):
    return run_sweep(
        runtime, client or client_for(runtime), pacer=fast_pacer(), backoff=FAST, **kwargs
    )


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500},
        {"status": 500, "after": True},
        {"status": 503, "after": True},
        {"drop": True},
        {"drop": True, "after": True},
        {"status": 429, "retry_after": 1},
    ],
    ids=["500-before", "500-after", "503-after", "drop-before", "drop-after", "429"],
)
def test_each_fault_is_finished_within_the_run_exactly_once(
    db: Database, double: SlackDouble, fault: dict
) -> None:
    two_reps(db)
    double.fail_next("chat.postMessage", times=2, **fault)
    runtime = make_runtime(db, double)

    result = sweep(runtime)

    assert (result.sent, result.failed, result.complete) == (2, 0, True)
    slots = in_slack(double, ["DU1", "DU2"])
    assert len(slots) == 6 and set(slots.values()) == {1}
    assert all(row.ts for row in stored_messages(db))
    posted = {(m["ts"]) for c in ("DU1", "DU2") for m in double.messages(c)}
    assert {row.ts for row in stored_messages(db)} == posted  # reactions map to these
    if fault.get("after"):
        assert double.calls_to("conversations.history")  # it looked before re-posting


def test_a_timeout_after_posting_is_reconciled_not_reposted(
    db: Database, double: SlackDouble
) -> None:
    two_reps(db, users=("U1",))
    runtime = make_runtime(db, double)
    client = WebClient(
        token=TOKEN,
        base_url=double.api_url,
        timeout=0.3,
        retry_handlers=make_retry_handlers(only_rate_limits=True),
    )
    double.delay("chat.postMessage", 0.6, times=1)  # answered (and posted) after 0.6 s

    result = run_sweep(runtime, client, pacer=fast_pacer(), backoff=Backoff((0.6, 0.6, 0.6)))

    assert (result.sent, result.complete) == (1, True)
    slots = in_slack(double, ["DU1"])
    assert len(slots) == 3 and set(slots.values()) == {1}


@pytest.mark.parametrize(
    "history_fault", [{"status": 500}, {"error": "missing_scope"}], ids=["500", "missing_scope"]
)
def test_unreadable_history_holds_the_message_and_never_posts_blindly(
    db: Database, double: SlackDouble, history_fault: dict
) -> None:
    two_reps(db, users=("U1",))
    double.fail_next("chat.postMessage", drop=True, after=True, times=1)
    double.fail_next("conversations.history", times=None, **history_fault)
    runtime = make_runtime(db, double)

    first = sweep(runtime)
    second = sweep(runtime)  # the next sweep: still unreadable, still held

    assert [o.status for o in first.outcomes] == ["held"]
    assert not first.complete
    assert [o.status for o in second.outcomes] == ["held"]
    assert len(double.messages("DU1")) == 1  # posted once, never again
    (run,) = runs(db)
    assert run.status == "failed" and "held" in run.error

    double.reset()  # the history is readable again
    third = sweep(runtime)

    assert [o.status for o in third.outcomes] == ["sent"]
    slots = in_slack(double, ["DU1"])
    assert len(slots) == 3 and set(slots.values()) == {1}


def test_two_instances_through_faults_send_each_message_once(
    db: Database, double: SlackDouble
) -> None:
    users = [f"U{n}" for n in range(1, 7)]
    two_reps(db, users=users)
    double.fail_next("chat.postMessage", status=500, after=True, times=3)
    double.fail_next("chat.postMessage", drop=True, after=True, times=2)
    runtime = make_runtime(db, double, delivery_concurrency=3)
    start = threading.Barrier(2)
    results = {}

    def instance(name: str) -> None:
        client = client_for(runtime)
        start.wait()
        results[name] = sweep(runtime, client, instance_id=name)

    threads = [threading.Thread(target=instance, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert results["a"].sent + results["b"].sent == len(users)
    slots = in_slack(double, [f"D{u}" for u in users])
    assert len(slots) == 3 * len(users) and set(slots.values()) == {1}
    assert {run.status for run in runs(db)} == {"sent"}


def test_rebuy_remind_through_failing_posts_delivers_everything_and_exits_0(
    db: Database, double: SlackDouble
) -> None:
    two_reps(db)
    double.fail_next("chat.postMessage", status=500, after=True, times=1)
    double.fail_next("chat.postMessage", status=500, times=1)

    result = CliRunner().invoke(cli.app, ["remind"], env=remind_env(db, double))

    assert result.exit_code == 0, result.output
    assert "Sent today's reminders to 2 reps (6 messages)." in result.output
    slots = in_slack(double, ["DU1", "DU2"])
    assert len(slots) == 6 and set(slots.values()) == {1}


def test_rebuy_remind_with_slack_down_exits_1_naming_the_reps(
    db: Database, double: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_reps(db)
    double.fail_next("chat.postMessage", status=503, times=None, channel="DU2")
    monkeypatch.setattr("bot.delivery.reconcile.DELAYS", FAST.delays)

    result = CliRunner().invoke(cli.app, ["remind"], env=remind_env(db, double))

    assert result.exit_code == 1, result.output
    assert "Could not reach 1 rep after retries: u2@example.com" in result.output
    assert "HTTP 503" in result.output
    assert len(double.messages("DU1")) == 3
