"""Client-side deadlines for the database work done for a Slack request, and a breaker.

A PostgreSQL server that accepts TCP and then says nothing (a partition, a proxy whose
upstream is gone) leaves libpq waiting on a socket: `statement_timeout` is the server's
to enforce, and TCP's own timeouts do not fire while the near end keeps acknowledging.
So work done for a request states a budget (`Deadlines.budget`), and while one of its
statements (a ping, a query, a commit) is on the wire, the `Reaper` holds a duplicate of
the connection's socket; when the statement overruns, the reaper shuts that socket down.
The waiting driver then fails at once with an ordinary `OperationalError` (the pool
throws the connection away), and the thread is free again: no private driver API, only
`connection.fileno()` and `socket.shutdown`. On SQLite the budget bounds the wait for
the write lock instead.

The `Breaker` keeps a burst from queueing behind that: once request work failed because
the database did not answer, further request work fails at once (the same apology) for
a few seconds, and then one request at a time probes the database again.
"""

from __future__ import annotations

import heapq
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)


class DatabaseUnavailable(SQLAlchemyError):
    """Request work given up: the database did not answer within the budget, or has
    just failed to (`busy` when it was a held lock rather than a server that does not
    answer). A SQLAlchemyError, so code that copes with database errors copes with it."""

    def __init__(self, *, busy: bool) -> None:
        super().__init__("the database is busy" if busy else "the database is not answering")
        self.busy = busy


def is_lock_timeout(error: BaseException) -> bool:
    """SQLite's "database is locked", PostgreSQL's lock_timeout (55P03)."""
    text = str(getattr(error, "orig", error)).lower()
    return "database is locked" in text or "lock timeout" in text


def is_unavailable(error: BaseException) -> bool:
    """A database that refuses, drops, does not answer or stays locked."""
    return isinstance(error, OperationalError | PoolTimeout | DatabaseUnavailable)


@dataclass
class _Budget:
    until: float | None  # monotonic; None: only the per-statement bound
    statement: float  # seconds any one statement may take


class Deadlines:
    """The calling thread's budget for database work (none: wait as long as it takes)."""

    def __init__(self) -> None:
        self._local = threading.local()

    @contextmanager
    def budget(self, *, statement: float, total: float | None = None) -> Iterator[None]:
        """Within this block, every statement gets at most `statement` seconds and all
        of them together end by `total` seconds from now (nested budgets: the tighter)."""
        outer: _Budget | None = getattr(self._local, "budget", None)
        until = time.monotonic() + total if total is not None else None
        if outer is not None:
            statement = min(statement, outer.statement)
            if outer.until is not None:
                until = outer.until if until is None else min(until, outer.until)
        self._local.budget = _Budget(until=until, statement=statement)
        try:
            yield
        finally:
            self._local.budget = outer

    def exhausted(self) -> bool:
        """True when the budget's total has run out (nothing more should be tried)."""
        budget: _Budget | None = getattr(self._local, "budget", None)
        return budget is not None and budget.until is not None and time.monotonic() >= budget.until

    def statement_deadline(self) -> float | None:
        """When a statement starting now must have finished (monotonic), or None."""
        budget: _Budget | None = getattr(self._local, "budget", None)
        if budget is None:
            return None
        deadline = time.monotonic() + budget.statement
        return deadline if budget.until is None else min(deadline, budget.until)

    def remaining_ms(self, default_ms: int) -> int:
        """A wait (SQLite's lock wait) cut to what the budget leaves, at least 1 ms."""
        deadline = self.statement_deadline()
        if deadline is None:
            return default_ms
        return max(1, min(default_ms, int((deadline - time.monotonic()) * 1000)))


class Reaper:
    """Shuts down the socket of a statement that overran its deadline (one thread)."""

    def __init__(self) -> None:
        self._armed: dict[int, tuple[float, socket.socket]] = {}
        self._heap: list[tuple[float, int]] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self.reaped = 0

    def arm(self, dbapi_connection, deadline: float) -> None:
        """Watch `dbapi_connection` until `disarm` (or the deadline)."""
        self.disarm(dbapi_connection)
        try:
            duplicate = socket.socket(fileno=os.dup(dbapi_connection.fileno()))
        except (OSError, AttributeError, ValueError):
            return  # closed already, or a driver without a socket: nothing to watch
        key = id(dbapi_connection)
        with self._cond:
            self._armed[key] = (deadline, duplicate)
            heapq.heappush(self._heap, (deadline, key))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="rebuy-db-reaper", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def disarm(self, dbapi_connection) -> None:
        with self._cond:
            entry = self._armed.pop(id(dbapi_connection), None)
        if entry is not None:
            entry[1].close()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                deadline, key = heapq.heappop(self._heap)
                entry = self._armed.get(key)
                if entry is None or entry[0] != deadline:
                    continue  # disarmed, or armed again with a later deadline
                del self._armed[key]
                self.reaped += 1
            duplicate = entry[1]
            with suppress(OSError):
                duplicate.shutdown(socket.SHUT_RDWR)
            duplicate.close()
            log.warning("a database statement overran its deadline; its connection was dropped")


class Breaker:
    """After a failure to answer, request work fails fast for `cool_off` seconds; then
    one request at a time probes the database until one succeeds."""

    def __init__(self, cool_off: float = 5.0, on_trip=None) -> None:
        # A held lock (an import) is probed again sooner than a server that is gone.
        self.cool_off = cool_off
        self.busy_cool_off = cool_off / 2
        self._on_trip = on_trip  # e.g. start the next probe on fresh connections
        self._lock = threading.Lock()
        self._open_until: float | None = None
        self._busy = False
        self._probing = False

    def trip(self, *, busy: bool = False) -> None:
        with self._lock:
            if self._open_until is None:
                log.warning(
                    "database %s: request work fails fast for a while",
                    "busy" if busy else "not answering",
                )
            self._open_until = time.monotonic() + (self.busy_cool_off if busy else self.cool_off)
            self._busy = busy
            self._probing = False
        if self._on_trip is not None:
            self._on_trip(busy)

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Run the block unless the breaker is open (then raise `DatabaseUnavailable`);
        a block that fails to reach the database trips it, one that succeeds closes it."""
        with self._lock:
            probe = False
            if self._open_until is not None:
                if self._probing or time.monotonic() < self._open_until:
                    raise DatabaseUnavailable(busy=self._busy)
                self._probing = probe = True
        try:
            yield
        except (OperationalError, PoolTimeout, DatabaseUnavailable) as error:
            self.trip(busy=getattr(error, "busy", False) or is_lock_timeout(error))
            raise
        except BaseException:
            if probe:
                self._close()
            raise
        else:
            if probe:
                self._close()

    def _close(self) -> None:
        with self._lock:
            if self._open_until is not None:
                log.info("database answering again")
            self._open_until, self._probing = None, False

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._open_until is not None
