"""Order rows -> the re-buy model's per-account inputs, and the back-test built on them."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.retention.rebuy_model import bgnbd, simulate
from bot.retention.rebuy_model.backtest import BacktestError, format_table, run_backtest
from bot.retention.rebuy_model.fitting import MAX_DROPOUT_PARAM
from bot.retention.rebuy_model.gamma_gamma import GammaGammaParams
from bot.retention.rebuy_model.inputs import build_inputs
from tests.support.paths import CDNOW

CALIBRATION_END = date(1997, 9, 30)
DATA_END = date(1998, 6, 30)
D0 = date(2025, 1, 6)


def _cdnow_rows() -> list[tuple[int, date, float]]:
    rows = []
    for line in (CDNOW / "CDNOW_sample.txt").read_text().splitlines():
        _, customer, day, _, amount = line.split()
        rows.append((int(customer), datetime.strptime(day, "%Y%m%d").date(), float(amount)))
    return rows


@pytest.fixture(scope="module")
def cdnow_rows():
    return _cdnow_rows()


def _by_account(inputs, account):
    i = inputs.accounts.index(account)
    return inputs.x[i], inputs.t_x[i], inputs.T[i], inputs.mean_value[i]


# --- occasions ----------------------------------------------------------------------------


def test_cdnow_transactions_give_the_published_summary(cdnow_rows):
    inputs = build_inputs(cdnow_rows, cutoff=CALIBRATION_END, unit="weeks")
    with (CDNOW / "cdnow_customers_summary_with_transactions.csv").open() as handle:
        summary = {int(row["ID"]): row for row in csv.DictReader(handle)}
    # Eight customers' first purchase was a zero-amount row: no occasion, so no account.
    zero_first = sorted(set(summary) - set(inputs.accounts))
    assert len(zero_first) == 8
    assert all(float(summary[c]["x"]) == 0 for c in zero_first)
    for account, x, t_x, age, mean in zip(
        inputs.accounts, inputs.x, inputs.t_x, inputs.T, inputs.mean_value, strict=True
    ):
        row = summary[account]
        assert x == float(row["x"])
        assert t_x == pytest.approx(float(row["t_x"]), abs=0.006)  # summary rounds to 0.01
        assert age == pytest.approx(float(row["T"]), abs=0.006)
        if x:
            assert mean == pytest.approx(float(row["zbar"]), abs=0.006)
    assert inputs.repeaters == 946


def test_two_orders_on_one_day_are_one_occasion_worth_their_sum():
    rows = [
        ("acme", D0, 100.0),
        ("acme", D0 + timedelta(days=10), 40.0),
        ("acme", datetime(2025, 1, 16, 18, 30, tzinfo=UTC), 60.0),
        ("acme", D0 + timedelta(days=24), 300.0),
    ]
    x, t_x, age, mean = _by_account(build_inputs(rows, cutoff=D0 + timedelta(days=28)), "acme")
    assert x == 2
    assert t_x == pytest.approx(24 / 7)
    assert age == pytest.approx(4.0)
    assert mean == pytest.approx((100.0 + 300.0) / 2)


def test_credits_and_zero_rows_are_never_occasions():
    rows = [
        ("acme", D0 - timedelta(days=3), 0.0),  # zero row before the first purchase
        ("acme", D0, 500.0),
        ("acme", D0 + timedelta(days=5), -200.0),  # credit note
        ("acme", D0 + timedelta(days=9), 0.0),
        ("acme", D0 + timedelta(days=14), 80.0),
        ("acme", D0 + timedelta(days=14), -300.0),  # a bigger credit on an order day
        ("refund-only", D0, -50.0),
    ]
    inputs = build_inputs(rows, cutoff=D0 + timedelta(days=21), unit="days")
    assert inputs.accounts == ["acme"]
    x, t_x, T, mean = _by_account(inputs, "acme")
    # Day 14 is still a purchase, worth what was bought (credits never lower an occasion).
    assert (x, t_x, T, mean) == (1, 14, 21, 80.0)


def test_T_ends_at_the_data_cut_off_not_now():
    rows = [("acme", D0, 10.0), ("acme", D0 + timedelta(days=70), 10.0)]
    cutoff = D0 + timedelta(days=84)
    inputs = build_inputs(rows, cutoff=cutoff, unit="weeks")
    assert _by_account(inputs, "acme")[2] == 12.0
    # Orders after the cut-off are ignored: the feed is not complete there.
    later = [*rows, ("acme", cutoff + timedelta(days=3), 10.0)]
    assert _by_account(build_inputs(later, cutoff=cutoff), "acme")[:3] == (1.0, 10.0, 12.0)


def test_a_bad_unit_or_date_is_named():
    with pytest.raises(ValueError, match="time unit must be 'days' or 'weeks', not 'months'"):
        build_inputs([], cutoff=D0, unit="months")
    with pytest.raises(ValueError, match=r"order row 2 \(account 'acme'\): a day must be a date"):
        build_inputs([("acme", D0, 1.0), ("acme", 20250101, 1.0)], cutoff=D0)


@st.composite
def _order_books(draw):
    accounts = draw(st.integers(1, 6))
    rows = []
    for account in range(accounts):
        days = draw(st.lists(st.integers(0, 400), min_size=1, max_size=12))
        amounts = draw(
            st.lists(
                st.sampled_from([-25.0, 0.0, 10.0, 99.5, 1200.0]),
                min_size=len(days),
                max_size=len(days),
            )
        )
        rows += [
            (f"acct-{account}", D0 + timedelta(days=d), v)
            for d, v in zip(days, amounts, strict=True)
        ]
    return rows


@settings(max_examples=150, deadline=None)
@given(rows=_order_books(), extra_days=st.integers(0, 60))
def test_occasions_follow_the_definition(rows, extra_days):
    cutoff = D0 + timedelta(days=400 + extra_days)
    inputs = build_inputs(rows, cutoff=cutoff, unit="days")
    for account in {a for a, _, _ in rows}:
        # The signals' occasion: a day with a positive row, worth its positive rows.
        bought: dict = {}
        for a, d, v in rows:
            if a == account and v > 0:
                bought[d] = bought.get(d, 0.0) + v
        days = sorted(bought)
        if not days:
            assert account not in inputs.accounts
            continue
        x, t_x, age, mean = _by_account(inputs, account)
        assert x == len(days) - 1
        assert t_x == (days[-1] - days[0]).days
        assert age == (cutoff - days[0]).days
        if x:
            repeat_value = sum(bought[d] for d in days[1:])
            assert mean == pytest.approx(repeat_value / x)
    # Doubling every row (the same orders imported twice, on the same days) changes no
    # occasion count.
    doubled = build_inputs(rows + rows, cutoff=cutoff, unit="days")
    np.testing.assert_array_equal(doubled.x, inputs.x)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), accounts=st.integers(40, 200))
def test_days_or_weeks_change_only_alpha(seed, accounts):
    rng = np.random.default_rng(seed)
    orders = simulate.orders(
        accounts=accounts,
        params=bgnbd.BGNBDParams(r=0.8, alpha=40.0, a=0.8, b=3.0),
        spend=GammaGammaParams(p=6.0, q=4.0, gamma=15.0),
        first_day=D0,
        last_day=D0 + timedelta(days=500),
        rng=rng,
    )
    rows = list(
        zip(
            orders.account.tolist(),
            map(date.fromordinal, orders.day.tolist()),
            orders.amount.tolist(),
            strict=True,
        )
    )
    cutoff = D0 + timedelta(days=500)
    days = build_inputs(rows, cutoff=cutoff, unit="days")
    weeks = build_inputs(rows, cutoff=cutoff, unit="weeks")
    np.testing.assert_allclose(days.T, weeks.T * 7)
    fit_days = bgnbd.fit(days.x, days.t_x, days.T)
    fit_weeks = bgnbd.fit(weeks.x, weeks.t_x, weeks.T)
    in_days, in_weeks = fit_days.params, fit_weeks.params
    # A flat likelihood (dropout parameters running off, which the reliability rules
    # reject) has no single optimum to compare.
    assume(fit_days.converged and fit_weeks.converged)
    assume(max(in_days.a, in_days.b, in_weeks.a, in_weeks.b) <= MAX_DROPOUT_PARAM)
    # The likelihood of t_x as a density changes by the unit's Jacobian, 7 per repeat.
    assert fit_days.log_likelihood == pytest.approx(
        fit_weeks.log_likelihood - days.x.sum() * np.log(7), rel=1e-9
    )
    # Parameters to the optimiser's precision (a stop at a near-zero gradient counts as
    # converged: scipy 1.17's L-BFGS-B may end there "ABNORMAL"), far tighter than any
    # difference a unit could make.
    assert in_days.r == pytest.approx(in_weeks.r, rel=1e-5)
    assert in_days.a == pytest.approx(in_weeks.a, rel=1e-5)
    assert in_days.b == pytest.approx(in_weeks.b, rel=1e-5)
    assert in_days.alpha == pytest.approx(7 * in_weeks.alpha, rel=1e-5)


# --- back-test ----------------------------------------------------------------------------


def test_cdnow_backtest(cdnow_rows):
    result = run_backtest(
        cdnow_rows, calibration_end=CALIBRATION_END, horizon_weeks=39, data_cutoff=DATA_END
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data) >= {
        "params",
        "log_likelihood",
        "accounts",
        "repeaters",
        "predicted_repeat_occasions",
        "actual_repeat_occasions",
        "brier",
        "base_rate_brier",
    }
    assert set(data["params"]) == {"r", "alpha", "a", "b"}
    assert data["time_unit"] == "weeks" and data["holdout_end"] == "1998-06-30"
    assert (data["accounts"], data["repeaters"]) == (2349, 946)
    # Close to the paper's fit: the 8 zero-amount customers are not in the cohort.
    assert data["params"]["r"] == pytest.approx(0.2426, rel=0.02)
    assert data["params"]["b"] == pytest.approx(2.4259, rel=0.02)

    # Actual holdout occasions, counted straight from the rows.
    cohort = set(build_inputs(cdnow_rows, cutoff=CALIBRATION_END).accounts)
    holdout = {
        (a, d)
        for a, d, v in cdnow_rows
        if a in cohort and v > 0 and CALIBRATION_END < d <= DATA_END
    }
    assert data["actual_repeat_occasions"] == len(holdout)
    by_frequency = data["by_frequency"]
    assert [row["frequency"] for row in by_frequency][-1] == "7+"
    assert sum(row["accounts"] for row in by_frequency) == 2349
    assert sum(row["actual"] for row in by_frequency) == len(holdout)
    assert sum(row["predicted"] for row in by_frequency) == pytest.approx(
        data["predicted_repeat_occasions"]
    )
    # The model forecasts the holdout within 15 % and beats the base rate.
    assert data["predicted_repeat_occasions"] == pytest.approx(len(holdout), rel=0.15)
    assert data["brier"] < data["base_rate_brier"]
    deciles = data["calibration_by_decile"]
    assert len(deciles) == 10 and sum(row["accounts"] for row in deciles) == 2349
    chances = [row["mean_chance"] for row in deciles]
    assert chances == sorted(chances)
    table = format_table(result)
    assert "Brier score" in table and "7+" in table
    assert "calibration to 30 Sep 1997" in table and "1997-09-30" not in table


def test_backtest_on_data_drawn_from_the_model_predicts_the_holdout():
    rng = np.random.default_rng(11)
    orders = simulate.orders(
        accounts=6000,
        params=bgnbd.BGNBDParams(r=0.9, alpha=60.0, a=0.9, b=4.0),
        spend=GammaGammaParams(p=6.0, q=4.0, gamma=15.0),
        first_day=D0,
        last_day=D0 + timedelta(days=728),
        acquisition_days=180,
        rng=rng,
    )
    rows = zip(
        orders.account.tolist(),
        map(date.fromordinal, orders.day.tolist()),
        orders.amount.tolist(),
        strict=True,
    )
    result = run_backtest(
        rows,
        calibration_end=D0 + timedelta(days=364),
        horizon_weeks=52,
        data_cutoff=D0 + timedelta(days=728),
    )
    assert result.fit.reliable, result.fit.reason
    assert result.predicted_repeat_occasions == pytest.approx(
        result.actual_repeat_occasions, rel=0.08
    )
    for row in result.calibration_by_decile:
        assert row["mean_chance"] == pytest.approx(row["observed_share"], abs=0.06)


def test_backtest_refuses_a_holdout_past_the_data_cut_off(cdnow_rows):
    with pytest.raises(BacktestError, match="after the data cut-off 30 Jun 1998"):
        run_backtest(
            cdnow_rows, calibration_end=date(1998, 1, 1), horizon_weeks=39, data_cutoff=DATA_END
        )
    with pytest.raises(BacktestError, match="no account had ordered on or before 1 Jan 1990"):
        run_backtest(
            cdnow_rows, calibration_end=date(1990, 1, 1), horizon_weeks=4, data_cutoff=DATA_END
        )
