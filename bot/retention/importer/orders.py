"""Planning an orders import: orders match on (account, order id), else on content.

Deal and opportunity exports arrive here too: with a stage column only won deals
(Closed Won, won) become orders; the others are left out and counted by stage.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session

from bot.retention.dates import day_label, moment_label
from bot.retention.importer import writing as w
from bot.retention.importer.presets import WON_STAGES
from bot.retention.importer.reading import CsvRows
from bot.retention.importer.result import Plan
from bot.retention.importer.staging import STAGE_CHUNK, OrderStage
from bot.retention.importer.values import Bad
from bot.retention.summary import refresh_summary

# An order may be dated up to this long after "now"; later is a mistake in the file.
_FUTURE_SLACK = timedelta(days=1)
# Parsed timestamps are cached by their text; files repeat dates a lot.
_WHEN_CACHE_LIMIT = 200_000
_CENT = Decimal("0.01")
# An amount as most files write it (at most 14 digits, 2 decimals): staged as it is.
_PLAIN_AMOUNT = re.compile(r"-?[0-9]{1,14}(?:\.[0-9]{1,2})?")
_STAGE_KEY = re.compile(r"[^a-z0-9]")


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
    columns = rows.columns
    i_account = columns["account_external_id"]
    i_when = columns["ordered_at"]
    i_amount = columns["amount"]
    i_order_id = columns.get("order_id")
    i_product = columns.get("product")
    i_stage = columns.get("stage")
    won = rows.preset.won if rows.preset is not None else WON_STAGES
    id_limit = w.limit_of(w.ORDERS.c.order_id)
    product_limit = w.limit_of(w.ORDERS.c.product)
    bind_when = w.binder(session, w.ORDERS.c.ordered_at)
    account_ids = w.account_ids(session)
    parse_when, parse_money = rows.dates, rows.money
    left_out: Counter[str] = Counter()

    # Orders are purchases that happened; a day of slack allows for time zones and clocks.
    latest = now.astimezone(UTC) + _FUTURE_SLACK

    def in_the_future(text: str, when: datetime) -> str | None:
        if when <= latest:
            return None
        # The day says it all, except on the last allowed day itself.
        after = day_label(latest.date())
        if when.date() == latest.date():
            after = moment_label(latest)
        return f"“{text}” is in the future (after {after}); orders are purchases that happened"

    # raw text -> (UTC datetime, driver value, canonical text for content keys,
    #              why it is in the future or None)
    when_cache: dict[str, tuple[datetime, Any, str, str | None]] = {}
    stage = OrderStage(session)
    won_cache: dict[str, bool] = {}  # a stage's text -> won (a file has a few stages)
    buffer, keys_append = stage.buffer, stage.keys.append
    newest: datetime | None = None
    problems = rows.problems
    bad = rows.bad

    # The hot loop of the biggest import: fields are checked inline, not through helpers.
    for line, row in rows:
        if i_stage is not None:
            stage_text = row[i_stage]
            is_won = won_cache.get(stage_text)
            if is_won is None:
                is_won = won_cache[stage_text] = stage_key(stage_text.strip()) in won
            if not is_won:
                left_out[f"stage “{stage_text.strip() or 'empty'}” is not won"] += 1
                continue
        before = len(problems)
        external_id = row[i_account].strip()
        account_id = account_ids.get(external_id)
        if account_id is None:
            if external_id:
                bad(
                    line,
                    "account_external_id",
                    f"no account with external_id “{external_id}”",
                    external_id,
                )
            else:
                bad(line, "account_external_id", "is empty", "")

        text = row[i_when].strip()
        cached = when_cache.get(text)
        if cached is None:
            if not text:
                bad(line, "ordered_at", "is empty", "")
            else:
                try:
                    when = parse_when(text)
                except Bad as error:
                    bad(line, "ordered_at", error.reason, text)
                else:
                    if len(when_cache) >= _WHEN_CACHE_LIMIT:
                        when_cache.clear()
                    cached = when_cache[text] = (
                        when,
                        bind_when(when),
                        when.isoformat(),
                        in_the_future(text, when),
                    )
        if cached is not None and cached[3] is not None:
            bad(line, "ordered_at", cached[3], text)

        text = row[i_amount].strip()
        amount = None
        if not text:
            bad(line, "amount", "is empty", "")
        elif _PLAIN_AMOUNT.fullmatch(text):
            amount = text  # both databases read the text as the number it is
        else:
            try:
                amount = str(parse_money(text))
            except Bad as error:
                bad(line, "amount", error.reason, text)

        order_id = (row[i_order_id].strip() or None) if i_order_id is not None else None
        if order_id is not None and len(order_id) > id_limit:
            bad(line, "order_id", w.too_long(order_id, id_limit), order_id)
        product = (row[i_product].strip() or None) if i_product is not None else None
        if product is not None and len(product) > product_limit:
            bad(line, "product", w.too_long(product, product_limit), product)

        if len(problems) != before:
            continue
        assert cached is not None and amount is not None and account_id is not None
        if order_id is None:
            # Numbered 1 here; identical repeats are numbered once the file is read.
            value = Decimal(amount)
            cents = str(value.quantize(_CENT)) if value else "0.00"
            content = f"{external_id}\x1f{cached[2]}\x1f{cents}\x1f{product or ''}"
            key = f"~{hashlib.blake2b(content.encode(), digest_size=16).hexdigest()}:1"
            row_hash = 0
        else:
            key = order_id
            row_hash = hash(tuple(row))
        if newest is None or cached[0] > newest:
            newest = cached[0]
        buffer.append((line, account_id, cached[1], amount, order_id, key, product, row_hash))
        keys_append(hash((account_id, key)))
        if len(buffer) >= STAGE_CHUNK:
            stage.flush()

    _settle_repeats(session, stage, rows)
    new, changed, unchanged = stage.counts()

    def write() -> None:
        stage.write(new, changed, rows.tick)
        # Orders change every RFM quintile; the cached cut points are now wrong.
        session.execute(delete(w.RFM_CUTOFFS))
        # The per-account purchase summary follows the orders, in this transaction.
        refresh_summary(session.connection(), stage.account_ids(), today=now.date())

    rows.to_write = new + changed
    return Plan(
        new,
        changed,
        unchanged,
        write,
        left_out=left_out,
        latest_day=newest.astimezone(UTC).date() if newest is not None else None,
    )


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
