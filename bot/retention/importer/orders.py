"""Planning an orders import: orders match on (account, order id), else on content.

Deal and opportunity exports arrive here too: with a stage column only won deals
(Closed Won, won) become orders; the others are left out and counted by stage.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session

from bot.retention.dates import day_label, moment_label
from bot.retention.importer import writing as w
from bot.retention.importer.bulk import bulk_cache, refresh_statistics
from bot.retention.importer.presets import WON_STAGES
from bot.retention.importer.reading import CsvRows
from bot.retention.importer.result import Plan
from bot.retention.importer.staging import STAGE_CHUNK, OrderStage
from bot.retention.importer.values import Bad
from bot.retention.summary import refresh_summary

# An order may be dated up to this long after "now"; later is a mistake in the file.
_FUTURE_SLACK = timedelta(days=1)
# Parsed timestamps are cached by their text; files repeat dates a lot. The cache is
# emptied when full: 50,000 entries are ~18 MB (200,000 were ~73 MB of a 10,000,000-row
# import's peak, where most timestamps with a time of day are seen once).
_WHEN_CACHE_LIMIT = 50_000
_CENT = Decimal("0.01")
# An amount as most files write it (at most 14 digits, 2 decimals): staged as it is.
_PLAIN_AMOUNT = re.compile(r"-?[0-9]{1,14}(?:\.[0-9]{1,2})?")
# With a decimal comma (--locale de), a point is never a decimal point: only whole numbers.
_WHOLE_AMOUNT = re.compile(r"-?[0-9]{1,14}")
_STAGE_KEY = re.compile(r"[^a-z0-9]")


# Orders written in one import past which PostgreSQL's statistics are refreshed.
ANALYZE_AFTER = 10_000


def stage_key(text: str) -> str:
    """ "Closed - Won" -> "closedwon"."""
    return _STAGE_KEY.sub("", text.lower())


def plan_orders(session: Session, rows: CsvRows, *, now: datetime, tiers: Sequence[str]) -> Plan:
    """The content key of an order without an id hashes account, time, amount and
    product plus how many times that same content has appeared so far in the file, so
    two identical rows stay two orders (two purchases of the same thing on one day are
    plausible) and re-importing the file finds both again. A repeated order id with the
    same values is collapsed; with different values it is refused, naming both lines.
    """
    left_out: Counter[str] = Counter()
    stage = OrderStage(session)
    newest = _OrderChecks(session, rows, now).stage_rows(_won_only(rows, left_out), stage)
    _settle_repeats(session, stage, rows)
    with bulk_cache(stage.connection):
        new, changed, unchanged = stage.counts()

    def write() -> None:
        with bulk_cache(stage.connection):
            stage.write(new, changed, rows.tick)
            rows.finishing()
            # Orders change every RFM quintile; the cached cut points are now wrong.
            session.execute(delete(w.RFM_CUTOFFS))
            # The per-account purchase summary follows the orders, in this transaction.
            refresh_summary(stage.connection, stage.account_ids(), today=now.date())
            if new + changed >= ANALYZE_AFTER:
                # Or PostgreSQL plans the report over the new summary rows as if the
                # table were tiny.
                refresh_statistics(stage.connection, "account_summary")

    rows.to_write = new + changed
    return Plan(
        new,
        changed,
        unchanged,
        write,
        left_out=left_out,
        latest_day=newest.astimezone(UTC).date() if newest is not None else None,
    )


def _won_only(rows: CsvRows, left_out: Counter[str]) -> Iterable[tuple[int, list[str]]]:
    """The rows, less the deals that were not won when the file has a stage column."""
    i_stage = rows.columns.get("stage")
    if i_stage is None:
        return rows
    won = rows.preset.won if rows.preset is not None else WON_STAGES
    return _won(rows, i_stage, won, left_out)


def _won(
    rows: CsvRows, i_stage: int, won: Collection[str], left_out: Counter[str]
) -> Iterator[tuple[int, list[str]]]:
    won_cache: dict[str, bool] = {}  # a stage's text -> won (a file has a few stages)
    for line, row in rows:
        stage_text = row[i_stage]
        is_won = won_cache.get(stage_text)
        if is_won is None:
            is_won = won_cache[stage_text] = stage_key(stage_text.strip()) in won
        if is_won:
            yield line, row
        else:
            left_out[f"stage “{stage_text.strip() or 'empty'}” is not won"] += 1


class _OrderChecks:
    """The checks of one orders file's cells. The hot loop (`stage_rows`) reads the
    common values inline; anything unusual goes through a method that records why."""

    def __init__(self, session: Session, rows: CsvRows, now: datetime) -> None:
        self.rows = rows
        self.bad = rows.bad
        self.account_ids = w.account_ids(session)
        self.bind_when = w.binder(session, w.ORDERS.c.ordered_at)
        self.id_limit = w.limit_of(w.ORDERS.c.order_id)
        self.product_limit = w.limit_of(w.ORDERS.c.product)
        # Orders are purchases that happened; a day of slack allows for time zones.
        self.latest = now.astimezone(UTC) + _FUTURE_SLACK
        # raw text -> (UTC datetime, driver value, canonical text for content keys,
        #              why it is in the future or None)
        self.when_cache: dict[str, tuple[datetime, Any, str, str | None]] = {}

    def stage_rows(
        self, lines: Iterable[tuple[int, list[str]]], stage: OrderStage
    ) -> datetime | None:
        """Check every row and stage the good ones; returns the newest order's time."""
        columns = self.rows.columns
        i_account, i_when, i_amount = (
            columns["account_external_id"],
            columns["ordered_at"],
            columns["amount"],
        )
        i_order_id, i_product = columns.get("order_id"), columns.get("product")
        has_id, has_product = i_order_id is not None, i_product is not None
        i_order_id, i_product = i_order_id or 0, i_product or 0  # read only when present
        id_limit, product_limit = self.id_limit, self.product_limit
        account_ids, when_cache = self.account_ids, self.when_cache
        plain = _PLAIN_AMOUNT if self.rows.money.point_is_decimal else _WHOLE_AMOUNT
        plain_amount = plain.fullmatch
        buffer, keys_append = stage.buffer, stage.keys.append
        newest: datetime | None = None
        for line, row in lines:
            external_id = row[i_account].strip()
            account_id = account_ids.get(external_id)
            if account_id is None:
                self.no_account(line, external_id)
            text = row[i_when].strip()
            cached = when_cache.get(text)
            if cached is None or cached[3] is not None:
                cached = self.when(line, text)
            amount = row[i_amount].strip()
            if not plain_amount(amount):
                amount = self.amount(line, amount)  # both databases read plain text as is
            order_id = (row[i_order_id].strip() or None) if has_id else None
            product = (row[i_product].strip() or None) if has_product else None
            too_long = (order_id is not None and len(order_id) > id_limit) or (
                product is not None and len(product) > product_limit
            )
            if too_long:
                self.check_lengths(line, order_id, product)
            if too_long or account_id is None or cached is None or amount is None:
                continue
            if order_id is None:
                key, row_hash = _content_key(external_id, cached[2], amount, product), 0
            else:
                key, row_hash = order_id, hash(tuple(row))
            if newest is None or cached[0] > newest:
                newest = cached[0]
            buffer.append((line, account_id, cached[1], amount, order_id, key, product, row_hash))
            keys_append(hash((account_id, key)))
            if len(buffer) >= STAGE_CHUNK:
                stage.flush()
        return newest

    def no_account(self, line: int, external_id: str) -> None:
        if external_id:
            reason = f"no account with external_id “{external_id}”"
            self.bad(line, "account_external_id", reason, external_id)
        else:
            self.bad(line, "account_external_id", "is empty", "")

    def when(self, line: int, text: str) -> tuple[datetime, Any, str, str | None] | None:
        """The cached reading of a time, or None with the problem recorded (a bad value,
        or a time in the future)."""
        cached = self.when_cache.get(text)
        if cached is None:
            if not text:
                self.bad(line, "ordered_at", "is empty", "")
                return None
            try:
                when = self.rows.dates(text)
            except Bad as error:
                self.bad(line, "ordered_at", error.reason, text)
                return None
            if len(self.when_cache) >= _WHEN_CACHE_LIMIT:
                self.when_cache.clear()
            future = self.in_the_future(text, when)
            cached = self.when_cache[text] = (when, self.bind_when(when), when.isoformat(), future)
        if cached[3] is not None:
            self.bad(line, "ordered_at", cached[3], text)
            return None
        return cached

    def in_the_future(self, text: str, when: datetime) -> str | None:
        if when <= self.latest:
            return None
        # The day says it all, except on the last allowed day itself.
        after = day_label(self.latest.date())
        if when.date() == self.latest.date():
            after = moment_label(self.latest)
        return f"“{text}” is in the future (after {after}); orders are purchases that happened"

    def amount(self, line: int, text: str) -> str | None:
        """An amount in another style as plain text, or None with the problem recorded."""
        if not text:
            self.bad(line, "amount", "is empty", "")
            return None
        try:
            return self.rows.money.as_text(text)
        except Bad as error:
            self.bad(line, "amount", error.reason, text)
            return None

    def check_lengths(self, line: int, order_id: str | None, product: str | None) -> None:
        if order_id is not None and len(order_id) > self.id_limit:
            self.bad(line, "order_id", w.too_long(order_id, self.id_limit), order_id)
        if product is not None and len(product) > self.product_limit:
            self.bad(line, "product", w.too_long(product, self.product_limit), product)


def _content_key(external_id: str, when: str, amount: str, product: str | None) -> str:
    """The key of an order without an id: numbered 1 here; identical repeats are
    numbered once the file is read."""
    value = Decimal(amount)
    cents = str(value.quantize(_CENT)) if value else "0.00"
    content = f"{external_id}\x1f{when}\x1f{cents}\x1f{product or ''}"
    return f"~{hashlib.blake2b(content.encode(), digest_size=16).hexdigest()}:1"


def _settle_repeats(session: Session, stage: OrderStage, rows: CsvRows) -> None:
    """A repeated order id with the same values is collapsed into its first line; with
    different values it is refused, naming both lines. Identical orders without an id
    are all kept, numbered in file order, so a re-import finds each one again."""
    first: dict[tuple[int, str], tuple[int, int]] = {}
    dropped: list[int] = []
    rekeyed: list[tuple[int, str]] = []
    names: dict[int, str] = {}
    occurrence: dict[tuple[int, str], int] = {}
    for line, account_id, order_id, key, row_hash in stage.repeated():
        seen = first.setdefault((account_id, key), (line, row_hash))
        if seen[0] == line:
            continue
        if order_id is None:
            number = occurrence[account_id, key] = occurrence.get((account_id, key), 1) + 1
            rekeyed.append((line, f"{key[:-2]}:{number}"))
            continue
        dropped.append(line)
        if seen[1] == row_hash:
            rows.duplicates += 1
            continue
        if account_id not in names:
            names[account_id] = session.execute(
                select(w.ACCOUNTS.c.external_id).where(w.ACCOUNTS.c.id == account_id)
            ).scalar_one()
        rows.bad(
            line,
            "order_id",
            f"order id “{order_id}” for account “{names[account_id]}” is also on "
            f"line {seen[0]} with different values",
            order_id,
        )
    stage.drop_lines(dropped)
    stage.rekey(rekeyed)
