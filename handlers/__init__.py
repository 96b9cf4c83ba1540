"""Slack listeners, one module per surface, each a set of named functions wired by its
`register(app)`: `commands` (`/account`), `log` (`log`, `snooze`, the kind and Undo
buttons), `away` (`away`, `holidays` and the away buttons), `actions` (card and
pick-list buttons), `views` (modal submissions), `events` (reactions, repeats), `home`.

Listeners get `runtime` and the other services by argument name from Bolt's context
(`handlers.context`). They are the only code that knows Slack payload shapes: they ack,
pull plain values out, call the domain (`bot.retention`), render with `bot.messages`,
and reply. Surfaces do not import each other; what they share is in `handlers.common`,
`handlers.work` (the ack path and the work after it) and `handlers.errors`.
"""

from __future__ import annotations

import logging

from slack_bolt import App, BoltRequest, BoltResponse

from handlers import actions, away, commands, errors, events, home, log, views
from handlers.context import Identity, ProvideServices, Services

__all__ = ["Identity", "Services", "register", "subcommands"]

_log = logging.getLogger(__name__)


def _team_and_app(body: dict) -> tuple[object, object]:
    team = body.get("team")
    team_id = body.get("team_id") or (team.get("id") if isinstance(team, dict) else None)
    return team_id, body.get("api_app_id")


def only_ours(request: BoltRequest, next, identity: Identity) -> BoltResponse | None:
    """Anything signed with our secret but meant for another workspace or app is
    answered 200 and ignored (one log line)."""
    body = request.body if isinstance(request.body, dict) else {}
    if body.get("type") in ("url_verification", "ssl_check"):
        return next()
    team_id, app_id = _team_and_app(body)
    foreign_team = identity.team_id is not None and team_id != identity.team_id
    foreign_app = identity.app_id is not None and app_id != identity.app_id
    if foreign_team or foreign_app:
        _log.info(
            "ignoring a %s for team %.20r, app %.20r (not ours)",
            str(body.get("type") or body.get("command") or "request")[:40],
            team_id,
            app_id,
        )
        return BoltResponse(status=200, body="")
    return next()


def subcommands() -> dict:
    """The `/account` verbs answered by surfaces other than `commands`."""
    return {**log.SUBCOMMANDS, **away.SUBCOMMANDS}


def register(app: App, services: Services) -> None:
    """Every middleware and listener, in order (the events catch-all comes last)."""
    app.middleware(ProvideServices(services))
    app.middleware(only_ours)
    errors.register(app)
    commands.register(app)
    log.register(app)
    away.register(app)
    actions.register(app)
    views.register(app)
    home.register(app)
    events.register(app)
