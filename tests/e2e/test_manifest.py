"""The manifest and the code agree: every command and event Slack will send has a
listener, and every listener is for something the manifest subscribes to."""

from __future__ import annotations

import yaml

import handlers
from bot.messages.ids import Action, View
from bot.runtime import Runtime
from handlers.home import HomePublisher
from handlers.work import Work
from tests.support.paths import MANIFEST


class RecordingApp:
    """Stands in for a Bolt App and records what the handlers register."""

    def __init__(self) -> None:
        self.commands: set[str] = set()
        self.events: set[str] = set()
        self.actions: set = set()
        self.views: set[str] = set()
        self.error_handlers = 0

    def _record(self, bucket: set, name):
        # Kept as registered: a pattern such as ^account_show(:\d+)?$ must match the
        # numbered ids the pick lists render.
        bucket.add(name)
        return lambda *function, **ack_and_lazy: function[0] if function else None

    def command(self, name):
        return self._record(self.commands, name)

    def event(self, name):
        return self._record(self.events, name)

    def action(self, name):
        return self._record(self.actions, name)

    def view(self, name):
        return self._record(self.views, name)

    def middleware(self, function):
        return function

    def error(self, function):
        self.error_handlers += 1
        return function


def _registered() -> RecordingApp:
    app = RecordingApp()
    runtime = Runtime(settings=None, db=None, clock=None)  # type: ignore[arg-type]
    services = handlers.Services(
        runtime=runtime,
        work=Work(),
        homes=HomePublisher(runtime),
        identity=handlers.Identity(team_id=None, app_id=None),
        subcommands=handlers.subcommands(),
    )
    try:
        handlers.register(app, services)
    finally:
        services.shutdown()
    return app


def test_manifest_commands_and_events_match_the_listeners() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    app = _registered()
    assert app.commands == commands
    # Named listeners for exactly the subscribed events, plus one that answers any
    # other event type 200 (Slack disables a subscription that keeps failing).
    assert {e for e in app.events if isinstance(e, str)} == events
    assert [e.pattern for e in app.events if not isinstance(e, str)] == [".+"]
    assert app.error_handlers == 1


def test_every_button_and_modal_rebuy_renders_has_a_listener() -> None:
    app = _registered()

    def listeners_for(action_id: str) -> list:
        return [
            m for m in app.actions if (m == action_id if isinstance(m, str) else m.match(action_id))
        ]

    # Pick-list buttons carry the account in their action_id (`account_show:14`).
    rendered = [
        *Action,
        Action.SHOW_ACCOUNT.numbered(14),
        Action.PICK_ACCOUNT.numbered(14),
        Action.AWAY_CANCEL.numbered(3),
        Action.LOG_KIND.numbered(3),  # the kind buttons are numbered within their block
    ]
    assert all(len(listeners_for(action_id)) == 1 for action_id in rendered)
    assert len(app.actions) == len(Action)
    assert app.views == set(View)
    assert yaml.safe_load(MANIFEST.read_text())["settings"]["interactivity"]["is_enabled"]


def test_manifest_asks_for_the_scopes_the_app_uses() -> None:
    scopes = set(yaml.safe_load(MANIFEST.read_text())["oauth_config"]["scopes"]["bot"])
    assert {
        "commands",
        "chat:write",
        "im:write",
        "users:read",
        "users:read.email",
        "reactions:read",
    } <= scopes


def test_manifest_limits() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    info = manifest["display_information"]
    assert len(info["name"]) <= 35
    assert len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000
    for command in manifest["features"]["slash_commands"]:
        assert len(command["usage_hint"]) <= 1000
        assert len(command["description"]) <= 2000
