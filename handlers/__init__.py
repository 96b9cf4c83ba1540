"""Slack listeners, one module per surface, each with a `register(app, runtime, work)`.

Handlers are the only code that knows Slack payload shapes: they ack, pull plain values
out, call the domain (`bot.retention`), render with `bot.messages`, and reply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt import App, BoltRequest, BoltResponse

from bot.runtime import Runtime
from handlers import away, commands, errors, events, interactions, log_command
from handlers.common import Work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    """Which workspace and app this installation is (from auth.test / bots.info)."""

    team_id: str | None
    app_id: str | None


def _team_and_app(body: dict) -> tuple[object, object]:
    team = body.get("team")
    team_id = body.get("team_id") or (team.get("id") if isinstance(team, dict) else None)
    return team_id, body.get("api_app_id")


def register(app: App, runtime: Runtime, work: Work, identity: Identity) -> None:
    @app.middleware
    def only_ours(request: BoltRequest, next) -> BoltResponse | None:
        """Anything signed with our secret but meant for another workspace or app is
        answered 200 and ignored (one log line)."""
        body = request.body if isinstance(request.body, dict) else {}
        if body.get("type") in ("url_verification", "ssl_check"):
            return next()
        team_id, app_id = _team_and_app(body)
        foreign_team = identity.team_id is not None and team_id != identity.team_id
        foreign_app = identity.app_id is not None and app_id != identity.app_id
        if foreign_team or foreign_app:
            log.info(
                "ignoring a %s for team %.20r, app %.20r (not ours)",
                str(body.get("type") or body.get("command") or "request")[:40],
                team_id,
                app_id,
            )
            return BoltResponse(status=200, body="")
        return next()

    errors.register(app)
    events.register(app, runtime, work)
    commands.register(app, runtime, work)
    log_command.register(app, runtime, work)
    interactions.register(app, runtime, work)
    away.register(app, runtime, work)
