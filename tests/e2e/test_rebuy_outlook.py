"""What reps see of the re-buy model: the chance of an order from the stored fit, on the
card (domain, CLI and a signed /account request against the strict Slack double), the
reminder reason and order, and `likely_lapsing`."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

from bot.db import Database
from bot.retention.due import due_by_rep
from bot.retention.rebuy_model import bgnbd, gamma_gamma, outlook, words
from bot.retention.status import account_status
from bot.retention.tactics import recommend_tactics
from models import Account
from tests.support import factories as f
from tests.support.cli import NOW, run
from tests.support.rebuy_model import CADENCE, CDNOW, CUTOFF, SPEND, stored_fit
from tests.support.slack_app import SlackApp, all_text


def weeks(later: date, earlier: date) -> float:
    return (later - earlier).days / 7


# --- the words ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chance", "shown", "band", "text"),
    [
        (0.2249, 20, "unlikely", "20 %"),
        (0.225, 25, "unsure", "25 %"),
        (0.5749, 55, "unsure", "55 %"),
        (0.575, 60, "likely", "60 %"),
        (0.999, 100, "likely", "over 95 %"),
        (1.0, 100, "likely", "100 %"),
        (0.02, 0, "unlikely", "2 %"),
        (0.004, 0, "unlikely", "under 1 %"),
        (0.0, 0, "unlikely", "under 1 %"),
    ],
)
def test_chance_is_rounded_to_5_percent_and_banded_as_shown(chance, shown, band, text):
    assert round(words.rounded_chance(chance) * 100) == shown
    assert words.band_of(chance) == band
    assert words.percent_text(chance) == text


@pytest.mark.parametrize(
    ("expected", "text"),
    [
        (0.0001, "less than one order expected"),
        (0.274, "less than one order expected"),
        (0.96, "about one order expected"),
        (1.4, "about one order expected"),
        (2.6, "about 3 orders expected"),
        (12.3, "about 12 orders expected"),
    ],
)
def test_expected_orders_in_whole_orders(expected, text):
    assert words.orders_text(expected) == text


def _outlook(**fields) -> outlook.Outlook:
    values = dict(
        fit_id=1,
        cutoff=CUTOFF,
        chance=0.2031,
        expected_orders=0.274,
        expected_value=4123.0,
        order_value=900.0,
        order_days=4,
        valuable=True,
    )
    return outlook.Outlook(**(values | fields))


def test_the_sentence_a_rep_reads():
    seen = _outlook()
    assert seen.chance_text() == (
        "Chance of an order in the next 90 days: 20 % (less than one order expected)"
    )
    assert seen.value_text() == "worth about $4,100 next quarter"
    assert seen.band == "unlikely" and seen.lapsing
    tiny = _outlook(chance=0.003, expected_orders=0.003, dated=True)
    assert tiny.chance_text() == (
        "As of 31 Mar, chance of an order in the next 90 days: under 1 % "
        "(less than one order expected)"
    )
    assert words.about_money(87.4) == "$87" and words.about_money(12_345) == "$12,000"


def test_one_rhythm_figure_per_card_in_the_lapsing_reason():
    from bot.retention.facts import AccountFacts
    from bot.retention.signals import Signal

    facts = AccountFacts(
        id=1,
        external_id="A",
        name="A",
        tier="mid",
        owner_id=None,
        annual_value=None,
        cadence_days=None,
        created_at=f.NOW,
        last_order_at=f.at("2026-01-20"),
        # Occasions on 1 Oct, 26 Nov and 20 Jan: gaps of 56 and 55 days.
        occasions=3,
        usual_gap_days=55.5,
    )
    today = date(2026, 4, 1)
    seen = _outlook()
    # Without off_rhythm, the reason carries the signals' rhythm (median gap, in days).
    assert outlook.lapsing_reason(seen, facts, [], today) == (
        "Usually orders every 56 days, last order 71 days ago: chance of an order in the "
        "next 90 days down to 20 %."
    )
    # With off_rhythm on the card, the rhythm is said once, there.
    off = Signal("off_rhythm", "Usually orders every 56 days; it has been 71 days …", 15)
    assert outlook.lapsing_reason(replace(seen, dated=True), facts, [off], today) == (
        "A valuable account going quiet: chance of an order in the 90 days after 31 Mar "
        "down to 20 %."
    )


# --- from the stored fit -------------------------------------------------------------------


def test_the_card_scores_at_the_stored_cut_off_not_at_now(db: Database):
    with db.transaction() as session:
        acme = f.account(session, "Acme")
        for day, amount in (("2025-06-02", 400), ("2025-09-01", 500), ("2026-01-05", 600)):
            f.order(session, acme, day, amount)
    stored_fit(db)
    with db.session() as session:
        status = account_status(
            session=session, account_id=acme.id, now=f.NOW, tier_cadence=CADENCE
        )
    seen = status.outlook
    assert seen is not None
    first, last = date(2025, 6, 2), date(2026, 1, 5)
    x, t_x = 2, weeks(last, first)
    expected = bgnbd.chance_of_order(CDNOW, 90 / 7, x, t_x, weeks(CUTOFF, first))
    at_now = bgnbd.chance_of_order(CDNOW, 90 / 7, x, t_x, weeks(f.NOW.date(), first))
    assert seen.chance == pytest.approx(float(expected), rel=1e-9)
    assert abs(float(at_now) - float(expected)) > 0.01  # the cut-off matters here
    # The cut-off is 76 days before "now": shown, but as of its date.
    assert seen.dated and seen.chance_text().startswith("As of 31 Mar, chance of an order")
    assert seen.order_days == 3
    orders = bgnbd.expected_orders(CDNOW, 90 / 7, x, t_x, weeks(CUTOFF, first))
    value = gamma_gamma.expected_order_value(SPEND, np.array([2.0]), np.array([550.0]))
    assert seen.expected_value == pytest.approx(float(orders * value[0]), rel=1e-9)
    assert status.to_dict()["rebuy"]["chance_shown"] == seen.percent
    # A replayed day before the cut-off must not see the fit (it knows later orders); the
    # day just before may be a rep's local day west of UTC, so two days before.
    with db.session() as session:
        past = account_status(
            session=session,
            account_id=acme.id,
            now=f.NOW,
            tier_cadence=CADENCE,
            as_of=CUTOFF - timedelta(days=2),
        )
    assert past.outlook is None
    # Once the account has ordered after the cut-off, the chance of an order after it is
    # settled: "As of 31 Mar, chance of an order …" beside a May order would mislead.
    with db.transaction() as session:
        f.order(session, session.get(Account, acme.id), "2026-05-01", 700)
    with db.session() as session:
        since = account_status(session=session, account_id=acme.id, now=f.NOW, tier_cadence=CADENCE)
    assert since.outlook is None and since.to_dict()["rebuy"] is None
    assert "likely_lapsing" not in since.signal_names


def test_nothing_is_shown_without_a_reliable_fit(db: Database):
    with db.transaction() as session:
        acme = f.account(session, "Acme")
        f.order(session, acme, "2025-06-02", 400)
        f.order(session, acme, "2025-09-01", 400)

    def seen():
        with db.session() as session:
            return account_status(
                session=session, account_id=acme.id, now=f.NOW, tier_cadence=CADENCE
            )

    assert seen().outlook is None  # no fit stored
    stored_fit(db, reliable=False)
    status = seen()
    assert status.outlook is None and status.to_dict()["rebuy"] is None
    stored_fit(db)  # the newest fit is the one used
    assert seen().outlook is not None


def test_one_order_day_gets_a_chance_but_no_value(db: Database):
    with db.transaction() as session:
        once = f.account(session, "Once")
        f.order(session, once, "2026-03-01", 400)
    stored_fit(db)
    with db.session() as session:
        seen = outlook.account_outlook(session=session, account_id=once.id)
    assert seen.expected_value is None and seen.value_text() is None
    assert "worth" not in seen.line() and seen.line().startswith("Chance of an order")
    with db.session() as session:
        card = account_status(session=session, account_id=once.id, now=f.NOW, tier_cadence=CADENCE)
    assert card.outlook.line().startswith("As of 31 Mar, chance of an order")


def test_likely_lapsing_for_a_valuable_account_gone_quiet(db: Database):
    with db.transaction() as session:
        big = f.account(session, "Big Buyer")
        small = f.account(session, "Small Buyer")
        start = date(2024, 1, 1)
        for n in range(8):  # every 8 weeks, then silent from September 2025
            f.order(session, big, start + timedelta(weeks=8 * n), 5000)
            f.order(session, small, start + timedelta(weeks=8 * n), 5)
    stored_fit(db, valuable_from=100.0)
    with db.session() as session:
        big_status = account_status(
            session=session, account_id=big.id, now=f.NOW, tier_cadence=CADENCE
        )
        small_status = account_status(
            session=session, account_id=small.id, now=f.NOW, tier_cadence=CADENCE
        )
    assert big_status.outlook.band == "unlikely"
    [lapsing] = [s for s in big_status.signals if s.name == "likely_lapsing"]
    # off_rhythm already says the rhythm: one "usually orders every" figure on the card.
    assert "off_rhythm" in big_status.signal_names
    assert lapsing.reason.startswith("A valuable account going quiet: chance of an order")
    assert f"down to {big_status.outlook.percent} %" in lapsing.reason
    assert any("likely_lapsing" not in r and lapsing.reason in r for r in big_status.health.reasons)
    card = " ".join(big_status.health.reasons)
    assert card.count("Usually orders every") == 1 and "every 56 days" in card
    # likely_lapsing has tactics of its own (the tactic bank's fits name it).
    with db.session() as session:
        picks = recommend_tactics(
            session=session,
            account_id=big.id,
            signals=["likely_lapsing"],
            segment=None,
            now=f.NOW,
        )
    assert picks and all("likely_lapsing" in pick.reasons for pick in picks)
    # Same rhythm, but each order worth less than the repeaters' median: not "valuable".
    assert small_status.outlook.band == "unlikely"
    assert "likely_lapsing" not in small_status.signal_names


def test_reminders_rank_by_value_at_risk_and_say_the_chance(db: Database):
    with db.transaction() as session:
        ana = f.rep(session, "ana@seller.example")
        steady = f.account(session, "Steady", owner_id=ana.id, annual_value=10_000)
        quiet = f.account(session, "Quiet", owner_id=ana.id, annual_value=10_000)
        for n in range(10):
            f.order(session, steady, CUTOFF - timedelta(weeks=3 * n), 500)
        f.order(session, quiet, "2024-02-01", 500)
        f.order(session, quiet, "2024-03-01", 500)
        for acct in (steady, quiet):
            f.touch(session, acct, "2026-05-01", source="import")
    with db.session() as session:
        before = due_by_rep(
            session=session, as_of=f.NOW.date(), now=f.NOW, tier_cadence=CADENCE, limit=5
        )[ana.id]
    stored_fit(db)
    with db.session() as session:
        after = due_by_rep(
            session=session, as_of=f.NOW.date(), now=f.NOW, tier_cadence=CADENCE, limit=5
        )[ana.id]
    assert {item.name for item in before} == {"Steady", "Quiet"}
    assert all(item.outlook is None for item in before)
    assert [item.name for item in after] == ["Quiet", "Steady"]  # more value at risk first
    quiet_item, steady_item = after
    assert quiet_item.outlook.chance < steady_item.outlook.chance
    assert steady_item.why[1] == f"{steady_item.outlook.line()}."


def test_workspace_scores_are_cached_per_fit(db: Database):
    with db.transaction() as session:
        acme = f.account(session, "Acme")
        f.order(session, acme, "2025-06-02", 400)
    stored_fit(db)
    with db.session() as session:
        first = outlook.workspace_outlooks(session=session)
        assert outlook.workspace_outlooks(session=session) is first
    newer = stored_fit(db)
    with db.session() as session:
        again = outlook.workspace_outlooks(session=session)
    assert again is not first and again[acme.id].fit_id == newer.id


# --- the CLI and Slack -------------------------------------------------------------------


def test_cli_card_shows_the_chance(db: Database, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REBUY_NOW", NOW)
    with db.transaction() as session:
        acme = f.account(session, "Acme")
        f.order(session, acme, "2025-06-02", 400)
        f.order(session, acme, "2026-03-02", 400)
    stored_fit(db)
    code, out, err = run(capsys, "account", "acme")
    assert code == 0, err
    assert "As of 31 Mar, chance of an order in the next 90 days:" in out
    assert "next quarter" in out
    code, out, _ = run(capsys, "account", "acme", "--json")
    data = json.loads(out)["rebuy"]
    assert set(data) >= {"chance_of_order", "expected_orders", "expected_value", "band"}


def test_slack_card_shows_the_chance_only_with_a_reliable_fit(slack_app: SlackApp):
    slack_app.double.add_user("U123", email="ana@seller.example", real_name="Ana Lima")
    with slack_app.db.transaction() as session:
        ana = f.rep(session, "ana@seller.example", name="Ana Lima", slack_user_id="U123")
        acme = f.account(session, "Acme Corp", owner_id=ana.id)
        f.order(session, acme, "2025-06-02", 400)
        f.order(session, acme, "2026-03-02", 400)
    _, reply = slack_app.command("acme corp")
    assert "Chance of an order" not in all_text(reply)
    stored_fit(slack_app.db)
    status, reply = slack_app.command("acme corp")
    assert status == 200
    text = all_text(reply)
    with slack_app.db.session() as session:
        seen = outlook.account_outlook(session=session, account_id=acme.id)
    assert f"*{replace(seen, dated=True).chance_text()}* ({seen.band})" in text
    assert seen.value_text().capitalize() in text
    assert "alive" not in text.lower()  # never P(alive) on its own


def test_home_tab_shows_the_chance_next_to_the_account(slack_app: SlackApp):
    from tests.support.scenes import sections
    from tests.support.scenes import seed as seed_home
    from tests.support.slack_signing import app_home_opened_event

    seed_home(slack_app)
    stored_fit(slack_app.db)
    assert slack_app.event(app_home_opened_event("U123")) == 200
    view = slack_app.wait_for("views.publish")[0]["view"]
    # Each account is listed once, under its most urgent heading: Dormant AB is at risk.
    at_risk = "\n".join(sections(view)["At risk"])
    # Dormant AB's only order (1 Oct 2025) is before the cut-off: it has a chance.
    assert "*Dormant AB*" in at_risk
    assert "As of 31 Mar, chance of an order in the next 90 days:" in at_risk
    # Overdue Oy's orders all came after the cut-off (31 Mar): the model knows nothing.
    overdue = "\n".join(sections(view)["Overdue"])
    assert "*Overdue Oy*" in overdue and "Chance of an order" not in overdue


def test_report_has_expected_rebuyers_and_value_at_risk(db: Database, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REBUY_NOW", NOW)
    with db.transaction() as session:
        steady = f.account(session, "Steady", annual_value=40_000)
        quiet = f.account(session, "Quiet", annual_value=8_000)
        f.account(session, "Never")  # no order: no chance, not in the sums
        for n in range(6):
            f.order(session, steady, CUTOFF - timedelta(weeks=4 * n), 900)
        f.order(session, quiet, "2024-05-01", 300)
    code, out, _ = run(capsys, "report", "--json")
    assert code == 0 and json.loads(out)["rebuy"] is None  # no fit: nothing claimed
    stored_fit(db)
    with db.session() as session:
        seen = {
            a.id: outlook.account_outlook(session=session, account_id=a.id) for a in (steady, quiet)
        }
    code, out, err = run(capsys, "report", "--json")
    assert code == 0, err
    rebuy = json.loads(out)["rebuy"]
    assert rebuy["scored_accounts"] == 2
    assert rebuy["expected_rebuyers"] == pytest.approx(
        sum(s.chance for s in seen.values()), abs=0.05
    )
    at_risk = 40_000 / 4 * (1 - seen[steady.id].chance) + 8_000 / 4 * (1 - seen[quiet.id].chance)
    assert rebuy["value_at_risk"] == pytest.approx(at_risk, abs=0.01)
    assert rebuy["fit"]["r"] == pytest.approx(CDNOW.r) and rebuy["fit"]["cutoff"] == "2026-03-31"
    rows = {row["name"]: row for row in rebuy["accounts"]}
    assert rows["Steady"]["chance_of_order"] == pytest.approx(seen[steady.id].chance, abs=1e-4)
    assert rows["Steady"]["expected_orders"] > rows["Quiet"]["expected_orders"]
    assert rows["Quiet"]["expected_value"] is None  # one order day: no spend estimate
    code, out, _ = run(capsys, "report")
    # The fit's cut-off (31 Mar) is 76 days old: the figures say whose days they are.
    assert "Expected to re-buy in the 90 days after 31 Mar" in out
    assert "Value at risk next quarter" in out
    # Replaying a day before the data cut-off: the fit knows later orders, so no forecast.
    code, out, _ = run(capsys, "report", "--json", "--as-of", "2026-03-01")
    assert code == 0 and json.loads(out)["rebuy"] is None
