"""Bolt injects the services by argument name from the context that `ProvideServices`
fills, in listeners and in their lazy (after the ack) functions alike."""

from __future__ import annotations

import json
import threading
from urllib.parse import urlencode

from slack_bolt import App, BoltRequest
from slack_bolt.authorization import AuthorizeResult

import handlers
from handlers.context import Identity, ProvideServices, Services
from handlers.home import HomePublisher
from handlers.work import Job, Work, accept, after_ack


def test_listeners_and_their_work_get_the_services_by_name(runtime) -> None:
    services = Services(
        runtime=runtime,
        work=Work(),
        homes=HomePublisher(runtime),
        identity=Identity(team_id=None, app_id=None),
        subcommands=handlers.subcommands(),
    )
    app = App(
        signing_secret="secret",
        # No auth.test: this installation is known without asking Slack.
        authorize=lambda **_: AuthorizeResult(
            enterprise_id=None, team_id="T1", bot_token="xoxb-test", bot_user_id="UBOT"
        ),
        request_verification_enabled=False,
        process_before_response=True,
    )
    app.middleware(ProvideServices(services))
    seen: dict = {}
    finished = threading.Event()

    def remember(job: Job) -> None:
        seen.update(runtime=job.runtime, homes=job.homes, text=job.body["text"])
        seen["subcommands"] = sorted(job.subcommands)
        finished.set()

    app.command("/account")(ack=accept, lazy=[after_ack(remember, claim=False)])
    body = urlencode({"command": "/account", "text": "acme", "user_id": "U1", "team_id": "T1"})
    response = app.dispatch(
        BoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})
    )
    try:
        assert response.status == 200
        assert finished.wait(5)
        # The very same objects, not copies: Bolt deep-copies a lazy function's context.
        assert seen["runtime"] is runtime and seen["homes"] is services.homes
        assert seen["text"] == "acme"
        assert seen["subcommands"] == ["away", "holidays", "log", "snooze"]
        assert services.work.done == 1
    finally:
        services.shutdown()


def event_for(team_id: str) -> BoltRequest:
    body = {"type": "event_callback", "team_id": team_id, "api_app_id": "A1"}
    return BoltRequest(body=json.dumps(body), headers={"content-type": ["application/json"]})


def test_a_request_for_another_workspace_is_answered_and_ignored() -> None:
    ours = Identity(team_id="T1", app_id="A1")
    went_on: list[int] = []
    response = handlers.only_ours(event_for("T2"), lambda: went_on.append(1), ours)
    assert response is not None and response.status == 200 and went_on == []
    assert handlers.only_ours(event_for("T1"), lambda: went_on.append(1), ours) is None
    assert went_on == [1]
