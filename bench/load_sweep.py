"""The `--sweep` phase of bench_load: one-by-one commands while the morning sweep posts.

The scheduler process runs its first sweep 10 s after it starts (REMINDER_TIME=00:00,
so every rep is due at once); the commands start right after the server is healthy and
go on, one after another (each once the previous one's card reached Slack, as a rep
would send them), until at least `--requests` were sent AND every rep's
reminder run for the day has finished (read from the bench database), or the time
limit passes. The phase reports how many reminder messages were posted before it and
while it ran; a sweep that posted nothing during the commands fails the run, since the
acks would then not have been measured under the sweep's load.
"""

from __future__ import annotations

import random
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.bench_slack import NOW, REPS, SECRET, percentile, rep_user
from handlers.errors import DATABASE_BUSY, DATABASE_DOWN, SORRY
from handlers.work import SLOW
from tests.doubles.slack_double import SlackDouble
from tests.support.slack_signing import FORM, post_signed, slash_command_body

REP_TZ = "Europe/Berlin"  # every bench rep's Slack time zone (see bench_load.main)
CHECK_EVERY = 1.0  # seconds between looks at the reminder runs
APOLOGIES = {SORRY, DATABASE_DOWN, DATABASE_BUSY}
ANSWER_LIMIT = 60.0  # seconds a command's card may take before the next command is sent


@dataclass
class SweepPhase:
    acks: list[float | None] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)  # until the card reached Slack
    unanswered: int = 0
    slow_notes: int = 0  # "taking longer than it should" posted before the answer
    apologies: int = 0  # answered with "couldn't finish that" instead of the card
    posted_before: int = 0
    posted_during: int = 0
    reps_finished: int = 0
    seconds: float = 0.0
    first_post_at: float | None = None  # seconds into the phase
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def swept_meanwhile(self) -> bool:
        return self.posted_during > 0


def reps_finished(database: Path) -> int:
    """Reps whose reminder run for the bench day has finished (sent, empty or failed)."""
    day = NOW.astimezone(ZoneInfo(REP_TZ)).date().isoformat()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
        row = connection.execute(
            "SELECT count(*) FROM reminder_run WHERE local_date = ? AND status != 'claimed'",
            (day,),
        ).fetchone()
    return int(row[0])


def _posted(double: SlackDouble) -> int:
    return len(double.calls_to("chat.postMessage"))


def _answer(double: SlackDouble, key: str, seen: int, timeout: float) -> tuple[bool, str | None]:
    """Wait for `key`'s answer on its response_url (`seen` posts were there before):
    (whether the "taking longer" note came first, the answer's text or None)."""
    deadline = time.monotonic() + timeout
    slow = False
    while (left := deadline - time.monotonic()) > 0:
        try:
            found = double.wait_for("response_url", count=seen + 1, timeout=left)
        except AssertionError:
            break
        for call in found[seen:]:
            if call["response_url"].endswith(f"/{key}"):
                text = str(call.get("text", ""))
                if text == SLOW:
                    slow = True
                else:
                    return slow, text
        seen = len(found)
    return slow, None


def _send_one(url: str, double: SlackDouble, body: bytes, key: str, phase: SweepPhase) -> None:
    """One signed command; its ack, then its answer, recorded in `phase`."""
    seen = len(double.calls_to("response_url"))
    sent = time.perf_counter()
    try:
        status = post_signed(url, body, FORM, SECRET, timeout=30)[0]
    except OSError as error:
        status = type(error).__name__
    phase.acks.append(time.perf_counter() - sent if status == 200 else None)
    if status != 200:
        phase.failures[str(status)] = phase.failures.get(str(status), 0) + 1
        return
    slow, text = _answer(double, key, seen, ANSWER_LIMIT)
    phase.slow_notes += slow
    if text is None:
        phase.unanswered += 1
    else:
        phase.answers.append(time.perf_counter() - sent)
        phase.apologies += text in APOLOGIES


def commands_during_sweep(
    url: str,
    double: SlackDouble,
    names: list[str],
    database: Path,
    *,
    at_least: int,
    time_limit: float,
) -> SweepPhase:
    """Signed `/account NAME`, each sent once the previous one was answered (as a rep
    would), until the sweep is done (see module doc)."""
    rng = random.Random("sequential")
    phase = SweepPhase(posted_before=_posted(double))
    started = time.monotonic()
    next_check = started
    n = 0
    while True:
        now = time.monotonic()
        if now >= next_check:
            next_check = now + CHECK_EVERY
            phase.reps_finished = reps_finished(database)
            done = phase.reps_finished >= REPS
            if (n >= at_least and done) or now - started > time_limit:
                break
        body = slash_command_body(
            text=rng.choice(names).lower(),
            user_id=rep_user(1 + n % REPS),
            response_url=double.response_url(f"seq-{n}"),
        )
        _send_one(url, double, body, f"seq-{n}", phase)
        if phase.first_post_at is None and _posted(double) > phase.posted_before:
            phase.first_post_at = time.monotonic() - started
        n += 1
    phase.seconds = time.monotonic() - started
    phase.posted_during = _posted(double) - phase.posted_before
    return phase


def report(phase: SweepPhase, time_limit: float) -> bool:
    """Print the sweep lines; True when the sweep posted while the commands were sent."""
    pad = " " * 37
    if phase.failures:
        print(f"  one by one: not acked with 200: {phase.failures}")
    first = f", the first {phase.first_post_at:.1f} s in" if phase.first_post_at else ""
    print(
        f"{pad}reminder messages posted before the commands: {phase.posted_before}, "
        f"during them: {phase.posted_during}{first}"
    )
    print(
        f"{pad}reps reminded: {phase.reps_finished}/{REPS}; "
        f"{len(phase.acks)} commands in {phase.seconds:.1f} s"
    )
    ms = sorted(a * 1000 for a in phase.answers) or [0.0]
    print(
        f"{pad}answered at the response_url: {len(phase.answers)}/{len(phase.acks)} "
        f"p50 {percentile(ms, 50):.0f} ms  p99 {percentile(ms, 99):.0f} ms  max {ms[-1]:.0f} ms"
    )
    print(
        f'{pad}"taking longer" notes first: {phase.slow_notes}; '
        f"answered with an apology instead of the card: {phase.apologies}"
    )
    ok = phase.swept_meanwhile and phase.reps_finished >= REPS and not phase.unanswered
    if phase.unanswered:
        print(f"{pad}FAIL: {phase.unanswered} commands not answered within {ANSWER_LIMIT:.0f} s")
    if not phase.swept_meanwhile:
        print(f"{pad}FAIL: the sweep posted nothing while the commands were sent")
    elif phase.reps_finished < REPS:
        print(f"{pad}FAIL: the sweep did not finish within {time_limit:.0f} s")
    return ok
