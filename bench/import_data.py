"""Synthetic CRM exports for the benchmarks: accounts, orders, and the orders as a
Salesforce opportunities report (bench/bench_import.py re-exports these)."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
TIERS = ("key", "mid", "small")

_FIRST = [
    "Acme",
    "Nordic",
    "Blue",
    "Granite",
    "Harbor",
    "Summit",
    "Pioneer",
    "Keystone",
    "Riverside",
    "Evergreen",
    "Atlas",
    "Beacon",
    "Cedar",
    "Delta",
    "Falcon",
    "Golden",
    "Horizon",
    "Iron",
    "Juniper",
    "Lakeside",
    "Maple",
    "Northwind",
    "Oak",
    "Pacific",
    "Quarry",
    "Redwood",
    "Silver",
    "Timber",
    "United",
    "Valley",
    "Westfield",
    "Zenith",
    "Café",
    "Müller",
]
_SECOND = [
    "Supply",
    "Logistics",
    "Hardware",
    "Foods",
    "Plastics",
    "Packaging",
    "Tools",
    "Electric",
    "Dental",
    "Print",
    "Office",
    "Chemicals",
    "Textiles",
    "Farms",
    "Motors",
    "Labs",
    "Builders",
    "Marine",
    "Optics",
    "Paper",
]
_SUFFIX = ("Ltd", "GmbH", "Inc.", "& Co.", "AB", "Oy", "LLC", "S.A.", "")
_PRODUCTS = (
    "Fasteners",
    "Adhesives",
    "Safety gloves",
    "Cutting discs",
    "Pallet wrap",
    "Cable ties",
    "Lubricants",
    "Hand tools",
    "Power tools",
    "Workwear",
    "Cleaning supplies",
    "Labels",
    "Shelving",
    "Hoses, fittings & valves",
    "Bearings",
)


def account_id(number: int) -> str:
    return f"ACC-{number:07d}"


def make_accounts_csv(path: Path, accounts: int = 100_000, reps: int = 60, seed: int = 1) -> Path:
    """A CRM accounts export: every optional column present, some cells empty."""
    rng = random.Random(seed)
    owners = [f"rep{n:03d}@seller.example" for n in range(1, reps + 1)]
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["external_id", "name", "owner_email", "tier", "annual_value", "cadence_days"]
        )
        for number in range(1, accounts + 1):
            name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(_SUFFIX)}".strip()
            tier = rng.choices(TIERS, weights=(5, 35, 60))[0]
            value = f"{rng.lognormvariate(10, 1):.2f}" if rng.random() < 0.8 else ""
            cadence = str(rng.choice((7, 21, 45, 90))) if rng.random() < 0.1 else ""
            owner = rng.choice(owners) if rng.random() < 0.97 else ""
            writer.writerow([account_id(number), f"{name} {number}", owner, tier, value, cadence])
    return Path(path)


def make_orders_csv(
    path: Path,
    accounts: int = 100_000,
    orders: int = 1_000_000,
    seed: int = 1,
    without_order_id: float = 0.1,
    days: int = 3 * 365,
) -> Path:
    """A CRM orders export over `days` days, sorted by date as CRMs export it.

    A few accounts buy a lot and most buy a little; a share of rows has no order
    id (and so is matched on content); some timestamps carry a time and offset.
    """
    rng = random.Random(seed)
    start = NOW.date() - timedelta(days=days)
    # Pareto weights: the top fifth of accounts place most orders.
    weights = [rng.paretovariate(1.2) for _ in range(accounts)]
    buyers = rng.choices(range(1, accounts + 1), weights=weights, k=orders)
    offsets = sorted(rng.randrange(days) for _ in range(orders))
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["account_external_id", "ordered_at", "amount", "order_id", "product"])
        for number, (buyer, offset) in enumerate(zip(buyers, offsets, strict=True), start=1):
            day = start + timedelta(days=offset)
            if rng.random() < 0.05:
                when = f"{day.isoformat()}T{rng.randrange(7, 19):02d}:{rng.randrange(60):02d}:00Z"
            elif rng.random() < 0.02:
                when = f"{day.isoformat()}T10:30:00+02:00"
            else:
                when = day.isoformat()
            amount = f"{rng.lognormvariate(7, 1.1):.2f}"
            if rng.random() < 0.01:
                amount = f"-{amount}"  # a refund
            order_id = "" if rng.random() < without_order_id else f"SO-{number:08d}"
            writer.writerow([account_id(buyer), when, amount, order_id, rng.choice(_PRODUCTS)])
    return Path(path)


def crm_style_copy(source: Path, path: Path) -> Path:
    """The orders file as a Salesforce opportunities report in a European Excel would
    save it: other headers, a stage, semicolons, US dates, dollar amounts."""
    with (
        source.open(encoding="utf-8", newline="") as inp,
        path.open("w", encoding="utf-8", newline="") as out,
    ):
        reader, writer = csv.reader(inp), csv.writer(out, delimiter=";")
        next(reader)
        writer.writerow(["Account ID", "Close Date", "Amount", "Opportunity ID", "Stage"])
        for account, when, amount, order_id, _product in reader:
            day = datetime.fromisoformat(when).date()
            value = float(amount)
            money = f"${abs(value):,.2f}" if value >= 0 else f"(${abs(value):,.2f})"
            writer.writerow([account, f"{day:%m/%d/%Y}", money, order_id, "Closed Won"])
    return path
