"""Purchase occasions, credits and zero rows, RFM ties and segments that fit the signals,
pinned on real-shaped data and on the public CDNOW master set."""

from __future__ import annotations

import gzip
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from rich.console import Console

from bot.db import Database
from bot.retention.facts import load_facts, months_back
from bot.retention.rfm import (
    SEGMENT_NO_PURCHASES,
    average_rank_score,
    compute_cutoffs,
    score_account,
    workspace_cutoffs,
)
from bot.retention.signals import compute_signals, touch_schedule
from bot.retention.status import account_status
from models import Account, Order
from tests.support import factories as f
from tests.support.paths import CDNOW_MASTER as CDNOW

AS_OF = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
TIERS = {"key": 14, "mid": 30, "small": 60}
RECENT_SEGMENTS = {"Champions", "Loyal", "Potential loyalists", "New customers", "Promising"}
BUYS_WELL_SEGMENTS = {"Champions", "Loyal", "Potential loyalists"}


def _real_shaped(db: Database) -> int:
    """An account as CRM exports show it: a visit booked as three rows, a credit note
    after the last purchase, a free sample, and a day whose credit cancels its order
    (still a purchase day: the credit lowers value, never the occasion count)."""
    with db.transaction() as session:
        acct = f.account(session, name="Atlas Supplies")
        for day, amount in [
            ("2026-01-10", 1200),
            ("2026-01-10", 300),
            ("2026-01-10", 50),  # one visit, three rows
            ("2026-02-14", 900),
            ("2026-03-20", 1100),
            ("2026-03-20", 0),  # free sample on an order day
            ("2026-04-02", 0),  # free sample alone: not a purchase
            ("2026-04-20", 400),
            ("2026-04-20", -400),  # order and its credit on one day: still an occasion
            ("2026-05-20", -4800),  # credit note: after the last purchase
        ]:
            f.order(session, acct, day, amount)
        return acct.id


def test_occasions_count_order_days_with_a_positive_amount(db: Database) -> None:
    account_id = _real_shaped(db)
    with db.session() as session:
        facts = load_facts(session=session, as_of=AS_OF, with_order_days=True)[account_id]
    assert facts.orders_count == 10
    assert facts.occasions == 4
    days = [date(2026, 1, 10), date(2026, 2, 14), date(2026, 3, 20), date(2026, 4, 20)]
    assert facts.order_days == days
    assert facts.credit_rows == 2
    assert facts.zero_rows == 2
    # 6 positive rows on 4 days; the credits and zero rows are not orders.
    assert facts.orders_text == "6 orders on 4 days (plus 2 credits, 2 at zero)"
    # The credit reduces value but is not the last order, and recency is not reset.
    assert facts.last_order_day == date(2026, 4, 20)
    assert facts.total_value == pytest.approx(1550 + 900 + 1100 - 4800)
    assert facts.window_orders == 4


def test_credits_and_zero_rows_on_days_without_a_purchase_are_not_orders_on_buying_days(
    db: Database,
) -> None:
    """One purchase, then two free samples on other days: not "3 orders on 1 day"."""
    with db.transaction() as session:
        acct = f.account(session, name="Samples Only Later")
        for day, amount in [("2025-06-10", 300), ("2026-05-10", 0), ("2026-06-10", 0)]:
            f.order(session, acct, day, amount)
        refunded = f.account(session, name="Refunded Later")
        for day, amount in [("2026-01-10", 1200), ("2026-02-20", 15000), ("2026-03-05", -14500)]:
            f.order(session, refunded, day, amount)
    with db.session() as session:
        loaded = load_facts(session=session, as_of=AS_OF, with_order_days=True)
    assert loaded[acct.id].orders_text == "1 order (plus 2 at zero)"
    assert loaded[refunded.id].orders_text == "2 orders (plus 1 credit)"


def test_a_card_with_credits_only_says_what_is_on_record(db: Database) -> None:
    """No purchase, but a credit note and a free sample: the card names them and the net
    total, instead of a bare "None on record" that hides the −$700."""
    from bot.messages.card import status_card
    from bot.retention.status import account_status
    from bot.settings import DEFAULT_TIER_CADENCE
    from bot.terminal import status_card as terminal_card
    from tests.support.slack_app import all_text

    with db.transaction() as session:
        acct = f.account(session, name="Creditline Only")
        f.order(session, acct, "2026-03-05", -700)
        f.order(session, acct, "2026-04-05", 0)
    with db.session() as session:
        status = account_status(
            session=session,
            account_id=acct.id,
            now=f.NOW,
            tier_cadence=DEFAULT_TIER_CADENCE,
        )
    assert "None on record (1 credit, 1 at zero, −$700 in all)" in all_text(status_card(status))
    console = Console(width=200, record=True)
    console.print(terminal_card(status))
    assert "none on record (1 credit, 1 at zero, −$700 in all)" in console.export_text()


def test_off_rhythm_needs_three_buying_days_not_three_rows(db: Database) -> None:
    with db.transaction() as session:
        acct = f.account(session, name="One Visit Ltd")
        for amount in (100, 200, 300, 400):
            f.order(session, acct, "2025-06-01", amount)
        f.order(session, acct, "2025-09-01", 500)
        account_id = acct.id
    with db.session() as session:
        facts = load_facts(
            session=session, as_of=AS_OF, account_ids=[account_id], with_order_days=True
        )[account_id]
    schedule = touch_schedule(facts, as_of=AS_OF, tier_cadence=TIERS)
    names = {s.name for s in compute_signals(facts, as_of=AS_OF, schedule=schedule)}
    assert facts.orders_count == 5 and facts.occasions == 2
    assert "off_rhythm" not in names


def test_card_shows_the_last_purchase_not_the_credit(db: Database) -> None:
    account_id = _real_shaped(db)
    with db.session() as session:
        status = account_status(session=session, account_id=account_id, now=NOW, tier_cadence=TIERS)
    payload = status.to_dict()
    assert payload["last_order_at"].startswith("2026-04-20")
    assert payload["last_order_amount"] == 400  # what was bought, not net of the credit
    assert payload["purchase_occasions"] == 4
    assert payload["orders_count"] == 10


def test_credits_only_is_not_a_buyer(db: Database) -> None:
    with db.transaction() as session:
        acct = f.account(session, name="Refund Only")
        f.order(session, acct, "2026-05-01", -250)
        f.order(session, acct, "2026-05-02", 0)
        account_id = acct.id
    with db.session() as session:
        facts = load_facts(session=session, as_of=AS_OF)[account_id]
        cutoffs = workspace_cutoffs(session=session, as_of=AS_OF, now=NOW)
    assert facts.last_order_at is None and facts.occasions == 0
    assert cutoffs.population == 0
    assert score_account(facts, cutoffs=cutoffs, as_of=AS_OF).segment == SEGMENT_NO_PURCHASES


@pytest.mark.parametrize(
    ("below", "tied", "n", "score"),
    [(0, 50, 100, 2), (0, 20, 100, 1), (0, 41, 100, 2), (50, 1, 100, 3), (99, 1, 100, 5)],
)
def test_average_rank_scores(below, tied, n, score) -> None:
    assert average_rank_score(below, tied, n) == score


def test_half_tied_at_one_occasion_score_frequency_two(db: Database) -> None:
    """Ten buyers, five of them on one day only: those five share frequency 2."""
    with db.transaction() as session:
        ids = []
        for i in range(10):
            acct = f.account(session, name=f"Tie {i}")
            days = 1 if i < 5 else i - 3  # 1,1,1,1,1,2,3,4,5,6 buying days
            for k in range(days):
                f.order(session, acct, AS_OF - timedelta(days=10 + 20 * k), 100)
                f.order(session, acct, AS_OF - timedelta(days=10 + 20 * k), 50)  # same day
            ids.append(acct.id)
    with db.session() as session:
        facts = load_facts(session=session, as_of=AS_OF)
    cutoffs = compute_cutoffs(facts, as_of=AS_OF)
    frequency = [score_account(facts[i], cutoffs=cutoffs, as_of=AS_OF).frequency for i in ids]
    assert frequency[:5] == [2] * 5
    assert frequency[5:] == sorted(frequency[5:]) and frequency[-1] == 5


def test_a_dormant_or_declining_account_is_never_a_champion(db: Database) -> None:
    """Everyone is quiet, so the best of them scores R5 F5 M5, yet the words "bought
    recently" would be false on a card that says "no order in over 12 months"."""
    with db.transaction() as session:
        big = f.account(session, name="Big But Quiet")
        for k in range(12):
            f.order(session, big, date(2024, 6, 1) + timedelta(days=30 * k), 5000)
        small = f.account(session, name="Small And Quiet")
        f.order(session, small, "2024-01-05", 100)
        falling = f.account(session, name="Falling")
        for k in range(6):
            f.order(session, falling, AS_OF - timedelta(days=200 + 30 * k), 9000)
        f.order(session, falling, AS_OF - timedelta(days=5), 100)
        ids = (big.id, small.id, falling.id)
    with db.session() as session:
        facts = load_facts(session=session, as_of=AS_OF)
    cutoffs = compute_cutoffs(facts, as_of=AS_OF)
    big_rfm = score_account(facts[ids[0]], cutoffs=cutoffs, as_of=AS_OF)
    falling_rfm = score_account(facts[ids[2]], cutoffs=cutoffs, as_of=AS_OF)
    assert big_rfm.segment == "Can't lose"
    assert falling_rfm.recency == 5  # bought five days ago ...
    assert falling_rfm.segment not in BUYS_WELL_SEGMENTS  # ... but buys far less


# --- CDNOW master set (see tests/fixtures/cdnow/README.md) -----------------------------


def _cdnow_rows() -> list[tuple[str, date, Decimal]]:
    rows = []
    with gzip.open(CDNOW, "rt") as handle:
        next(handle)
        for line in handle:
            customer, day, _cds, value = line.split()
            rows.append((customer, date(int(day[:4]), int(day[4:6]), int(day[6:])), Decimal(value)))
    return rows


@pytest.fixture(scope="module")
def cdnow_rows() -> list[tuple[str, date, Decimal]]:
    return _cdnow_rows()


def test_cdnow_scores_and_segments(sqlite_db: Database, cdnow_rows) -> None:
    as_of = date(1998, 6, 30)  # the day after the last order in the set
    customers = sorted({row[0] for row in cdnow_rows})
    stamp = datetime(1997, 1, 1, tzinfo=UTC)
    with sqlite_db.transaction() as session:
        session.execute(
            sa.insert(Account),
            [
                {
                    "external_id": c,
                    "name": f"CDNOW {c}",
                    "name_key": f"cdnow {c}",
                    "tier": "small",
                    "created_at": stamp,
                    "updated_at": stamp,
                }
                for c in customers
            ],
        )
        ids = dict(session.execute(sa.select(Account.external_id, Account.id)).all())
        session.execute(
            sa.insert(Order),
            [
                {
                    "account_id": ids[c],
                    "ordered_at": datetime.combine(day, datetime.min.time(), tzinfo=UTC),
                    "amount": value,
                    "order_key": f"{c}-{n}",
                }
                for n, (c, day, value) in enumerate(cdnow_rows)
            ],
        )
    # An independent count, straight from the file.
    by_day: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for c, day, value in cdnow_rows:
        by_day[c][day] += value
    bought_on: dict[str, set[date]] = defaultdict(set)
    for c, day, value in cdnow_rows:
        if value > 0:
            bought_on[c].add(day)
    occasions = {c: sorted(bought_on[c]) for c in by_day}
    assert len(customers) == 23_570 and len(cdnow_rows) == 69_659

    with sqlite_db.session() as session:
        facts = load_facts(session=session, as_of=as_of)
    cutoffs = compute_cutoffs(facts, as_of=as_of)
    scores = {"r": set(), "f": set(), "m": set()}
    one_day = 0
    since_6m, since_12m = months_back(as_of, 6), months_back(as_of, 12)
    for c in customers:
        fact = facts[ids[c]]
        assert fact.occasions == len(occasions[c])
        rfm = score_account(fact, cutoffs=cutoffs, as_of=as_of)
        if not occasions[c]:
            assert rfm.segment == SEGMENT_NO_PURCHASES
            continue
        scores["r"].add(rfm.recency)
        scores["f"].add(rfm.frequency)
        scores["m"].add(rfm.monetary)
        one_day += len(occasions[c]) == 1
        last = occasions[c][-1]
        if last < since_6m:
            assert rfm.segment not in RECENT_SEGMENTS, (c, rfm)
        last_6m = sum(v for d, v in by_day[c].items() if d >= since_6m)
        prev_6m = sum(v for d, v in by_day[c].items() if since_12m <= d < since_6m)
        if prev_6m > 0 and last_6m < prev_6m / 2:
            assert rfm.segment not in BUYS_WELL_SEGMENTS, (c, rfm)
    buyers = sum(1 for c in customers if occasions[c])
    assert scores["r"] == {1, 2, 3, 4, 5}
    assert scores["m"] == {1, 2, 3, 4, 5}
    # The documented rule: over 40% of buyers bought on one day only, so their shared
    # frequency lands at 2 and no one gets 1; every other score is given.
    assert one_day / buyers > 0.4
    assert scores["f"] == {2, 3, 4, 5}


def test_credits_outweighing_recent_orders_never_read_stopped_buying(db: Database) -> None:
    """An account that bought last month, with a bigger credit note in the same 6 months,
    is buying less, but "nothing in the last 6 months" would contradict its last order."""
    as_of = date(2026, 6, 15)
    with db.transaction() as session:
        acct = f.account(session, name="Bought With Credit")
        for day, amount in [
            ("2025-09-10", 3000),
            ("2025-11-10", 3000),
            ("2026-05-10", -1500),  # a credit note for an older order
            ("2026-06-01", 1000),  # a real purchase two weeks ago
        ]:
            f.order(session, acct, day, amount)
        account_id = acct.id
    with db.session() as session:
        facts = load_facts(
            session=session, as_of=as_of, account_ids=[account_id], with_order_days=True
        )[account_id]
    schedule = touch_schedule(facts, as_of=as_of, tier_cadence=TIERS)
    (declining,) = [
        s for s in compute_signals(facts, as_of=as_of, schedule=schedule) if s.name == "declining"
    ]
    assert facts.last_order_day == date(2026, 6, 1)
    assert "Stopped buying" not in declining.reason and "nothing" not in declining.reason
    assert declining.reason == (
        "Buying far less: credits outweigh the orders of the last 6 months (−$500 net) "
        "against $6,000 in the 6 before."
    )


def test_a_bigger_credit_on_a_purchase_day_never_hides_the_purchase(db: Database) -> None:
    """+$5,000 and −$6,000 (a credit for an older order) on 1 Jun: 1 Jun is the last
    order, worth $5,000, on the card, in the summary and in the re-buy model's inputs."""
    with db.transaction() as session:
        acct = f.account(session, name="Credit Same Day")
        f.order(session, acct, "2026-01-10", 8000)
        f.order(session, acct, "2026-06-01", 5000)
        f.order(session, acct, "2026-06-01", -6000)
        account_id = acct.id
    with db.session() as session:
        status = account_status(session=session, account_id=account_id, now=NOW, tier_cadence=TIERS)
        full = load_facts(session=session, as_of=AS_OF, account_ids=[account_id])[account_id]
        stored = load_facts(session=session, as_of=AS_OF, account_ids=[account_id], summary=True)[
            account_id
        ]
    payload = status.to_dict()
    assert payload["last_order_at"].startswith("2026-06-01")
    assert payload["last_order_amount"] == 5000
    assert payload["purchase_occasions"] == 2
    for facts in (full, stored):
        assert facts.last_order_day == date(2026, 6, 1)
        assert facts.occasions == 2
        assert facts.total_value == pytest.approx(7000)  # the credit still lowers value
