"""`rebuy serve` runs the scheduler in a process of its own: it starts, sweeps against
the database and Slack it is configured for, and stops cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from bot.scheduler import SchedulerProcess
from bot.settings import Settings
from tests.doubles.slack_double import SlackDouble
from tests.support.factories import NOW

pytestmark = pytest.mark.real_clock  # the double stamps messages with the real time

STARTUP = 30.0  # a spawned interpreter imports everything again; the machine may be busy


@pytest.fixture
def settings(tmp_path: Path, sqlite_template: Path, double: SlackDouble) -> Settings:
    path = tmp_path / "rebuy.db"
    shutil.copy(sqlite_template, path)
    return Settings(
        _env_file=None,
        database_url=f"sqlite:///{path}",
        slack_bot_token="xoxb-test",
        slack_signing_secret="secret",
        slack_api_url=double.api_url,
        rebuy_now=NOW,
    )


@pytest.mark.parametrize("how", ["stop", signal.SIGINT])
def test_the_scheduler_process_sweeps_then_stops_cleanly(
    settings: Settings, double: SlackDouble, how: str | signal.Signals
) -> None:
    scheduler = SchedulerProcess(settings, first_run_in=0.2).start()
    try:
        # The first sweep refreshes reps' time zones from users.list: the child is working.
        double.wait_for("users.list", timeout=STARTUP)
        assert scheduler.pid != os.getpid()
        started = time.monotonic()
        if how == "stop":
            scheduler.stop(timeout=10)
        else:
            os.kill(scheduler.pid, how)
            deadline = time.monotonic() + 10
            while scheduler.is_alive() and time.monotonic() < deadline:
                time.sleep(0.05)
        took = time.monotonic() - started
    finally:
        scheduler.stop(timeout=5)

    assert scheduler.exitcode == 0
    assert took < 5


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found |= {int(child) for child in text.split()}
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_rebuy_serve_runs_the_scheduler_in_a_child_and_stops_both_on_sigterm(
    settings: Settings, double: SlackDouble, tmp_path: Path
) -> None:
    import socket
    import subprocess
    import sys

    from tests.support.slack_signing import get

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(
        DATABASE_URL=settings.database_url,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL=double.api_url,
        PORT=str(port),
        REBUY_NOW=NOW.isoformat(),
    )
    rebuy = Path(sys.executable).with_name("rebuy")
    process = subprocess.Popen([str(rebuy), "serve"], cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + STARTUP
        healthy = False
        while not healthy and time.monotonic() < deadline:
            try:
                healthy = get(f"http://127.0.0.1:{port}", "/healthz", timeout=2)[0] == 200
            except OSError:
                time.sleep(0.2)
        assert healthy, "rebuy serve did not answer /healthz"
        double.wait_for("users.list", timeout=STARTUP)  # the scheduler child swept
        children = _children(process.pid)
        assert children, "the scheduler runs in a child process"

        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # The scheduler (and multiprocessing's resource tracker) end with the server.
    deadline = time.monotonic() + 5
    alive = children
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = {child for child in alive if Path(f"/proc/{child}").exists()}
    assert not alive


def _sigint_disposition(queue) -> None:
    queue.put(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)


def test_the_scheduler_child_starts_with_ctrl_c_ignored_until_its_handler_is_set() -> None:
    # Ctrl-C reaches the whole process group: while the spawned child was still importing
    # bot.scheduler it printed a KeyboardInterrupt traceback. It now inherits SIGINT
    # ignored (run_scheduler_process then installs its own handler), and the parent's
    # handler is back once the child is started.
    import multiprocessing

    from bot.scheduler import _sigint_ignored

    before = signal.getsignal(signal.SIGINT)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_sigint_disposition, args=(queue,))
    with _sigint_ignored():
        child.start()
    assert signal.getsignal(signal.SIGINT) is before
    assert queue.get(timeout=STARTUP) is True
    child.join(STARTUP)
