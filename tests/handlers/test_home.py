"""The App Home listener and publisher, called directly."""

from __future__ import annotations

import json

from handlers import home
from models import SlackEvent
from tests.handlers.conftest import ANA, FakeClient
from tests.support import factories as f


def opened(event_id: str = "EvHome1") -> tuple[dict, dict]:
    event = {"type": "app_home_opened", "user": ANA, "tab": "home"}
    return event, {"type": "event_callback", "event_id": event_id, "event": event}


def test_opening_home_asks_for_one_build_per_delivery(runtime, client, homes) -> None:
    event, body = opened()
    home.home_opened(event, body, client, runtime, homes)
    home.home_opened(event, body, client, runtime, homes)  # Slack's retry of it
    assert homes.requested == [ANA]
    with runtime.db.session() as session:
        assert session.get(SlackEvent, "EvHome1") is not None
    messages_tab = {**event, "tab": "messages"}
    home.home_opened(messages_tab, opened("EvHome2")[1], client, runtime, homes)
    assert homes.requested == [ANA]


def test_a_reps_home_shows_their_due_accounts(runtime) -> None:
    with runtime.db.transaction() as session:
        ana = f.rep(session, "ana@seller.example", name="Ana Lima", slack_user_id=ANA)
        f.account(session, "Acme Corp", owner_id=ana.id)
    client = FakeClient()
    home.publish_home(runtime, client, ANA)
    [published] = client.calls_to("views.publish")
    assert published["user_id"] == ANA
    assert published["view"]["type"] == "home"
    shown = json.dumps(published["view"])
    assert "Ana Lima" in shown and "Acme Corp" in shown


def test_someone_who_is_not_a_rep_gets_the_welcome(runtime) -> None:
    client = FakeClient(users={"UNEW": {"id": "UNEW", "profile": {}}})
    home.publish_home(runtime, client, "UNEW")
    [published] = client.calls_to("views.publish")
    assert client.calls_to("users.info") == [{"user": "UNEW"}]
    assert published["view"]["type"] == "home"
    assert "I don't know your accounts yet" in json.dumps(published["view"])
