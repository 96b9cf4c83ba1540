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
from operator import itemgetter
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session

from bot.retention.importer import writing as w
from bot.retention.importer.presets import WON_STAGES
from bot.retention.importer.reading import CsvRows
from bot.retention.importer.result import Plan
from bot.retention.importer.values import Bad
from bot.retention.summary import refresh_summary

# An order may be dated up to this long after "now"; later is a mistake in the file.
_FUTURE_SLACK = timedelta(days=1)
# Parsed timestamps are cached by their text; files repeat dates a lot.
_WHEN_CACHE_LIMIT = 200_000
_CENT = Decimal("0.01")
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
        after = latest.date().isoformat()
        if when.date() == latest.date():
            after = f"{latest:%Y-%m-%d %H:%M} UTC"
        return f"“{text}” is in the future (after {after}); orders are purchases that happened"

    # raw text -> (UTC datetime, driver value, canonical text for content keys,
    #              why it is in the future or None)
    when_cache: dict[str, tuple[datetime, Any, str, str | None]] = {}
    first_line: dict[tuple[int, str], tuple[int, int]] = {}  # (account, order id) -> line, hash
    occurrences: dict[str, int] = {}
    # (account id, ordered_at, amount, order id, order key, product, driver ordered_at)
    parsed: list[tuple[int, datetime, Decimal, str | None, str, str | None, Any]] = []
    problems = rows.problems
    bad = rows.bad

    # The hot loop of the biggest import: fields are checked inline, not through helpers.
    for line, row in rows:
        if i_stage is not None:
            stage = row[i_stage].strip()
            if stage_key(stage) not in won:
                left_out[f"stage “{stage or 'empty'}” is not won"] += 1
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
        else:
            try:
                amount = parse_money(text)
            except Bad as error:
                bad(line, "amount", error.reason, text)

        order_id = (row[i_order_id].strip() or None) if i_order_id is not None else None
        if order_id is not None:
            if len(order_id) > id_limit:
                bad(line, "order_id", w.too_long(order_id, id_limit), order_id)
            elif account_id is not None:
                seen = first_line.setdefault((account_id, order_id), (line, hash(tuple(row))))
                if seen[0] != line:
                    if seen[1] == hash(tuple(row)) and len(problems) == before:
                        rows.duplicates += 1
                        continue
                    bad(
                        line,
                        "order_id",
                        f"order id “{order_id}” for account “{external_id}” is also on "
                        f"line {seen[0]} with different values",
                        order_id,
                    )
        product = (row[i_product].strip() or None) if i_product is not None else None
        if product is not None and len(product) > product_limit:
            bad(line, "product", w.too_long(product, product_limit), product)

        if len(problems) != before:
            continue
        assert cached is not None and amount is not None and account_id is not None
        if order_id is None:
            cents = str(amount.quantize(_CENT)) if amount else "0.00"
            content = f"{external_id}\x1f{cached[2]}\x1f{cents}\x1f{product or ''}"
            occurrence = occurrences[content] = occurrences.get(content, 0) + 1
            digest = hashlib.blake2b(content.encode(), digest_size=16).hexdigest()
            key = f"~{digest}:{occurrence}"
        else:
            key = order_id
        parsed.append((account_id, cached[0], amount, order_id, key, product, cached[1]))

    existing = w.existing(
        session,
        select(
            w.ORDERS.c.account_id,
            w.ORDERS.c.order_key,
            w.ORDERS.c.id,
            w.ORDERS.c.ordered_at,
            w.ORDERS.c.amount,
            w.ORDERS.c.product,
        ),
        w.ORDERS,
        {entry[0] for entry in parsed},
    )
    new = parsed
    changes: list[dict[str, Any]] = []
    unchanged = 0
    if existing:
        new = []
        for entry in parsed:
            old = existing.get((entry[0], entry[4]))
            if old is None:
                new.append(entry)
            elif old[1] == entry[1] and old[2] == entry[2] and old[3] == entry[5]:
                unchanged += 1
            else:
                changes.append(
                    {"_id": old[0], "ordered_at": entry[1], "amount": entry[2], "product": entry[5]}
                )

    def write() -> None:
        bind_amount = w.binder(session, w.ORDERS.c.amount)
        # Account by account, so the indexes on (account_id, …) fill in order.
        new.sort(key=itemgetter(0, 1))
        w.insert(
            session,
            w.ORDERS,
            ("account_id", "ordered_at", "amount", "order_id", "order_key", "product"),
            [(a, native, bind_amount(m), o, k, p) for a, _, m, o, k, p, native in new],
            rows.tick,
        )
        w.update_rows(session, w.ORDERS, changes, rows.tick)
        # Orders change every RFM quintile; the cached cut points are now wrong.
        session.execute(delete(w.RFM_CUTOFFS))
        refresh_summary(session.connection(), {e[0] for e in parsed}, today=now.date())

    rows.to_write = len(new) + len(changes)
    latest = max((entry[1] for entry in parsed), default=None)
    return Plan(
        len(new),
        len(changes),
        unchanged,
        write,
        left_out=left_out,
        latest_day=latest.astimezone(UTC).date() if latest is not None else None,
    )
