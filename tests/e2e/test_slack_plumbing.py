"""The Slack plumbing, end to end: signed requests over real HTTP (waitress) into a
tiny Bolt app, whose Web API calls land in the local Slack double."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import FixedValueRetryIntervalCalculator, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from bot.http_front import make_wsgi_app
from bot.retention.errors import RebuyError
from bot.server import HttpServer, start_http_server, start_socket_mode
from bot.settings import Settings
from bot.slack_client import AnyServerErrorRetryHandler, make_web_client
from tests.doubles.slack_double import RateLimits, SlackDouble
from tests.support.paths import REPO_ROOT
from tests.support.slack_signing import (
    FORM,
    JSON,
    event_callback_body,
    get,
    post_signed,
    reaction_event,
    slash_command_body,
)

pytestmark = pytest.mark.real_clock  # the double stamps messages with the real time

SECRET = "secret"
TOKEN = "xoxb-test"


def client_for(double: SlackDouble) -> WebClient:
    settings = Settings(_env_file=None, slack_api_url=double.api_url, slack_bot_token=TOKEN)
    return make_web_client(settings)


@pytest.fixture
def reactions_seen() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def server(double: SlackDouble, reactions_seen: list[dict[str, Any]]) -> Iterator[HttpServer]:
    """A tiny Bolt app behind waitress on a free port."""
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="listener")
    app = App(signing_secret=SECRET, client=client_for(double), listener_executor=executor)

    @app.command("/ping")
    def ping(ack, command, client) -> None:
        ack()
        client.chat_postMessage(channel=command["channel_id"], text="pong")

    @app.event("reaction_added")
    def reaction_added(event, body, request) -> None:
        retry_num = request.headers.get("x-slack-retry-num", [None])[0]
        reactions_seen.append({"event_id": body["event_id"], "retry_num": retry_num, **event})

    http = start_http_server(
        make_wsgi_app(app, signing_secret=SECRET), host="127.0.0.1", port=0, threads=4
    )
    yield http
    http.stop()
    executor.shutdown(wait=True)


# --------------------------------------------------------------------------- HTTP front


def test_signed_slash_command_is_acked_and_its_reply_reaches_slack(
    server: HttpServer, double: SlackDouble
) -> None:
    body = slash_command_body("/ping", channel_id="C777", response_url=double.response_url())

    status, _, reply = post_signed(server.url, body, FORM, SECRET)

    assert (status, reply) == (200, b"")
    [message] = double.wait_for("chat.postMessage")
    assert (message["channel"], message["text"]) == ("C777", "pong")
    assert [m["text"] for m in double.messages("C777")] == ["pong"]
    assert double.calls_to("auth.test"), "Bolt checks its token once at start-up"


def test_forged_signature_is_refused(server: HttpServer, double: SlackDouble) -> None:
    status, _, _ = post_signed(server.url, slash_command_body("/ping"), FORM, SECRET, forged=True)

    assert status == 401
    assert double.calls_to("chat.postMessage") == []


def test_stale_timestamp_is_refused(server: HttpServer, double: SlackDouble) -> None:
    status, _, _ = post_signed(server.url, slash_command_body("/ping"), FORM, SECRET, stale=True)

    assert status == 401


def test_event_with_slack_retry_headers_reaches_its_listener(
    server: HttpServer, reactions_seen: list[dict[str, Any]]
) -> None:
    body = event_callback_body(reaction_event("phone"), event_id="Ev42")

    status, _, _ = post_signed(server.url, body, JSON, SECRET, retry_num=1)

    assert status == 200
    deadline = time.monotonic() + 5
    while not reactions_seen and time.monotonic() < deadline:
        time.sleep(0.01)
    [seen] = reactions_seen
    assert (seen["event_id"], seen["retry_num"], seen["reaction"]) == ("Ev42", "1", "phone")


def test_healthz_answers_ok(server: HttpServer) -> None:
    status, headers, body = get(server.url, "/healthz")

    assert status == 200
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body) == {"ok": True}


@pytest.mark.parametrize("path", ["/nope", "/slack/events", "/"])
def test_other_paths_are_404(server: HttpServer, path: str) -> None:
    status, _, body = get(server.url, path)

    assert status == 404
    assert json.loads(body) == {"ok": False, "error": "not_found"}


def test_stop_lets_an_in_flight_request_finish_then_refuses_connections() -> None:
    started = threading.Event()

    def slow_app(environ, start_response):
        started.set()
        time.sleep(0.3)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]

    http = start_http_server(slow_app, host="127.0.0.1", port=0, threads=2)
    result: list[tuple[int, bytes]] = []
    request = threading.Thread(target=lambda: result.append(get(http.url, "/")[::2]))
    request.start()
    assert started.wait(2)

    http.stop()
    request.join(2)

    assert result == [(200, b"done")]
    # Refused, or (under load) reset during the handshake: either way nothing accepts.
    with pytest.raises((ConnectionRefusedError, ConnectionResetError)):
        get(http.url, "/")


def test_serve_forever_stops_cleanly_on_sigterm(double: SlackDouble) -> None:
    script = (
        "import logging, sys\n"
        "logging.basicConfig(stream=sys.stderr, level=logging.INFO)\n"
        "from bot.server import serve_forever\n"
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return [b'']\n"
        "serve_forever(app, host='127.0.0.1', port=0, threads=2)\n"
        "print('stopped', flush=True)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = None
        assert process.stderr is not None
        for line in process.stderr:
            match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            if match:
                port = int(match.group(1))
                break
        assert port, "server did not report its address"
        assert get(f"http://127.0.0.1:{port}", "/healthz")[0] == 200

        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert stdout.strip() == "stopped"


def test_socket_mode_opens_its_connection_with_the_app_token() -> None:
    # Only the bot token is valid here, so Slack refuses `apps.connections.open`
    # unless it is sent with the (here unknown) app token, as it must be.
    with SlackDouble(tokens={TOKEN}) as slack:
        app = App(signing_secret=SECRET, client=client_for(slack))

        with pytest.raises(RebuyError) as refused:
            start_socket_mode(app, "xapp-test")

        assert refused.value.message.startswith(
            "Slack refused the app-level token (invalid_auth): SLACK_APP_TOKEN must be"
        )

        assert [method for method, _ in slack.calls] == ["auth.test", "apps.connections.open"]


# --------------------------------------------------------------------------- Web API client


def test_client_is_configured_with_slack_sdk_retry_handlers(double: SlackDouble) -> None:
    client = client_for(double)

    handlers = {type(h): h.max_retry_count for h in client.retry_handlers}
    assert handlers[RateLimitErrorRetryHandler] >= 5
    assert handlers[AnyServerErrorRetryHandler] >= 3
    assert client.base_url == double.api_url
    assert client.timeout == 10


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_every_5xx_is_retried(double: SlackDouble, status: int) -> None:
    client = client_for(double)
    for handler in client.retry_handlers:  # keep the test quick: no real backoff
        handler.interval_calculator = FixedValueRetryIntervalCalculator(0.01)
    double.fail_next("views.publish", status=status, times=1)
    client.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    assert len(double.calls_to("views.publish")) == 1


def test_the_reminder_client_retries_429s_only(double: SlackDouble) -> None:
    """After a 5xx Slack may have posted: reminder delivery must not post again blindly."""
    settings = Settings(_env_file=None, slack_api_url=double.api_url, slack_bot_token="xoxb-test")
    client = make_web_client(settings, only_rate_limits=True)
    assert [type(h) for h in client.retry_handlers] == [RateLimitErrorRetryHandler]
    double.fail_next("chat.postMessage", status=502, times=1)
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C1", text="hello")


def test_client_waits_out_a_429_and_delivers_once(double: SlackDouble) -> None:
    double.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()

    response = client_for(double).chat_postMessage(channel="C1", text="hello")

    assert response["ok"]
    assert time.monotonic() - started >= 1.0, "Retry-After was honoured"
    assert len(double.calls_to("chat.postMessage")) == 1
    assert [status for _, _, status in double.rejected] == [429]
    assert double.throttled == 1


def test_client_retries_through_two_500s_and_delivers_once(double: SlackDouble) -> None:
    double.fail_next("views.publish", status=500, times=2)
    client = client_for(double)
    # slack_sdk's backoff adds up to 1 s of jitter per retry; what matters here is
    # that 500s are retried, so wait briefly between attempts.
    for handler in client.retry_handlers:
        if isinstance(handler, ServerErrorRetryHandler):
            handler.interval_calculator = FixedValueRetryIntervalCalculator(0.05)

    response = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})

    assert response["ok"]
    assert len(double.calls_to("views.publish")) == 1
    assert [status for _, _, status in double.rejected] == [500, 500]


@pytest.mark.parametrize("method", ["chat.postMessage", "chat.postEphemeral"])
def test_posts_are_not_retried_after_a_5xx(double: SlackDouble, method: str) -> None:
    """Slack may have posted before answering 500: posting again would double it."""
    client = client_for(double)
    double.fail_next(method, status=500, times=1)
    with pytest.raises(SlackApiError):
        client.api_call(method, json={"channel": "C1", "user": "U1", "text": "hello"})
    assert [status for _, _, status in double.rejected] == [500]


def test_slack_errors_are_http_200_and_scoped_to_their_channel(double: SlackDouble) -> None:
    double.fail_next("chat.postMessage", error="channel_not_found", channel="C404", times=None)
    client = client_for(double)

    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel="C404", text="hello")
        assert raised.value.response.status_code == 200
        assert raised.value.response["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="C1", text="hello")["ok"]


def test_rate_limited_double_answers_429_with_retry_after(double: SlackDouble) -> None:
    with SlackDouble(rate_limits=RateLimits(per_channel_per_sec=1.0, burst=2)) as limited:
        client = WebClient(token=TOKEN, base_url=limited.api_url, retry_handlers=[])
        client.chat_postMessage(channel="C1", text="1")
        client.chat_postMessage(channel="C1", text="2")

        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel="C1", text="3")

        assert raised.value.response.status_code == 429
        assert raised.value.response.headers["Retry-After"] == "1"
        assert client.chat_postMessage(channel="C2", text="other channel")["ok"]
        assert limited.throttled == 1


def test_client_delivers_a_burst_through_the_per_channel_limit() -> None:
    # Six at once into a channel that takes bursts of three: three wait out a 429,
    # by then the bucket has refilled (three a second), and all six arrive.
    with SlackDouble(rate_limits=RateLimits(per_channel_per_sec=3.0, burst=3)) as limited:
        client = client_for(limited)
        posts = [("C1", str(n)) for n in range(6)] + [("C2", "elsewhere")]

        with ThreadPoolExecutor(max_workers=len(posts)) as pool:
            responses = list(
                pool.map(lambda p: client.chat_postMessage(channel=p[0], text=p[1]), posts)
            )

        assert all(r["ok"] for r in responses)
        assert limited.throttled >= 1
        assert sorted(m["text"] for m in limited.messages("C1")) == list("012345")
        assert [m["text"] for m in limited.messages("C2")] == ["elsewhere"]
        assert len(limited.calls_to("chat.postMessage")) == len(posts)


# --------------------------------------------------------------------------- the double itself


def test_double_requires_a_token(double: SlackDouble) -> None:
    with pytest.raises(SlackApiError) as raised:
        WebClient(base_url=double.api_url).auth_test()

    assert raised.value.response["error"] == "not_authed"


def test_double_knows_users_and_dm_channels(double: SlackDouble) -> None:
    double.add_user("U1", email="ana@example.com", tz="America/New_York", name="ana")
    double.add_user("U2", email="bo@example.com")
    double.add_user("U3", email="cy@example.com", deleted=True)
    client = client_for(double)

    info = client.users_info(user="U1")["user"]
    assert (info["tz"], info["profile"]["email"]) == ("America/New_York", "ana@example.com")
    assert info["tz_offset"] in (-5 * 3600, -4 * 3600)
    assert client.users_lookupByEmail(email="BO@example.com")["user"]["id"] == "U2"
    with pytest.raises(SlackApiError, match="user_not_found"):
        client.users_info(user="U404")

    pages, cursor = [], None
    while True:
        page = client.users_list(limit=2, cursor=cursor)
        pages.append([m["id"] for m in page["members"]])
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert pages == [["U1", "U2"], ["U3"]]

    dm = client.conversations_open(users="U1")["channel"]["id"]
    assert dm == client.conversations_open(users="U1")["channel"]["id"] == "DU1"
    posted = client.chat_postMessage(channel="U1", text="first")
    client.chat_postMessage(channel=dm, text="second")
    assert posted["channel"] == dm
    history = client.conversations_history(channel=dm)["messages"]
    assert [m["text"] for m in history] == ["second", "first"]
    assert history[0]["ts"] > history[1]["ts"]


def test_double_records_form_and_json_calls_alike(double: SlackDouble) -> None:
    client = client_for(double)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]

    client.api_call(
        "chat.postMessage", params={"channel": "C1", "text": "hi", "blocks": json.dumps(blocks)}
    )
    client.chat_postMessage(channel="C1", text="hi", blocks=blocks)
    view = client.views_publish(user_id="U1", view={"type": "home", "blocks": blocks})["view"]

    assert [c["blocks"] for c in double.calls_to("chat.postMessage")] == [blocks, blocks]
    assert double.home_view("U1") == view
    double.reset()
    assert double.calls == []


def test_double_can_be_slow_for_one_method(double: SlackDouble) -> None:
    double.add_user("U1")
    double.delay("users.info", 0.2, times=1)
    client = client_for(double)

    started = time.monotonic()
    client.users_info(user="U1")
    slow = time.monotonic() - started
    started = time.monotonic()
    client.users_info(user="U1")

    assert slow >= 0.2 > time.monotonic() - started


def test_healthz_reports_a_failing_health_check() -> None:
    def broken() -> None:
        raise ConnectionError("database unreachable")

    bolt = App(token="xoxb-test", signing_secret=SECRET, token_verification_enabled=False)
    with start_http_server(
        make_wsgi_app(bolt, signing_secret=SECRET, health_check=broken),
        host="127.0.0.1",
        port=0,
        threads=2,
    ) as http:
        status, _, body = get(http.url, "/healthz")
    assert status == 503
    assert json.loads(body) == {"ok": False, "error": "ConnectionError"}


# --- start-up: the bot token is checked with auth.test before anything runs ------------


def _start(db, api_url: str, *, client: WebClient | None = None) -> str:
    """The sentence `create_app` refuses to start with."""
    from bot.app import create_app
    from bot.clock import fixed_clock
    from bot.runtime import Runtime
    from tests.support.factories import NOW

    settings = Settings(
        _env_file=None, slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=api_url
    )
    runtime = Runtime(settings=settings, db=db, clock=fixed_clock(NOW))
    with pytest.raises(RebuyError) as refused:
        create_app(runtime, client=client)
    return refused.value.message


def test_a_start_with_slack_bot_token_in_the_environment_logs_no_warning(
    sqlite_db, double: SlackDouble, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    """Bolt reads SLACK_BOT_TOKEN itself and warns that it is unused next to our client
    (which carries that token): an admin reads that as a problem on every start."""
    from bot.app import create_app
    from bot.clock import fixed_clock
    from bot.runtime import Runtime
    from tests.support.factories import NOW

    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    settings = Settings(
        _env_file=None,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=double.api_url,
    )
    with caplog.at_level(logging.WARNING):
        create_app(Runtime(settings=settings, db=sqlite_db, clock=fixed_clock(NOW)))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_start_up_at_an_address_without_api_names_slack_api_url_not_the_token(
    sqlite_db, double: SlackDouble
) -> None:
    # Slack's host, but not its methods' address: Slack says unknown_method, which is
    # no verdict on the token.
    without_api = double.api_url.removesuffix("/").removesuffix("/api") + "/"
    message = _start(sqlite_db, without_api)
    assert message.startswith(f"{without_api} answered that auth.test is no method there")
    assert "check SLACK_API_URL (Slack's Web API address ends in /api/)" in message
    assert "SLACK_BOT_TOKEN" not in message


def test_start_up_with_slack_unreachable_names_the_address_and_what_to_check(sqlite_db) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    message = _start(sqlite_db, f"http://127.0.0.1:{port}/api/")
    assert message.startswith(f"Could not reach Slack at http://127.0.0.1:{port}/api/")
    assert "Connection refused" in message
    assert "check this machine's network (or SLACK_API_URL, which is set)" in message
    assert "Error" not in message.split("(")[0]  # a sentence, not an exception's name


def test_start_up_with_slack_answering_5xx_says_slack_is_in_trouble(
    sqlite_db, double: SlackDouble
) -> None:
    client = client_for(double)
    for handler in client.retry_handlers:  # keep the test quick: no real backoff
        handler.interval_calculator = FixedValueRetryIntervalCalculator(0.01)
    double.fail_next("auth.test", status=503, times=None)
    message = _start(sqlite_db, double.api_url, client=client)
    answered = [status for method, _, status in double.rejected if method == "auth.test"]
    assert answered[:2] == [503, 503]  # retried before giving up
    assert message.startswith("Slack answered HTTP 503 when Rebuy checked its bot token")
    # The double is at a SLACK_API_URL of its own: the setting is named too.
    assert message.endswith("Start Rebuy again in a few minutes; check SLACK_API_URL too.")
    assert "refused the bot token" not in message


def test_start_up_with_a_revoked_token_says_to_check_the_token(
    sqlite_db, double: SlackDouble
) -> None:
    double.fail_next("auth.test", error="token_revoked")
    message = _start(sqlite_db, double.api_url)
    assert message == "Slack refused the bot token (token_revoked): check SLACK_BOT_TOKEN."


def test_start_up_against_an_address_that_is_not_slack_points_at_the_address(sqlite_db) -> None:
    """A wrong SLACK_API_URL, a proxy or a captive portal answering a web page: the
    token is not to blame."""
    import http.server

    class NotSlack(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = b"<html>Not Found</html>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotSlack)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        message = _start(sqlite_db, url)
    finally:
        server.shutdown()
        server.server_close()
    assert message.startswith(f"{url} did not answer like Slack's Web API (HTTP 404")
    assert "check SLACK_API_URL and any proxy" in message
    assert "token" not in message


# --------------------------------------------------------------------------- credentials


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("SLACK_BOT_TOKEN", "xoxb-1-2-abc", None),
        ("SLACK_BOT_TOKEN", "xoxe.xoxb-1-MS0yLTI", None),  # token rotation on
        ("SLACK_BOT_TOKEN", "xoxe.xoxp-1-MS0yLTI", "SLACK_BOT_TOKEN holds a user token"),
        ("SLACK_BOT_TOKEN", "xoxe-1-MS0yLTI", "SLACK_BOT_TOKEN holds a refresh or"),
        ("SLACK_APP_TOKEN", "xapp-1-A1-2-abc", None),
        ("SLACK_SIGNING_SECRET", "8f742231b10e8888abcd99yyyzzz85a5", None),
        ("SLACK_APP_TOKEN", "xoxb-1-2-abc", "SLACK_APP_TOKEN holds a bot token (xoxb-…)"),
        ("SLACK_SIGNING_SECRET", "xoxb-1-2-abc", "SLACK_SIGNING_SECRET holds a bot token"),
        ("SLACK_BOT_TOKEN", "abc", "SLACK_BOT_TOKEN does not look like a bot token"),
        ("SLACK_BOT_TOKEN", "xoxb-1 2", "SLACK_BOT_TOKEN contains spaces"),
    ],
)
def test_a_slack_credential_in_the_wrong_variable_is_named(
    name: str, value: str, problem: str | None
) -> None:
    from bot.slack_client import credential_problem

    said = credential_problem(name, value)
    assert said is None if problem is None else said.startswith(problem)


def test_serve_refuses_the_bot_token_pasted_as_the_signing_secret(double: SlackDouble) -> None:
    from bot.app import create_app
    from bot.runtime import Runtime

    settings = Settings(
        slack_bot_token=TOKEN, slack_signing_secret=TOKEN, slack_api_url=double.api_url
    )
    with pytest.raises(RebuyError) as refused:
        create_app(Runtime(settings=settings, db=None, clock=None))  # type: ignore[arg-type]
    assert refused.value.message == (
        "SLACK_SIGNING_SECRET holds a bot token (xoxb-…): set it to the Signing Secret "
        "(Basic Information, App Credentials)."
    )
    assert double.calls == []


def test_a_busy_port_is_one_sentence() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RebuyError) as refused:
            HttpServer(lambda environ, start_response: [], port=port)
    assert refused.value.message == (
        f"Port {port} is already in use (another `rebuy serve`, or another program): "
        "stop it, or set PORT to a free port, then start Rebuy again."
    )
