"""Re-buy model benchmark: synthetic order history drawn from a BG/NBD process.

    .venv/bin/python -m bench.bench_model [--accounts 100000] [--orders 1000000]

Simulates the accounts' purchase occasions from BG/NBD (and order values from
Gamma-Gamma), adds same-day second rows and credit notes until there are about
`--orders` rows, then times: building the model inputs from the rows plus fitting both
models (target: under 15 s), and scoring every account (target: under 0.1 s; best of
five runs).
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import numpy as np

from bot.retention.rebuy_model import simulate
from bot.retention.rebuy_model.bgnbd import BGNBDParams
from bot.retention.rebuy_model.fitting import FitResult, fit_rebuy_model, score_accounts
from bot.retention.rebuy_model.gamma_gamma import GammaGammaParams
from bot.retention.rebuy_model.inputs import build_inputs
from bot.retention.rebuy_model.outlook import outlooks_from_inputs

TRUE_PARAMS = BGNBDParams(r=1.2, alpha=50.0, a=1.6, b=6.0)  # time in days
TRUE_SPEND = GammaGammaParams(p=4.0, q=5.0, gamma=800.0)
FIRST_DAY = date(2023, 1, 2)
CUTOFF = date(2026, 6, 30)


def synthetic_rows(accounts: int, orders: int, seed: int = 2005) -> list[tuple]:
    """About `orders` rows (account id, order date, amount) for `accounts` accounts."""
    rng = np.random.default_rng(seed)
    drawn = simulate.orders(
        accounts=accounts,
        params=TRUE_PARAMS,
        spend=TRUE_SPEND,
        first_day=FIRST_DAY,
        last_day=CUTOFF,
        rng=rng,
    )
    account, day, amount = drawn.account, drawn.day, drawn.amount
    # Top up to the row count with what real feeds have: a second row on an order day
    # (two thirds) and credit notes (one third).
    extra = max(0, orders - account.size)
    pick = rng.integers(0, account.size, extra)
    credit = rng.random(extra) < 1 / 3
    extra_amount = np.where(credit, -0.2 * amount[pick], 0.5 * amount[pick])
    extra_day = day[pick] + np.where(credit, 7, 0)
    account = np.concatenate([account, account[pick]])
    day = np.minimum(np.concatenate([day, extra_day]), CUTOFF.toordinal())
    amount = np.round(np.concatenate([amount, extra_amount]), 2)
    days = [date.fromordinal(d) for d in range(day.min(), day.max() + 1)]
    base = int(day.min())
    return [
        (f"ACC-{a:06d}", days[d - base], v)
        for a, d, v in zip(account.tolist(), day.tolist(), amount.tolist(), strict=True)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    args = parser.parse_args()

    started = time.perf_counter()
    rows = synthetic_rows(args.accounts, args.orders)
    print(f"simulated {len(rows):,} order rows in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    inputs = build_inputs(rows, cutoff=CUTOFF, unit="weeks")
    built = time.perf_counter() - started
    fit = fit_rebuy_model(inputs)
    total = time.perf_counter() - started
    print(
        f"inputs: {len(inputs):,} accounts, {inputs.repeaters:,} repeaters "
        f"({built:.2f} s); fit: {fit.fit_seconds:.2f} s; inputs + fit: {total:.2f} s "
        f"(target < 15 s)"
    )
    print(
        f"fit (weeks): r={fit.r:.3f} alpha={fit.alpha:.2f} a={fit.a:.3f} b={fit.b:.3f}, "
        f"reliable={fit.reliable} {fit.reason}"
    )
    print(
        f"true (weeks): r={TRUE_PARAMS.r:.3f} alpha={TRUE_PARAMS.alpha / 7:.2f} "
        f"a={TRUE_PARAMS.a:.3f} b={TRUE_PARAMS.b:.3f}"
    )
    if fit.spend is not None:
        print(
            f"spend: p={fit.spend.p:.2f} q={fit.spend.q:.2f} gamma={fit.spend.gamma:.0f} "
            f"(true p={TRUE_SPEND.p:g} q={TRUE_SPEND.q:g} gamma={TRUE_SPEND.gamma:g})"
        )

    # Scores are computed on demand from the stored fit: score from its JSON form.
    stored = FitResult.from_json(fit.to_json())
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        scores = score_accounts(stored, inputs, horizon_days=90)
        timings.append(time.perf_counter() - started)
    print(
        f"scoring {len(inputs):,} accounts: best {min(timings) * 1000:.1f} ms, "
        f"worst {max(timings) * 1000:.1f} ms (target < 100 ms); "
        f"mean chance of an order in 90 days {scores.chance_of_order.mean():.1%}"
    )
    # What the report and a sweep use: one rep-facing outlook per account, built once
    # per stored fit and cached (later look-ups are dictionary hits).
    started = time.perf_counter()
    outlooks = outlooks_from_inputs(1, stored, None, inputs)
    print(
        f"outlooks for {len(outlooks):,} accounts (scores + one object each, once per fit): "
        f"{(time.perf_counter() - started) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
