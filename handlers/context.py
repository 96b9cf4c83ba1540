"""What every listener may ask for by name: Bolt injects a listener's arguments by name
from its `context`, and `ProvideServices` (the app's first middleware) puts the
process's services there: `runtime`, `work` (the work pool's bookkeeping), `homes` (the
App Home publisher), `identity` (our workspace and app) and `subcommands` (the surface
that answers each `/account` verb)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot.runtime import Runtime
from handlers.home import HomePublisher
from handlers.work import Work


@dataclass(frozen=True)
class Identity:
    """Which workspace and app this installation is (from auth.test / bots.info)."""

    team_id: str | None
    app_id: str | None


@dataclass(frozen=True)
class Services:
    """The listeners' services, built once by the app factory."""

    runtime: Runtime
    work: Work
    homes: HomePublisher
    identity: Identity
    subcommands: Mapping[str, Callable[..., None]] = field(default_factory=dict)

    def shutdown(self) -> None:
        """Let Homes being built finish, stop watching work."""
        self.homes.shutdown()
        self.work.shutdown()


class ProvideServices(Middleware):
    """Puts the services in every request's context, for Bolt to inject by name."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        services = self.services
        req.context["runtime"] = services.runtime
        req.context["work"] = services.work
        req.context["homes"] = services.homes
        req.context["identity"] = services.identity
        req.context["subcommands"] = services.subcommands
        return next()
