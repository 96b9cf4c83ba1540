"""The Bolt app factory and `rebuy serve`."""

from __future__ import annotations

import logging
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

import handlers
from bot.retention.errors import RebuyError
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack_client import check_credentials, make_web_client, said_at_start_up
from handlers.home import HomePublisher
from handlers.work import Work

log = logging.getLogger(__name__)


# The work pool runs what listeners do after the ack. A few threads per core: the work
# is mostly CPU (assessing accounts) and more threads would only fight the HTTP request
# threads, which run every ack, for the GIL.
WORK_THREADS = max(4, (os.cpu_count() or 2) * 2)


def slack_identity(client: WebClient, settings: Settings) -> handlers.Identity:
    """Our workspace (auth.test) and app (SLACK_APP_ID, else bots.info for our bot).
    Refuses to start with a sentence saying what is wrong: the token, Slack, or the way
    to it."""
    with said_at_start_up(
        base_url=client.base_url,
        doing="checked its bot token",
        refused="Slack refused the bot token ({code}): check SLACK_BOT_TOKEN.",
        unreachable=(
            f"Could not reach Slack at {client.base_url} to check the bot token ({{reason}}): "
            "check this machine's network{setting}, then start Rebuy again."
        ),
    ):
        auth = client.auth_test()
    app_id = settings.slack_app_id
    if app_id is None and auth.get("bot_id"):
        try:
            app_id = client.bots_info(bot=auth["bot_id"])["bot"].get("app_id")
        except (SlackApiError, KeyError) as error:
            log.warning("could not learn our app id from bots.info: %s", error)
    return handlers.Identity(team_id=auth.get("team_id"), app_id=app_id)


class _ClientGiven(logging.Filter):
    """Bolt warns "As you gave `client` as well, `token` will be unused" whenever
    SLACK_BOT_TOKEN is in the environment, though Rebuy's client carries that very token:
    a line that reads like a problem to an admin on every start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_SLACK_LOG = logging.getLogger("rebuy.slack")
_SLACK_LOG.addFilter(_ClientGiven())


class RebuyApp(App):
    """Bolt's App, plus the services its listeners get through the context."""

    services: handlers.Services


def create_app(runtime: Runtime, *, client: WebClient | None = None) -> RebuyApp:
    """A Bolt app wired to `runtime` (settings, database, clock); nothing global.

    Every listener acks in the HTTP request thread (`process_before_response`), before
    any work can queue in front of it; the work runs afterwards on a small pool.
    """
    settings = runtime.settings
    if not settings.slack_bot_token:
        raise RebuyError(
            "SLACK_BOT_TOKEN is not set: create the app from manifest.yml, "
            "install it, and copy the Bot User OAuth Token."
        )
    check_credentials(settings, "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")
    if not settings.slack_signing_secret and not settings.slack_app_token:
        raise RebuyError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode needs it to verify requests "
            "(or set SLACK_APP_TOKEN for Socket Mode)."
        )
    client = client or make_web_client(settings)
    # Our own auth.test first, so a bad token or an unreachable Slack is said plainly
    # (Bolt then checks the token once more as it starts).
    identity = slack_identity(client, settings)
    app = RebuyApp(
        client=client,
        # Socket Mode needs no signing secret; a random one keeps HTTP closed if this app
        # were ever served over HTTP by mistake.
        signing_secret=settings.slack_signing_secret or secrets.token_hex(32),
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(
            max_workers=WORK_THREADS, thread_name_prefix="rebuy-work"
        ),
        logger=_SLACK_LOG,
    )
    app.services = handlers.Services(
        runtime=runtime,
        work=Work(),
        homes=HomePublisher(runtime),
        identity=identity,
        subcommands=handlers.subcommands(),
    )
    handlers.register(app, app.services)
    return app


def finish_listeners(app: RebuyApp, runtime: Runtime) -> None:
    """Let work already running (a reaction, an App Home) finish, then stop (`runtime`
    stays for the callers; the services live on the app)."""
    app.listener_runner.listener_executor.shutdown(wait=True)
    app.services.shutdown()


def serve(runtime: Runtime) -> None:
    """Run the app: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP on PORT, with
    the reminder scheduler in a process of its own (its CPU work never delays an ack) and
    the account name index kept ready in the background (the first typo after an import
    does not wait for it)."""
    from bot.http_front import make_wsgi_app
    from bot.retention.name_index import keep_warm
    from bot.scheduler import SchedulerProcess
    from bot.server import serve_forever, start_socket_mode

    logging.getLogger().setLevel(logging.INFO)
    settings = runtime.settings
    app = create_app(runtime)
    scheduler = SchedulerProcess(settings).start()
    stop_warming = threading.Event()
    keep_warm(runtime.db.session, stop_warming)
    try:
        if settings.slack_app_token:
            log.info("Rebuy is connecting to Slack over Socket Mode")
            start_socket_mode(app, settings.slack_app_token)
        else:
            log.info("Rebuy is starting its HTTP server on port %s (/slack/events)", settings.port)
            wsgi = make_wsgi_app(
                app, signing_secret=settings.slack_signing_secret, health_check=runtime.db.ping
            )
            serve_forever(wsgi, port=settings.port, threads=settings.listener_threads)
    finally:
        stop_warming.set()
        scheduler.stop()
        finish_listeners(app, runtime)
        runtime.db.dispose()
