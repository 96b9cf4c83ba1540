"""Every event type Slack may deliver gets a 2xx through the signed endpoint: a failure
count makes Slack disable the subscription (manifest.yml's bot_events, and any type
subscribed in the app's settings that Rebuy has no use for)."""

from __future__ import annotations

import time

import pytest
import yaml

from tests.support.paths import MANIFEST
from tests.support.slack_app import SlackApp
from tests.support.slack_signing import USER_ID, app_home_opened_event, reaction_event

BOT_EVENTS = yaml.safe_load(MANIFEST.read_text())["settings"]["event_subscriptions"]["bot_events"]


def sample_event(kind: str) -> dict:
    """A delivery of `kind` shaped as Slack sends it."""
    if kind in ("reaction_added", "reaction_removed"):
        return reaction_event("phone", removed=kind == "reaction_removed")
    if kind == "app_home_opened":
        return app_home_opened_event(tab="messages")
    return {"type": kind, "user": USER_ID, "event_ts": f"{time.time():.6f}"}


@pytest.mark.parametrize("kind", BOT_EVENTS)
def test_every_subscribed_event_type_is_answered_2xx(slack_app: SlackApp, kind: str) -> None:
    assert 200 <= slack_app.event(sample_event(kind)) < 300


@pytest.mark.parametrize(
    "kind", ["app_mention", "message", "member_joined_channel", "tokens_revoked", "team_join"]
)
def test_an_event_type_rebuy_does_not_use_is_answered_200_and_ignored(
    slack_app: SlackApp, kind: str
) -> None:
    event = sample_event(kind) | {"channel": "C1", "text": "hello"}
    before = len(slack_app.double.calls)  # auth.test at start-up
    assert slack_app.event(event) == 200
    slack_app.server.stop()
    slack_app.app.listener_runner.listener_executor.shutdown(wait=True)
    assert slack_app.double.calls[before:] == []
