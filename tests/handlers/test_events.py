"""Events API listeners called directly: a reaction is stored before the answer, a
repeated delivery is dropped, the message is re-rendered after."""

from __future__ import annotations

import json

from slack_bolt import BoltRequest
from sqlmodel import select

from handlers import events
from handlers.work import TICKET
from models import SlackEvent, Touch
from tests.handlers.conftest import ANA, FakeAck
from tests.support import factories as f

CHANNEL, TS = "DANA", "1700000000.000200"


def reminder(runtime) -> int:
    with runtime.db.transaction() as session:
        rep = f.rep(session, slack_user_id=ANA)
        acct = f.account(session, "Acme Corp", owner_id=rep.id)
        f.sent_reminder(session, rep.id, acct.id, channel=CHANNEL, ts=TS, text="Acme Corp is due")
        return acct.id


def reaction(name: str = "phone", *, event_id: str = "Ev1") -> tuple[dict, dict]:
    event = {
        "type": "reaction_added",
        "user": ANA,
        "reaction": name,
        "item": {"type": "message", "channel": CHANNEL, "ts": TS},
        "event_ts": "1781532000.000100",
    }
    body = {"type": "event_callback", "event_id": event_id, "event": event}
    return event, body


def test_a_reaction_is_stored_before_the_ack_and_shown_after(runtime, work, job, client) -> None:
    acme = reminder(runtime)
    event, body = reaction("phone")
    ack, context = FakeAck(), {}
    assert events.record_reaction(ack, event, body, context, runtime, work) is None
    assert ack.calls == [{}]
    with runtime.db.session() as session:
        [touch] = session.exec(select(Touch)).all()
        assert session.get(SlackEvent, "Ev1") is not None
    assert (touch.account_id, touch.kind) == (acme, "call")

    events.acknowledge_reaction(job(body, **context[TICKET]["data"]))
    [update] = client.calls_to("chat.update")
    assert (update["channel"], update["ts"]) == (CHANNEL, TS)
    assert "Call logged by" in json.dumps(update["blocks"])


def test_a_repeated_delivery_is_answered_at_once_and_not_processed(runtime, work) -> None:
    reminder(runtime)
    event, body = reaction("phone")
    events.record_reaction(FakeAck(), event, body, {}, runtime, work)
    request = BoltRequest(body=json.dumps(body), headers={"x-slack-retry-num": ["1"]})
    went_on = []
    response = events.drop_repeated_deliveries(request, lambda: went_on.append(1), runtime)
    assert response is not None and response.status == 200
    assert went_on == []
    # Even when it gets through (two deliveries at once), the claim keeps it to one touch.
    ack, context = FakeAck(), {}
    events.record_reaction(ack, event, body, context, runtime, work)
    assert ack.calls == [{}] and TICKET not in context
    with runtime.db.session() as session:
        assert len(session.exec(select(Touch)).all()) == 1


def test_an_event_rebuy_does_not_use_is_acked(runtime) -> None:
    ack = FakeAck()
    events.ignore_other_events(ack, {"type": "member_joined_channel"})
    assert ack.calls == [{}]
