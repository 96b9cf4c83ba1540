"""The Bolt app factory and `rebuy serve`."""

from __future__ import annotations

import logging
import secrets
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient

import handlers
from bot.retention.errors import RebuyError
from bot.runtime import Runtime
from bot.slack_client import make_web_client

log = logging.getLogger(__name__)


def create_app(runtime: Runtime, *, client: WebClient | None = None) -> App:
    """A Bolt app wired to `runtime` (settings, database, clock); nothing global.

    Listeners run on a pool large enough that slow work (App Home, reactions) can never
    starve the 3-second acknowledgement of a slash command.
    """
    settings = runtime.settings
    if not settings.slack_signing_secret and not settings.slack_app_token:
        raise RebuyError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode needs it to verify requests "
            "(or set SLACK_APP_TOKEN for Socket Mode)."
        )
    if not settings.slack_bot_token:
        raise RebuyError(
            "SLACK_BOT_TOKEN is not set: create the app from manifest.yml, "
            "install it, and copy the Bot User OAuth Token."
        )
    app = App(
        client=client or make_web_client(settings),
        # Socket Mode needs no signing secret; a random one keeps HTTP closed if this app
        # were ever served over HTTP by mistake.
        signing_secret=settings.slack_signing_secret or secrets.token_hex(32),
        listener_executor=ThreadPoolExecutor(
            max_workers=settings.listener_threads, thread_name_prefix="rebuy-listener"
        ),
        logger=logging.getLogger("rebuy.slack"),
    )
    handlers.register(app, runtime)
    return app


def finish_listeners(app: App, runtime: Runtime) -> None:
    """Let listeners already running (a reaction, an App Home) finish, then stop."""
    app.listener_runner.listener_executor.shutdown(wait=True)
    for background in runtime.caches.get("background", []):
        background.shutdown()


def serve(runtime: Runtime) -> None:
    """Run the app: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP on PORT, with
    the reminder scheduler in a process of its own (its CPU work never delays an ack)."""
    from bot.scheduler import SchedulerProcess
    from bot.server import make_wsgi_app, serve_forever, start_socket_mode

    logging.getLogger().setLevel(logging.INFO)
    settings = runtime.settings
    app = create_app(runtime)
    scheduler = SchedulerProcess(settings).start()
    try:
        if settings.slack_app_token:
            log.info("Rebuy is connecting to Slack over Socket Mode")
            start_socket_mode(app, settings.slack_app_token)
        else:
            log.info("Rebuy is listening on port %s at /slack/events", settings.port)
            wsgi = make_wsgi_app(
                app, signing_secret=settings.slack_signing_secret, health_check=runtime.db.ping
            )
            serve_forever(wsgi, port=settings.port, threads=settings.listener_threads)
    finally:
        scheduler.stop()
        finish_listeners(app, runtime)
        runtime.db.dispose()
