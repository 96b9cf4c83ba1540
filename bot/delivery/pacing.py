"""Client-side pacing: Slack's per-channel and workspace limits, kept before Slack enforces them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.delivery.common import (
    CHANNEL_BURST,
    CHANNEL_PER_SEC,
    OPEN_PER_MINUTE,
)

log = logging.getLogger(__name__)


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up. A caller reserves a token (the
    balance may go negative) and sleeps until its turn, so waiters are served in order
    and the long-run rate is exact. Thread-safe."""

    def __init__(
        self,
        rate: float,
        burst: float = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive (got {rate})")
        self.rate = rate
        self.capacity = max(1.0, float(burst))
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take a token; the seconds to wait before using it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)


class Pacer:
    """Client-side pacing for one delivery run: each DM channel at about one message a
    second, the whole workspace at `post_rate`, conversations.open at its tier."""

    def __init__(
        self,
        post_rate: float,
        *,
        channel_rate: float = CHANNEL_PER_SEC,
        channel_burst: int = CHANNEL_BURST,
        open_per_minute: float = OPEN_PER_MINUTE,
    ) -> None:
        # Burst 1: Slack's own workspace bucket then always has room for network jitter.
        self.workspace = TokenBucket(post_rate, 1)
        self.opens = TokenBucket(open_per_minute / 60.0, min(10.0, open_per_minute))
        self._channel_rate = channel_rate
        self._channel_burst = channel_burst
        self._channels: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def before_post(self, channel: str) -> None:
        with self._lock:
            bucket = self._channels.get(channel)
            if bucket is None:
                bucket = TokenBucket(self._channel_rate, self._channel_burst)
                self._channels[channel] = bucket
        # The channel first: a workspace slot taken and then left idle would be wasted.
        bucket.acquire()
        self.workspace.acquire()

    def before_open(self) -> None:
        self.opens.acquire()
