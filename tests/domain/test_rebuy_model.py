"""The re-buy models against the published CDNOW results, simulation and edge cases."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.retention.rebuy_model import bgnbd, gamma_gamma, scores, simulate
from bot.retention.rebuy_model.fitting import (
    MIN_REPEATERS,
    FitResult,
    fit_rebuy_model,
    score_accounts,
)
from bot.retention.rebuy_model.inputs import ModelInputs
from tests.support.paths import CDNOW

PAPER = bgnbd.BGNBDParams(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)


def _summary(name: str) -> dict[str, np.ndarray]:
    with (CDNOW / name).open(newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], np.array(rows[1:], dtype=float)
    return {column: body[:, i] for i, column in enumerate(header)}


@pytest.fixture(scope="module")
def cdnow():
    data = _summary("cdnow_customers_summary.csv")
    return data["frequency"], data["recency"], data["T"]


@pytest.fixture(scope="module")
def cdnow_spend():
    data = _summary("cdnow_customers_summary_with_transactions.csv")
    return np.where(data["x"] > 0, data["zbar"], np.nan)


@pytest.fixture(scope="module")
def cdnow_fit(cdnow):
    return bgnbd.fit(*cdnow)


def _inputs(x, t_x, T, *, mean_value=None, history_days=400, unit="weeks") -> ModelInputs:
    x = np.asarray(x, dtype=float)
    start = date(2020, 1, 1).toordinal()
    first = np.full(x.size, start)
    return ModelInputs(
        accounts=list(range(x.size)),
        x=x,
        t_x=np.asarray(t_x, dtype=float),
        T=np.asarray(T, dtype=float),
        mean_value=np.full(x.size, np.nan) if mean_value is None else np.asarray(mean_value),
        first_day=first,
        codes=np.arange(x.size),
        cutoff=date.fromordinal(start + history_days),
        unit=unit,
    )


# --- the paper (Fader, Hardie & Lee 2005) -------------------------------------------------


def test_fit_reproduces_the_published_cdnow_parameters(cdnow_fit):
    fitted = cdnow_fit.params
    assert cdnow_fit.converged
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fitted, name) == pytest.approx(getattr(PAPER, name), rel=1e-3), name
    assert cdnow_fit.log_likelihood == pytest.approx(-9582.43, abs=0.01)


def test_log_likelihood_at_the_published_parameters_matches_the_paper(cdnow):
    # Independent of the optimiser: the formula alone, at the paper's rounded parameters.
    assert bgnbd.log_likelihood(PAPER, *cdnow) == pytest.approx(-9582.43, abs=0.05)


def test_the_papers_example_customers_at_39_weeks(cdnow_fit):
    params = cdnow_fit.params
    x, t_x, T = [2.0, 0.0], [30.43, 0.0], [38.86, 38.86]
    alive = bgnbd.p_alive(params, x, t_x, T)
    expected = bgnbd.expected_orders(params, 39, x, t_x, T)
    assert alive[0] == pytest.approx(0.7266, abs=1e-3)
    assert expected[0] == pytest.approx(1.2259, abs=1e-3)
    assert alive[1] == 1.0
    assert expected[1] == pytest.approx(0.1948, abs=1e-3)


def test_gamma_gamma_reproduces_the_published_spend_parameters():
    data = _summary("cdnow_customers_summary_with_transactions.csv")
    repeat = data["x"] > 0
    result = gamma_gamma.fit(data["x"][repeat], data["zbar"][repeat])
    assert repeat.sum() == 946
    assert result.converged
    assert result.params.p == pytest.approx(6.25, rel=2e-3)
    assert result.params.q == pytest.approx(3.74, rel=2e-3)
    assert result.params.gamma == pytest.approx(15.44, rel=2e-3)


def test_expected_order_value_shrinks_towards_the_population_mean():
    params = gamma_gamma.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    population = params.p * params.gamma / (params.q - 1)
    values = gamma_gamma.expected_order_value(params, [0, 1, 50], [0, 100.0, 100.0])
    assert values[0] == pytest.approx(population)
    # More repeat orders -> more weight on the account's own mean of 100.
    assert population < values[1] < values[2] < 100.0


# --- the chance of an order against simulation --------------------------------------------


@pytest.fixture(scope="module")
def simulated():
    rng = np.random.default_rng(20050401)
    T = rng.uniform(5, 40, 120_000)
    x, t_x, y = simulate.histories(PAPER, T, 13.0, rng)
    return x, t_x, T, y


def _close(predicted: np.ndarray, observed: np.ndarray) -> None:
    """The mean prediction lies within 4 standard errors of the simulated mean."""
    error = observed.std(ddof=1) / math.sqrt(observed.size)
    assert abs(predicted.mean() - observed.mean()) < 4 * error + 1e-9


def test_chance_of_an_order_matches_simulation(simulated):
    x, t_x, T, y = simulated
    chance = bgnbd.chance_of_order(PAPER, 13.0, x, t_x, T)
    ordered = (y > 0).astype(float)
    _close(chance, ordered)
    for group in (x == 0, x == 1, x == 2, (x >= 3) & (x < 6), x >= 6):
        _close(chance[group], ordered[group])
    # P(alive) alone is no chance of an order: it is 1 for everyone without a repeat.
    assert abs(bgnbd.p_alive(PAPER, x, t_x, T).mean() - ordered.mean()) > 0.3


def test_expected_orders_match_simulation(simulated):
    x, t_x, T, y = simulated
    expected = bgnbd.expected_orders(PAPER, 13.0, x, t_x, T)
    _close(expected, y)
    for group in (x == 0, x == 1, (x >= 2) & (x < 6), x >= 6):
        _close(expected[group], y[group])


def test_expected_orders_of_a_new_customer_match_simulation():
    rng = np.random.default_rng(9)
    _, _, y = simulate.histories(PAPER, np.zeros(100_000), 52.0, rng)
    _close(bgnbd.expected_orders_new_customer(PAPER, 52.0), y)


# --- numerical edges ----------------------------------------------------------------------


@pytest.mark.parametrize("a", [1 - 3e-3, 1 - 1.001e-3, 1 + 1.001e-3, 1 + 3e-3])
def test_the_near_one_series_agrees_with_the_closed_form(a):
    # Either side of the switch both forms are valid; they must give the same numbers.
    params = replace(PAPER, a=a)
    x = np.array([0.0, 1, 2, 7, 40, 500])
    T = np.full(6, 38.86)
    p = np.full(6, a + params.b - 1 - params.r)
    c = a + params.b + x - 1
    z = 39 / (params.alpha + T + 39)
    log_1mz = np.log1p(-z)
    closed = scores._closed_form_growth(p, a - 1, c, z, log_1mz)
    series = -np.expm1((a - 1) * log_1mz) / (a - 1) - np.exp(
        (a - 1) * log_1mz
    ) * scores._hyp_series(p, a - 1, c, z, scores._SERIES_MAX_TERMS)
    np.testing.assert_allclose(series, closed, rtol=1e-9)


def test_expected_orders_are_continuous_through_a_equal_one():
    x, t_x, T = [0.0, 2.0, 60.0], [0.0, 30.43, 38.0], [38.86, 38.86, 38.86]
    values = [
        bgnbd.expected_orders(replace(PAPER, a=a), 39, x, t_x, T) for a in (1 - 1e-9, 1.0, 1 + 1e-9)
    ]
    np.testing.assert_allclose(values[0], values[1], rtol=1e-7)
    np.testing.assert_allclose(values[2], values[1], rtol=1e-7)


@settings(max_examples=200, deadline=None)
@given(
    x=st.integers(0, 10_000),
    recency=st.floats(0, 1),
    T=st.floats(0.5, 520),
    t=st.floats(0.1, 104),
    r=st.floats(0.05, 5),
    alpha=st.floats(0.1, 100),
    a=st.sampled_from([1 - 1e-9, 1.0, 1 + 1e-9, 0.3, 0.7929, 2.5]),
    b=st.floats(0.2, 20),
)
def test_scores_stay_finite_and_coherent(x, recency, T, t, r, alpha, a, b):
    params = bgnbd.BGNBDParams(r=r, alpha=alpha, a=a, b=b)
    t_x = recency * T if x else 0.0
    alive = bgnbd.p_alive(params, [x], [t_x], [T])[0]
    expected = bgnbd.expected_orders(params, t, [x], [t_x], [T])[0]
    chance = bgnbd.chance_of_order(params, t, [x], [t_x], [T])[0]
    assert math.isfinite(alive) and math.isfinite(expected) and math.isfinite(chance)
    assert 0.0 <= chance <= alive <= 1.0
    # Y(t) is a whole number of orders, so P(Y > 0) <= E[Y].
    assert chance <= expected * (1 + 1e-9) + 1e-12


# --- fit results: reliability, JSON, scoring ---------------------------------------------


def test_cdnow_fit_is_reliable_and_round_trips_through_json(cdnow, cdnow_spend):
    inputs = _inputs(*cdnow, mean_value=cdnow_spend, history_days=273)
    result = fit_rebuy_model(inputs)
    assert result.reliable, result.reason
    assert result.spend.reliable and result.spend.q == pytest.approx(3.74, rel=2e-3)
    assert (result.accounts, result.repeaters, result.unit) == (2357, 946, "weeks")
    assert result.fit_seconds > 0
    restored = FitResult.from_json(result.to_json())
    assert restored == result
    stored = json.loads(result.to_json())
    assert set(stored) >= {"r", "alpha", "a", "b", "log_likelihood", "cutoff", "reason"}


def test_an_empty_fit_is_unreliable_and_still_serialises():
    result = fit_rebuy_model(_inputs([], [], []))
    assert not result.reliable
    assert "no orders" in result.reason
    assert json.loads(result.to_json())["r"] is None
    assert math.isnan(FitResult.from_json(result.to_json()).r)


def test_too_few_repeaters_is_unreliable(cdnow):
    x, t_x, T = (column[:600] for column in cdnow)
    result = fit_rebuy_model(_inputs(x, t_x, T, history_days=273))
    assert int((x > 0).sum()) < MIN_REPEATERS
    assert not result.reliable
    assert f"only {int((x > 0).sum())} accounts" in result.reason


def test_short_history_is_unreliable(cdnow):
    result = fit_rebuy_model(_inputs(*cdnow, history_days=120))
    assert not result.reliable
    assert "3.9 months" in result.reason


def test_a_fit_with_no_visible_dropout_is_degenerate():
    # Everyone bought at a steady rate right up to the cut-off: nobody looks gone, so the
    # dropout parameters run off towards infinity.
    rng = np.random.default_rng(3)
    T = rng.uniform(30, 52, 400)
    x = rng.poisson(T / 4).astype(float) + 1
    result = fit_rebuy_model(_inputs(x, T, T, history_days=365))
    assert not result.reliable
    assert result.reason.startswith("the fit is degenerate: b = ")


def test_non_finite_scores_make_the_fit_unreliable(cdnow, monkeypatch):
    def broken(params, t, x, t_x, T):
        return np.full(np.shape(x), np.nan)

    monkeypatch.setattr(scores, "expected_orders", broken)
    result = fit_rebuy_model(_inputs(*cdnow, history_days=273))
    assert not result.reliable
    assert result.reason == "the scores of 2357 accounts are not finite"


def test_scoring_uses_the_fit_in_any_unit(cdnow, cdnow_spend):
    x, t_x, T = cdnow
    weeks = _inputs(x, t_x, T, mean_value=cdnow_spend)
    fit = fit_rebuy_model(weeks, horizon_days=39 * 7)
    days = replace(weeks, t_x=t_x * 7, T=T * 7, unit="days")
    in_weeks = score_accounts(fit, weeks, horizon_days=39 * 7)
    in_days = score_accounts(fit, days, horizon_days=39 * 7)
    np.testing.assert_allclose(in_days.chance_of_order, in_weeks.chance_of_order, rtol=1e-12)
    assert in_weeks.expected_orders[0] == pytest.approx(1.2259, abs=1e-3)
    # Expected value: expected orders x expected order value, for repeaters only.
    assert np.isnan(in_weeks.expected_value[x == 0]).all()
    assert np.isfinite(in_weeks.expected_value[x > 0]).all()
    spend = gamma_gamma.GammaGammaParams(fit.spend.p, fit.spend.q, fit.spend.gamma)
    first_value = gamma_gamma.expected_order_value(spend, [2], [cdnow_spend[0]])[0]
    assert in_weeks.expected_value[0] == pytest.approx(in_weeks.expected_orders[0] * first_value)


@settings(max_examples=300, deadline=None)
@given(
    x=st.integers(0, 10_000),
    T=st.floats(0, 520),
    t=st.floats(0.1, 104),
    r=st.floats(0.05, 5),
    alpha=st.floats(0.1, 100),
    a=st.floats(0.05, 10).filter(lambda a: abs(a - 1) > 2e-3),
    b=st.floats(0.2, 20),
)
def test_the_series_and_scipys_hyp2f1_agree_away_from_a_equal_one(x, T, t, r, alpha, a, b):
    one = np.ones(1)
    p, c = one * (a + b - 1 - r), one * (a + b + x - 1)
    z = one * t / (alpha + T + t)
    log_1mz = np.log((alpha + T) / (alpha + T + t)) * one
    closed = scores._closed_form_growth(p, a - 1, c, z, log_1mz)[0]
    series = scores._series_growth(p, a - 1, c, z, log_1mz, scores._SERIES_MAX_TERMS)[0]
    if math.isfinite(closed) and math.isfinite(series):
        assert series == pytest.approx(closed, rel=1e-8, abs=1e-300)
    else:
        # Where one of them gives up, the scores still come out finite.
        params = bgnbd.BGNBDParams(r=r, alpha=alpha, a=a, b=b)
        assert np.isfinite(bgnbd.expected_orders(params, t, [x], [0.0], [T])).all()


def test_bulk_scoring_with_hyp2f1_agrees_with_the_numpy_series(cdnow, monkeypatch):
    x, t_x, T = cdnow
    monkeypatch.setattr(scores, "BULK_ACCOUNTS", 10**9)  # the series (a card's path)
    series = scores.expected_orders(PAPER, 39, x, t_x, T)
    monkeypatch.setattr(scores, "BULK_ACCOUNTS", 1)  # scipy's hyp2f1 (the report's)
    bulk = scores.expected_orders(PAPER, 39, x, t_x, T)
    np.testing.assert_allclose(bulk, series, rtol=1e-9)
