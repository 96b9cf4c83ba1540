"""`/account` end to end: signed slash commands over HTTP into the real app, answers
read back from the Slack double's response_url, effects read from the database."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
import yaml
from sqlmodel import select

from bot.retention.errors import InvalidInput
from models import Account, Rep, Snooze, TacticExposure, Touch
from tests.support import factories as f
from tests.support.paths import MANIFEST
from tests.support.slack_app import (
    ADMIN_ID,
    SlackApp,
    all_text,
    buttons,
    mrkdwn_texts,
    shown,
)
from tests.support.slack_signing import (
    FORM,
    JSON,
    app_home_opened_event,
    block_actions_body,
    post_signed,
    reaction_event,
    sign,
    slash_command_body,
    url_verification_body,
)

# The fixtures: a Slack Web API double and Rebuy served over HTTP against it.

ANA = "U123"  # the default acting user of the signed-request helpers
BEN = "UBEN"
TODAY = f.NOW.date()


def seed(slack_app: SlackApp, *, link: bool = True) -> dict[str, int]:
    """Ana owns Acme Corp (one contact, old orders, a recent call) and Zeta Tools (a key
    account, overdue since 15 May);
    Ben owns Acme Labs. `link=False` leaves Ana to be linked by e-mail on first use."""
    slack_app.double.add_user(ANA, email="ana@seller.example", real_name="Ana Lima")
    slack_app.double.add_user(BEN, email="ben@seller.example", real_name="Ben Ode")
    with slack_app.db.transaction() as session:
        ana = f.rep(
            session, "ana@seller.example", name="Ana Lima", slack_user_id=ANA if link else None
        )
        ben = f.rep(session, "ben@seller.example", name="Ben Ode", slack_user_id=BEN)
        acme = f.account(session, "Acme Corp", owner_id=ana.id, annual_value=50_000)
        labs = f.account(session, "Acme Labs", owner_id=ben.id)
        zeta = f.account(session, "Zeta Tools", owner_id=ana.id, tier="key")
        f.order(session, acme, "2025-03-01", 1200)
        f.order(session, acme, "2025-05-01", 800)
        f.order(session, zeta, "2026-06-01", 300)
        f.touch(session, zeta, "2026-05-01", kind="email", source="import")  # 14-day cadence
        f.contact(session, acme, "Carla Buyer", title="Head of purchasing")
        f.touch(
            session, acme, "2026-06-10", slack_user_id=ANA, note="Asked about Q3", source="import"
        )
        return {"acme": acme.id, "labs": labs.id, "zeta": zeta.id, "ana": ana.id, "ben": ben.id}


def no_traceback(payload: dict) -> None:
    text = all_text(payload)
    assert "Traceback" not in text and "Error(" not in text and 'File "' not in text


# ------------------------------------------------------------------ request signing


@pytest.mark.parametrize("problem", ["forged", "stale"])
def test_forged_or_stale_requests_are_refused(slack_app: SlackApp, problem: str) -> None:
    seed(slack_app)
    refused_url = slack_app.new_response_url()
    body = slash_command_body(text="log acme corp call", response_url=refused_url)

    status, _ = slack_app.post(body, FORM, **{problem: True})

    assert status == 401
    # A genuine request afterwards is answered; the refused one never reached a listener.
    assert slack_app.command("help")[0] == 200
    assert slack_app.responses(refused_url) == []
    with slack_app.db.session() as session:
        assert session.exec(select(Touch).where(Touch.source == "command")).all() == []


def test_a_body_altered_after_signing_is_refused(slack_app: SlackApp) -> None:
    body = slash_command_body(text="help", response_url=slack_app.new_response_url())
    signed_for = slash_command_body(text="report")
    headers = sign(signed_for, "secret")
    status, _, _ = post_signed(slack_app.url, body, FORM, "secret", extra_headers=headers)
    assert status == 401


def test_url_verification_echoes_the_challenge(slack_app: SlackApp) -> None:
    status, reply = slack_app.post(url_verification_body("c-42"), JSON)
    assert status == 200
    assert json.loads(reply) == {"challenge": "c-42"}


# ------------------------------------------------------------------ the status card


@pytest.mark.both_databases
def test_account_name_gives_an_ephemeral_status_card(slack_app: SlackApp) -> None:
    ids = seed(slack_app)

    status, reply = slack_app.command("acme corp")

    assert status == 200
    assert reply["response_type"] == "ephemeral"
    blocks = reply["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Acme Corp", "emoji": True},
    }
    text = all_text(reply)
    assert "owner <@U123>" in text
    assert "Health" in text and "No order in over 12 months" in text  # health with reasons
    assert "1 May 2025 ($800)" in text  # last order
    assert "call by <@U123>, 10 Jun 2026" in text and "Asked about Q3" in text  # last touch
    assert "*Next touch*\n10 Jul 2026" in text
    assert "*Segment*" in text
    assert "Carla Buyer, Head of purchasing" in text and "Single-threaded" in text
    assert "No plan yet" in text
    assert "Try next" in text and "*1. " in text and "*2. " in text
    actions = {b["action_id"]: b["value"] for b in buttons(blocks)}
    assert actions == {
        "touch_log": str(ids["acme"]),
        "touch_snooze": str(ids["acme"]),
        "plan_edit": str(ids["acme"]),
    }
    assert len(blocks) <= 50
    assert "Acme Corp" in reply["text"]


def test_share_posts_the_card_in_the_channel(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("acme corp share")
    assert reply["response_type"] == "in_channel"
    assert reply["blocks"][0]["text"]["text"] == "Acme Corp"


@pytest.mark.both_databases
def test_the_card_shows_the_plan_when_there_is_one(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    with slack_app.db.transaction() as session:
        f.plan(session, session.get(Account, ids["acme"]), target_state="Three product lines")
    _, reply = slack_app.command("Acme Corp")
    text = all_text(reply)
    assert "*Plan* (by 1 Oct 2026)" in text and "Three product lines" in text


def test_names_from_data_are_escaped_so_nobody_is_pinged(slack_app: SlackApp) -> None:
    with slack_app.db.transaction() as session:
        owner = f.rep(session, "ana@seller.example", slack_user_id=ANA)
        bad = f.account(session, "<!channel> & <@U999>", owner_id=owner.id)
        f.contact(session, bad, "<!here> Boss", title="<#C1|general>")
        f.touch(session, bad, "2026-06-01", slack_user_id=ANA, note="<!everyone> call me")
        f.plan(session, bad, current_state="<https://evil.example|click>", target_state="a&b")

    _, reply = slack_app.command(bad.external_id)

    texts = mrkdwn_texts(reply)
    joined = "\n".join(texts)
    for raw in ("<!channel>", "<@U999>", "<!here>", "<!everyone>", "<#C1", "<https://evil"):
        assert raw not in joined
    assert "&lt;!channel&gt; &amp; &lt;@U999&gt;" in reply["text"]
    assert "&amp;lt;" not in joined  # escaped once, not twice
    assert "&lt;!here&gt; Boss" in joined and "&lt;!everyone&gt; call me" in joined
    assert "a&amp;b" in joined


def test_escaped_in_confirmations_and_pick_lists_too(slack_app: SlackApp) -> None:
    with slack_app.db.transaction() as session:
        f.rep(session, "ana@seller.example", slack_user_id=ANA)
        f.account(session, "<!channel> One")
        f.account(session, "<!channel> Two")

    _, pick = slack_app.command("<!channel>")
    _, logged = slack_app.command("log <!channel> One call")

    for reply in (pick, logged):
        joined = "\n".join(mrkdwn_texts(reply))
        assert "<!channel>" not in joined
        assert "&amp;lt;" not in joined
    assert "&lt;!channel&gt; One" in logged["text"]


# ------------------------------------------------------------------ finding accounts


@pytest.mark.both_databases
def test_an_ambiguous_name_gives_a_pick_list_of_buttons(slack_app: SlackApp) -> None:
    ids = seed(slack_app)

    _, reply = slack_app.command("acme")

    assert reply["response_type"] == "ephemeral"
    assert "matches 2 accounts" in reply["text"]
    picks = buttons(reply["blocks"])
    # One action_id per button: Slack refuses a block whose buttons share one.
    assert sorted(b["action_id"] for b in picks) == sorted(
        f"account_show:{ids[key]}" for key in ("acme", "labs")
    )
    # In the block the account_show button looks for, to replace the list with the card.
    assert [b["block_id"] for b in reply["blocks"] if b["type"] == "actions"] == ["account_pick"]
    assert {(b["text"]["text"], b["value"]) for b in picks} == {
        ("Acme Corp", str(ids["acme"])),
        ("Acme Labs", str(ids["labs"])),
    }


def test_an_ambiguous_name_stays_private_even_with_share(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("acme share")
    assert reply["response_type"] == "ephemeral"
    assert buttons(reply["blocks"])


@pytest.mark.both_databases
def test_a_typo_gives_did_you_mean(slack_app: SlackApp) -> None:
    with slack_app.db.transaction() as session:
        northwind = f.account(session, "Northwind Traders")
        f.account(session, "Granite Supply")

    _, reply = slack_app.command("nordwind")

    assert "Did you mean" in reply["text"]
    assert [(b["action_id"], b["value"]) for b in buttons(reply["blocks"])] == [
        (f"account_show:{northwind.id}", str(northwind.id))
    ]


def test_a_small_typo_still_finds_the_account(slack_app: SlackApp) -> None:
    with slack_app.db.transaction() as session:
        f.account(session, "Granite Supply")
    _, reply = slack_app.command("granit suply")
    assert reply["blocks"][0]["text"]["text"] == "Granite Supply"


@pytest.mark.both_databases
def test_an_unknown_name_explains_and_shows_usage(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("qqqqxxxx")
    text = all_text(reply)
    assert "No account matches “qqqqxxxx”" in text
    assert "/account list" in text and "/account help" in text
    assert buttons(reply["blocks"]) == []


def test_a_mistyped_sub_command_suggests_the_right_one(slack_app: SlackApp) -> None:
    seed(slack_app)
    status, reply = slack_app.command("lst overdue")
    assert status == 200
    text = all_text(reply)
    assert "`/account list overdue`" in text
    assert "/account help" in text
    no_traceback(reply)


def test_an_account_whose_name_looks_like_a_typo_of_a_sub_command_still_opens(
    slack_app: SlackApp,
) -> None:
    with slack_app.db.transaction() as session:
        f.account(session, "Lost Ltd")
    _, reply = slack_app.command("lost")
    assert reply["blocks"][0]["text"]["text"] == "Lost Ltd"


# ------------------------------------------------------------------ the book, lists, report, help


@pytest.mark.both_databases
def test_no_argument_links_the_rep_by_email_and_shows_their_book(slack_app: SlackApp) -> None:
    ids = seed(slack_app, link=False)

    _, reply = slack_app.command("")

    assert [call["user"] for call in slack_app.double.calls_to("users.info")] == [ANA]
    with slack_app.db.session() as session:
        rep = session.get(Rep, ids["ana"])
        assert rep.slack_user_id == ANA
        assert rep.tz == "Europe/Berlin"  # from users.info
    assert reply["response_type"] == "ephemeral"
    assert reply["blocks"][0]["text"]["text"] == "Your book: 2 accounts"
    text = all_text(reply)
    assert "*Dormant (6m+)*\n1" in text and "*Single-threaded*\n2" in text
    # Known from now on: no second users.info.
    slack_app.command("")
    assert len(slack_app.double.calls_to("users.info")) == 1


def test_a_user_who_owns_nothing_is_told_how_to_get_a_book(slack_app: SlackApp) -> None:
    seed(slack_app)
    slack_app.double.add_user("UNEW", email="new@seller.example")
    _, reply = slack_app.command("", user_id="UNEW")
    assert "I don't know your accounts yet" in reply["text"]
    assert "/account NAME" in reply["text"]


@pytest.mark.parametrize(
    ("filter_word", "title", "names"),
    [
        ("overdue", "Overdue: 1 account", ["Zeta Tools"]),
        ("dormant", "Dormant: 1 account", ["Acme Corp"]),
        ("at-risk", "At risk: 0 accounts", []),
        ("", "Due: 1 account", ["Zeta Tools"]),
    ],
)
@pytest.mark.both_databases
def test_list_filters_the_reps_book(
    slack_app: SlackApp, filter_word: str, title: str, names: list[str]
) -> None:
    seed(slack_app)
    _, reply = slack_app.command(f"list {filter_word}".strip())
    text = all_text(reply)
    assert title in text
    for name in ("Acme Corp", "Zeta Tools"):
        assert (f"*{name}*" in text) is (name in names)
    assert "Acme Labs" not in text  # Ben's


@pytest.mark.both_databases
def test_list_at_risk_shows_accounts_in_poor_health(slack_app: SlackApp) -> None:
    with slack_app.db.transaction() as session:
        ana = f.rep(session, "ana@seller.example", slack_user_id=ANA)
        sick = f.account(session, "Sick Corp", owner_id=ana.id)
        f.order(session, sick, "2024-01-01", 100)
    _, reply = slack_app.command("list at-risk")
    assert "At risk: 1 account" in all_text(reply) and "*Sick Corp*" in all_text(reply)


def test_list_with_an_unknown_filter_names_the_valid_ones(slack_app: SlackApp) -> None:
    seed(slack_app)
    status, reply = slack_app.command("list bogus")
    assert status == 200
    assert "“bogus” is not a list I know" in reply["text"]
    assert "overdue" in reply["text"] and "at-risk" in reply["text"]


@pytest.mark.both_databases
def test_report_answers_the_recency_questions(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("report share")
    assert reply["response_type"] == "in_channel"
    text = all_text(reply)
    assert "Recency report · 15 Jun 2026" in text
    assert "*Accounts*\n3" in text
    assert "*Not bought in 12 months*\n2 (67%)" in text  # never bought counts too
    assert "*Not bought in 18 months*\n1 (33%)" in text
    assert "*Never bought* (in “not bought” too)\n1 (33%)" in text


@pytest.mark.both_databases
def test_report_shows_admins_the_accounts_nobody_owns(slack_app: SlackApp) -> None:
    seed(slack_app)
    with slack_app.db.transaction() as session:
        f.account(session, "Orphan <Big> Co", external_id="IMP-1", annual_value=90_000)
        f.account(session, "Orphan Small", external_id="IMP-2", annual_value=10)

    _, admin_reply = slack_app.command("report", user_id=ADMIN_ID)
    _, rep_reply = slack_app.command("report", user_id=ANA)

    text = all_text(admin_reply)
    assert "*No owner* · 2 accounts, so nobody is reminded of them" in text
    # The most valuable first, escaped for Slack.
    assert "Orphan &lt;Big&gt; Co (IMP-1), Orphan Small (IMP-2)" in text
    assert "`/account owner NAME rep@yourcompany.com`" in text
    assert "No owner" not in all_text(rep_reply)
    assert "Recency report" in all_text(rep_reply)


def test_help_lists_every_sub_command(slack_app: SlackApp) -> None:
    _, reply = slack_app.command("help")
    text = all_text(reply)
    for usage in ("list", "log NAME", "snooze NAME 2w", "plan NAME", "report", "help"):
        assert f"/account {usage}" in text


# ------------------------------------------------------------------ log and snooze


@pytest.mark.both_databases
def test_log_records_a_touch_by_the_acting_user(slack_app: SlackApp) -> None:
    ids = seed(slack_app)

    _, reply = slack_app.command("log acme corp call talked renewal")

    assert reply["text"] == "📞 Logged a call on *Acme Corp*. The cadence restarts today."
    with slack_app.db.session() as session:
        touch = session.exec(select(Touch).where(Touch.source == "command")).one()
    assert touch.account_id == ids["acme"]
    assert (touch.kind, touch.note, touch.slack_user_id) == ("call", "talked renewal", ANA)
    assert touch.rep_id == ids["ana"]
    assert touch.touched_at == f.NOW


def test_log_by_someone_else_records_them_not_the_owner(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    slack_app.command("log acme corp met lunch with the buyer", user_id=BEN)
    with slack_app.db.session() as session:
        touch = session.exec(select(Touch).where(Touch.source == "command")).one()
    assert (touch.kind, touch.slack_user_id, touch.rep_id) == ("meeting", BEN, ids["ben"])
    assert touch.note == "lunch with the buyer"


def test_log_without_a_kind_asks_instead_of_logging_a_note(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("log zeta tools")
    assert reply["text"] == "What kind of touch was it on *Zeta Tools*?"
    with slack_app.db.session() as session:
        assert session.exec(select(Touch).where(Touch.source == "command")).all() == []


def test_log_without_a_name_asks_which_account(slack_app: SlackApp) -> None:
    _, reply = slack_app.command("log")
    assert "Which account?" in reply["text"]


@pytest.mark.both_databases
def test_snooze_records_the_reason_and_the_user(slack_app: SlackApp) -> None:
    ids = seed(slack_app)

    _, reply = slack_app.command("snooze acme corp 2w buyer on leave")

    assert reply["text"] == "💤 *Acme Corp* snoozed until 29 Jun 2026."
    with slack_app.db.session() as session:
        snooze = session.exec(select(Snooze)).one()
    assert snooze.account_id == ids["acme"]
    assert snooze.until == TODAY + timedelta(weeks=2)
    assert (snooze.reason, snooze.slack_user_id) == ("buyer on leave", ANA)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("snooze acme corp soon", "Say for how long"),
        ("snooze acme corp 0w", "at least one day"),
        ("snooze acme corp 2026-01-01", "must end after today"),
        ("snooze acme corp 2y", "Say for how long"),
    ],
)
def test_a_bad_snooze_length_is_explained(slack_app: SlackApp, text: str, says: str) -> None:
    seed(slack_app)
    status, reply = slack_app.command(text)
    assert status == 200  # acked, then told, never a 404 or timeout
    assert says in reply["text"]
    assert reply["response_type"] == "ephemeral"
    with slack_app.db.session() as session:
        assert session.exec(select(Snooze)).all() == []


# ------------------------------------------------------------------ plan


def test_plan_opens_the_plan_modal_for_the_owner(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    status, _ = slack_app.command("plan acme corp", wait=False)
    assert status == 200
    view = slack_app.wait_for("views.open")[0]["view"]
    assert view["callback_id"] == "plan_modal"
    assert json.loads(view["private_metadata"])["account_id"] == ids["acme"]
    assert {b.get("block_id") for b in view["blocks"]} >= {
        "current_state",
        "target_state",
        "horizon",
        "tactics",
    }
    assert len(view["title"]["text"]) <= 24


def test_plan_of_another_reps_account_is_politely_refused(slack_app: SlackApp) -> None:
    seed(slack_app)

    status, reply = slack_app.command("plan acme labs")

    assert status == 200
    text = shown(reply["text"])
    assert "Only Ben Ode" in text and "or a Rebuy admin can change the plan for Acme Labs" in text
    assert "ADMIN_USER_IDS" in text
    assert "&amp;" not in text and "&lt;" not in text
    assert reply["response_type"] == "ephemeral"
    assert slack_app.double.calls_to("views.open") == []


def test_an_admin_may_plan_any_account(slack_app: SlackApp) -> None:
    seed(slack_app)
    slack_app.command("plan acme labs", user_id=ADMIN_ID, wait=False)
    assert slack_app.wait_for("views.open")[0]["view"]["callback_id"] == "plan_modal"


@pytest.mark.both_databases
def test_plan_prefills_the_current_plan(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    with slack_app.db.transaction() as session:
        f.plan(
            session,
            session.get(Account, ids["acme"]),
            tactic_ids=["ask-for-referral"],
            horizon=date(2026, 10, 1),
        )
    slack_app.command("plan acme corp", wait=False)
    blocks = {b.get("block_id"): b for b in slack_app.wait_for("views.open")[0]["view"]["blocks"]}
    assert blocks["horizon"]["element"]["initial_date"] == "2026-10-01"
    assert blocks["current_state"]["element"]["initial_value"].startswith("One product line")
    assert [o["value"] for o in blocks["tactics"]["element"]["initial_options"]] == [
        "ask-for-referral"
    ]


# ------------------------------------------------------------------ failures are friendly


def test_a_slack_error_inside_a_handler_gives_a_friendly_reply(slack_app: SlackApp) -> None:
    seed(slack_app)
    slack_app.double.fail_next("views.open", error="expired_trigger_id")

    status, reply = slack_app.command("plan acme corp")

    assert status == 200
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("⚠️ Sorry, something went wrong on my side")
    no_traceback(reply)


@pytest.mark.both_databases
def test_a_database_error_inside_a_handler_gives_a_friendly_reply(
    slack_app: SlackApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.retention.account_ops

    def broken(**_kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(bot.retention.account_ops, "recency_report", broken)

    status, reply = slack_app.command("report")

    assert status == 200
    assert reply["text"].startswith("⚠️ Rebuy's database is busy right now")
    assert "database is locked" not in all_text(reply)
    no_traceback(reply)


def test_users_info_failing_still_gets_an_answer(slack_app: SlackApp) -> None:
    seed(slack_app, link=False)
    slack_app.double.fail_next("users.info", error="user_not_found")
    status, reply = slack_app.command("")
    assert status == 200
    assert "I don't know your accounts yet" in reply["text"]
    no_traceback(reply)


def test_a_domain_error_message_is_shown_as_written(
    slack_app: SlackApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.retention.account_ops

    def refuse(**_kwargs):
        raise InvalidInput("The report is switched off for <b>maintenance</b>.")

    monkeypatch.setattr(bot.retention.account_ops, "recency_report", refuse)
    _, reply = slack_app.command("report")
    assert reply["text"] == "The report is switched off for &lt;b&gt;maintenance&lt;/b&gt;."


# ------------------------------------------------------------------ the 3-second rule


def test_commands_are_acked_fast_while_20_slow_events_are_processed(slack_app: SlackApp) -> None:
    seed(slack_app)
    slow = 2.5
    slack_app.double.delay("views.publish", slow)

    # Twenty people open their App Home (one person opening it twenty times is one build).
    for n in range(20):
        assert slack_app.event(app_home_opened_event(f"UHOME{n}"), event_id=f"EvSlow{n}") == 200
    acks = []
    for _ in range(3):
        sent = time.monotonic()
        status, reply = slack_app.command("acme corp")
        acks.append(time.monotonic() - sent)
        assert status == 200 and reply["blocks"][0]["text"]["text"] == "Acme Corp"

    # Every command was acked inside Slack's 3 seconds and answered while the slow work
    # was still in flight (nothing published yet)...
    assert len(slack_app.double.calls_to("views.publish")) == 0
    assert max(acks) < 3.0
    # ...and the slow work goes on (two rounds of Home builds; the rest are cancelled
    # when the test's app shuts down).
    from handlers.home import HOME_BUILDS_AT_ONCE

    slack_app.wait_for("views.publish", 2 * HOME_BUILDS_AT_ONCE, timeout=2 * slow + 10)


# ------------------------------------------------------------------ manifest <-> handlers


def test_manifest_and_handlers_agree(slack_app: SlackApp) -> None:
    """Every command and event the manifest subscribes to is answered (a 404 makes Slack
    retry and, at scale, disable the subscription), and every handler is subscribed."""
    import handlers.commands
    from bot.messages.ids import Action, View
    from handlers.events import EVENTS

    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert commands == {handlers.commands.COMMAND}
    assert events == set(EVENTS)
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True

    samples = {
        "app_home_opened": app_home_opened_event(ANA),
        "reaction_added": reaction_event("phone"),
        "reaction_removed": reaction_event("phone", removed=True),
    }
    for name in sorted(events):
        assert slack_app.event(samples[name]) == 200, name
    for command in commands:
        body = slash_command_body(command, "help", response_url=slack_app.new_response_url())
        assert slack_app.post(body, FORM)[0] == 200, command
    # Interactivity: every action_id and callback_id the builders use has a listener.
    for action_id in Action:
        body = block_actions_body(action_id, "999999", response_url=slack_app.new_response_url())
        assert slack_app.post(body, FORM)[0] == 200, action_id
    for callback_id in View:
        status, ack = slack_app.submit(callback_id, {}, {"account_id": 999999})
        assert status == 200, callback_id
        assert ack["response_action"] == "errors"  # that account does not exist
    unknown = block_actions_body("nobody_listens", "1", response_url=slack_app.new_response_url())
    assert slack_app.post(unknown, FORM)[0] == 404  # so the 200s above mean something


# ------------------------------------------------------------------ read-only answers


def write_commits_within(slack_app: SlackApp, seconds: float = 3.0) -> bool:
    """Try a short write from another thread: True when it commits within `seconds`.
    On SQLite it cannot while another connection holds the write lock (BEGIN IMMEDIATE)."""
    done = threading.Event()

    def write() -> None:
        with slack_app.db.transaction() as session:
            f.rep(session, f"probe-{uuid.uuid4().hex[:8]}@seller.example")
        done.set()

    threading.Thread(target=write, daemon=True).start()
    return done.wait(seconds)


@pytest.mark.both_databases
def test_the_report_does_not_block_writers_while_it_runs(
    slack_app: SlackApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.retention.account_ops

    seed(slack_app)
    real = bot.retention.account_ops.recency_report
    writes: list[bool] = []

    def slow_report(**kwargs):
        writes.append(write_commits_within(slack_app))  # a modal submit, say
        return real(**kwargs)

    monkeypatch.setattr(bot.retention.account_ops, "recency_report", slow_report)
    _, reply = slack_app.command("report")
    assert "Recency report" in all_text(reply)
    assert writes == [True]


@pytest.mark.both_databases
def test_the_card_reads_without_the_write_lock_and_records_its_tactics(
    slack_app: SlackApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.retention.account_ops

    ids = seed(slack_app)
    real = bot.retention.account_ops.account_status
    calls: list[tuple[bool, object]] = []

    def watched(**kwargs):
        calls.append((write_commits_within(slack_app), kwargs.get("record_tactics")))
        return real(**kwargs)

    monkeypatch.setattr(bot.retention.account_ops, "account_status", watched)
    _, reply = slack_app.command("acme corp")

    assert calls == [(True, None)]
    shown = [t for t in all_text(reply).split("\n") if t.startswith(("*1. ", "*2. ", "*3. "))]
    assert shown  # the card suggests tactics...
    with slack_app.db.session() as session:
        exposures = session.exec(select(TacticExposure)).all()
    # ...and remembers them, so the next card rotates.
    assert {(e.account_id, e.surface) for e in exposures} == {(ids["acme"], "card")}
    assert len(exposures) == len(shown)


@pytest.mark.both_databases
@pytest.mark.parametrize("text", ["", "list overdue"])
def test_the_book_and_lists_do_not_block_writers(
    slack_app: SlackApp, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    import bot.retention.book

    seed(slack_app)
    real = bot.retention.book.book_entries
    writes: list[bool] = []

    def watched(**kwargs):
        writes.append(write_commits_within(slack_app))
        return real(**kwargs)

    monkeypatch.setattr(bot.retention.book, "book_entries", watched)
    status, _ = slack_app.command(text)
    assert status == 200 and writes == [True]


# ------------------------------------------------------------------ pick lists that finish the job


def pick_buttons(reply: dict) -> dict[str, dict]:
    """The pick list's buttons by label, their values decoded."""
    blocks = [b for b in reply["blocks"] if b.get("block_id") == "account_pick"]
    assert len(blocks) == 1
    found = {}
    for element in blocks[0]["elements"]:
        value = json.loads(element["value"])
        assert element["action_id"] == f"account_pick:{value['id']}"
        assert len(element["value"]) < 2000
        found[element["text"]["text"]] = value
    return found


def click_pick(slack_app: SlackApp, value: dict | str, **fields) -> dict:
    """Click a pick-list button; the one reply on its response_url."""
    raw = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    # The button's action_id names the account (a tampered value may not parse).
    try:
        picked = json.loads(raw).get("id")
    except (ValueError, AttributeError):
        picked = None
    action_id = f"account_pick:{picked}" if isinstance(picked, int) else "account_pick"
    status, response_url = slack_app.action(action_id, raw, block_id="account_pick", **fields)
    assert status == 200
    return slack_app.wait_response(response_url)[0]


@pytest.mark.both_databases
def test_an_ambiguous_log_keeps_the_touch_and_logs_it_on_the_account_chosen(
    slack_app: SlackApp,
) -> None:
    ids = seed(slack_app)

    _, reply = slack_app.command("log acme call great chat")

    assert reply["response_type"] == "ephemeral"
    assert "matches 2 accounts" in reply["text"]
    assert "I'll log a call on it" in all_text(reply)
    picks = pick_buttons(reply)
    assert picks["Acme Corp"] == {
        "id": ids["acme"],
        "do": "log",
        "kind": "call",
        "note": "great chat",
    }
    with slack_app.db.session() as session:
        assert session.exec(select(Touch).where(Touch.source == "command")).all() == []

    confirmation = click_pick(slack_app, picks["Acme Corp"])

    assert confirmation["replace_original"] is True  # the pick list becomes the answer
    assert confirmation["response_type"] == "ephemeral"
    assert confirmation["text"] == "📞 Logged a call on *Acme Corp*. The cadence restarts today."
    with slack_app.db.session() as session:
        touch = session.exec(select(Touch).where(Touch.source == "command")).one()
    assert (touch.account_id, touch.kind, touch.note) == (ids["acme"], "call", "great chat")
    assert (touch.slack_user_id, touch.rep_id) == (ANA, ids["ana"])


def test_a_mistyped_log_offers_suggestions_that_log_too(slack_app: SlackApp) -> None:
    with slack_app.db.transaction() as session:
        northwind = f.account(session, "Northwind Traders")
        f.account(session, "Granite Supply")

    _, reply = slack_app.command("log nordwind email sent the quote")

    assert "Did you mean" in reply["text"]
    picks = pick_buttons(reply)
    assert picks == {
        "Northwind Traders": {
            "id": northwind.id,
            "do": "log",
            "kind": "email",
            "note": "sent the quote",
        }
    }
    confirmation = click_pick(slack_app, picks["Northwind Traders"])
    assert confirmation["text"].startswith("✉️ Logged an email on *Northwind Traders*")
    with slack_app.db.session() as session:
        assert session.exec(select(Touch.note)).all() == ["sent the quote"]


@pytest.mark.both_databases
def test_an_ambiguous_snooze_snoozes_the_account_chosen(slack_app: SlackApp) -> None:
    ids = seed(slack_app)

    _, reply = slack_app.command("snooze acme 2w buyer on leave")

    picks = pick_buttons(reply)
    assert picks["Acme Labs"] == {
        "id": ids["labs"],
        "do": "snooze",
        "until": "2026-06-29",
        "reason": "buyer on leave",
    }
    assert "I'll snooze it until 29 Jun 2026" in all_text(reply)
    confirmation = click_pick(slack_app, picks["Acme Labs"], user_id=BEN)

    assert confirmation["replace_original"] is True
    assert confirmation["text"] == "💤 *Acme Labs* snoozed until 29 Jun 2026."
    with slack_app.db.session() as session:
        snooze = session.exec(select(Snooze)).one()
    assert (snooze.account_id, snooze.until) == (ids["labs"], date(2026, 6, 29))
    assert (snooze.reason, snooze.slack_user_id) == ("buyer on leave", BEN)


def test_an_ambiguous_plan_opens_the_modal_with_the_clicks_trigger(slack_app: SlackApp) -> None:
    ids = seed(slack_app)

    _, reply = slack_app.command("plan acme")
    picks = pick_buttons(reply)
    assert picks["Acme Corp"] == {"id": ids["acme"], "do": "plan"}
    assert slack_app.double.calls_to("views.open") == []

    confirmation = click_pick(slack_app, picks["Acme Corp"], trigger_id="trig-pick-1")

    opened = slack_app.wait_for("views.open")[0]
    assert opened["trigger_id"] == "trig-pick-1"
    assert opened["view"]["callback_id"] == "plan_modal"
    assert json.loads(opened["view"]["private_metadata"])["account_id"] == ids["acme"]
    assert confirmation["replace_original"] is True
    assert "Acme Corp" in confirmation["text"]


def test_a_picked_plan_is_still_refused_for_someone_elses_account(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    _, reply = slack_app.command("plan acme")
    reply = click_pick(slack_app, pick_buttons(reply)["Acme Labs"])
    assert reply["replace_original"] is False  # the pick list stays for another try
    assert "Only Ben Ode" in reply["text"]
    assert slack_app.double.calls_to("views.open") == []
    assert ids  # seeded


def test_a_long_note_still_fits_the_pick_button(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    note = "“Quoted” & <b>bold</b> 🎉 " * 80  # about 2,000 characters, some escaped in JSON

    _, reply = slack_app.command(f"log acme call {note}")

    assert reply["response_type"] == "ephemeral"
    for button in buttons(reply["blocks"]):
        assert len(button["value"]) <= 2000
        assert len(button["value"].encode("utf-16-le")) // 2 <= 2000
    value = pick_buttons(reply)["Acme Corp"]
    assert value["note"].endswith("…") and note.strip().startswith(value["note"][:-1].strip())
    confirmation = click_pick(slack_app, value)
    assert "shortened" in confirmation["text"]
    with slack_app.db.session() as session:
        touch = session.exec(select(Touch).where(Touch.source == "command")).one()
    assert touch.account_id == ids["acme"] and touch.note == value["note"]


@pytest.mark.parametrize("value", ["999999", "not json", '{"id": "x"}'])
def test_a_broken_pick_button_is_explained(slack_app: SlackApp, value: str) -> None:
    seed(slack_app)
    reply = click_pick(slack_app, value)
    assert "no longer works" in reply["text"]
    assert reply["response_type"] == "ephemeral"
    no_traceback(reply)


@pytest.mark.both_databases
def test_a_pick_for_a_deleted_account_is_explained(slack_app: SlackApp) -> None:
    reply = click_pick(slack_app, {"id": 424242, "do": "log", "kind": "call"})
    assert "no longer exists" in reply["text"]
    with slack_app.db.session() as session:
        assert session.exec(select(Touch)).all() == []


@pytest.mark.both_databases
def test_too_many_matches_say_how_many_and_how_to_narrow_down(slack_app: SlackApp) -> None:
    with slack_app.db.transaction() as session:
        for n in range(1, 1201):
            f.account(session, f"Initech Branch {n:04d}")

    _, reply = slack_app.command("initech")

    assert reply["text"] == (
        "“initech” matches 1,200 accounts; here are the first 8. "
        "Type more of the name or the CRM id to narrow it down."
    )
    assert len(buttons(reply["blocks"])) == 8


# ------------------------------------------------------------------ sub-commands it does not know


@pytest.fixture
def acme_only(slack_app: SlackApp) -> dict[str, int]:
    with slack_app.db.transaction() as session:
        ana = f.rep(session, "ana@seller.example", slack_user_id=ANA)
        acme = f.account(session, "Acme Corp", owner_id=ana.id)
        f.account(session, "Zeta Tools", owner_id=ana.id)
    return {"acme": acme.id}


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("remind acme tomorrow", "remind"),
        ("frobnicate acme", "frobnicate"),
        ("assign acme corp 14", "assign"),
        ("delete acme", "delete"),
    ],
)
def test_an_unknown_sub_command_gets_usage_not_a_card(
    slack_app: SlackApp, acme_only: dict, text: str, word: str
) -> None:
    _, reply = slack_app.command(text)
    text_shown = all_text(reply)
    assert reply["text"] == f"I don't know `{word}`. Here's what I can do:"
    assert "/account log NAME" in text_shown  # the usage
    assert reply["blocks"][0]["type"] != "header"  # not Acme's card
    assert buttons(reply["blocks"]) == []


def test_an_unknown_sub_command_gets_usage_when_the_name_is_ambiguous_too(
    slack_app: SlackApp,
) -> None:
    seed(slack_app)  # Acme Corp and Acme Labs
    _, reply = slack_app.command("assign acme 14")
    assert reply["text"] == "I don't know `assign`. Here's what I can do:"
    assert buttons(reply["blocks"]) == []


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("lgo acme call", "/account log acme call"),
        ("snoze acme 2w", "/account snooze acme 2w"),
        ("lst overdue", "/account list overdue"),
        ("pln acme", "/account plan acme"),
        ("reprot share", "/account report share"),
    ],
)
def test_a_mistyped_sub_command_with_a_name_suggests_the_command(
    slack_app: SlackApp, acme_only: dict, text: str, meant: str
) -> None:
    _, reply = slack_app.command(text)
    assert reply["response_type"] == "ephemeral"
    assert f"Did you mean `{meant}`?" in reply["text"]
    assert "/account help" in all_text(reply)  # with the usage
    assert buttons(reply["blocks"]) == []
    with slack_app.db.session() as session:
        assert session.exec(select(Touch).where(Touch.source == "command")).all() == []
        assert session.exec(select(Snooze)).all() == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("acme crop", "Acme Corp"),  # a typo in the name
        ("acme", "Acme Corp"),
        ("nordwind traders", "Northwind Traders"),  # a typo in the first word of the name
        ("lost", "Lost Ltd"),  # a name that looks like a sub-command typo
        ("lost ltx", "Lost Ltd"),
    ],
)
def test_names_with_typos_still_show_the_card(
    slack_app: SlackApp, acme_only: dict, text: str, name: str
) -> None:
    with slack_app.db.transaction() as session:
        f.account(session, "Northwind Traders")
        f.account(session, "Lost Ltd")
    _, reply = slack_app.command(text)
    assert reply["blocks"][0]["text"]["text"] == name


# ------------------------------------------------------------ share keeps private answers private


@pytest.mark.parametrize(
    "text",
    [
        "help share",
        "share",  # the book, for someone who is not a rep
        "lgo acme share",
        "cadence acme 14 share",
        "qqqqxxxx share",
        "acme share",
        "log acme call share",
        "snooze acme corp soon share",
        "list bogus share",
        "log share",
    ],
)
def test_share_never_posts_private_answers_in_the_channel(slack_app: SlackApp, text: str) -> None:
    seed(slack_app)
    slack_app.double.add_user("UNEW", email="new@seller.example")
    status, reply = slack_app.command(text, user_id="UNEW")
    assert status == 200
    assert reply["response_type"] == "ephemeral", reply["text"]


def test_share_still_posts_a_log_confirmation_in_the_channel(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("log acme corp visit share")
    assert reply["response_type"] == "in_channel"
    assert reply["text"].startswith("🚗 Logged a visit on *Acme Corp*")


# ------------------------------------------------------------------ wording


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("email", "✉️ Logged an email on *Acme Corp*."),
        ("meeting", "🤝 Logged a meeting on *Acme Corp*."),
        ("visit", "🚗 Logged a visit on *Acme Corp*."),
    ],
)
def test_log_confirmations_read_naturally(slack_app: SlackApp, kind: str, says: str) -> None:
    seed(slack_app)
    _, reply = slack_app.command(f"log acme corp {kind}")
    assert reply["text"].startswith(says)


@pytest.mark.parametrize(
    ("text", "title", "says"),
    [
        ("list at risk", "At risk: 0 accounts", "Nothing is at risk right now (health under 50)."),
        ("list AT RISK", "At risk: 0 accounts", "Nothing is at risk right now"),
        ("list declining", "Declining: 0 accounts", "No account is buying far less than before."),
    ],
)
def test_empty_lists_say_so_in_words(slack_app: SlackApp, text: str, title: str, says: str) -> None:
    seed(slack_app)
    _, reply = slack_app.command(text)
    shown = all_text(reply)
    assert title in shown and says in shown
    assert "No accounts are" not in shown


def test_list_single_threaded_with_a_space(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("list single threaded")
    shown = all_text(reply)
    assert "Single threaded: 2 accounts" in shown
    assert "*Acme Corp*" in shown and "*Zeta Tools*" in shown


def test_list_with_unknown_words_quotes_them(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("list at sea")
    assert "“at sea” is not a list I know" in reply["text"]


@pytest.mark.parametrize(
    ("length", "until"),
    [
        ("3 weeks", date(2026, 7, 6)),
        ("10 days", date(2026, 6, 25)),
        ("1 week", date(2026, 6, 22)),
        ("2 months", date(2026, 8, 15)),
        ("10days", date(2026, 6, 25)),
    ],
)
def test_snooze_lengths_in_words(slack_app: SlackApp, length: str, until: date) -> None:
    ids = seed(slack_app)
    _, reply = slack_app.command(f"snooze acme corp {length} back in office then")
    assert reply["text"].startswith("💤 *Acme Corp* snoozed until")
    with slack_app.db.session() as session:
        snooze = session.exec(select(Snooze)).one()
    assert (snooze.account_id, snooze.until) == (ids["acme"], until)
    assert snooze.reason == "back in office then"


@pytest.mark.both_databases
def test_book_numbers_have_thousands_separators(slack_app: SlackApp) -> None:
    with slack_app.db.transaction() as session:
        ana = f.rep(session, "ana@seller.example", name="Ana", slack_user_id=ANA)
        for n in range(1100):
            f.account(session, f"Bulk {n:04d}", owner_id=ana.id)  # no orders, no contacts
    _, book = slack_app.command("")
    assert book["blocks"][0]["text"]["text"] == "Your book: 1,100 accounts"
    assert "*Dormant (6m+)*\n1,100" in all_text(book)
    assert "*Single-threaded*\n1,100" in all_text(book)
    assert book["text"] == "Ana: 1,100 accounts, 0 overdue"
    _, listed = slack_app.command("list all")
    assert "All: 1,100 accounts" in all_text(listed)
    assert "…and 1,085 more" in all_text(listed)


# ------------------------------------------------------------------ the rep's own date


def auckland_seed(slack_app: SlackApp) -> dict[str, int]:
    """Ana works in Auckland, where it is already 16 June (02:00) while UTC is at
    15 June 14:00. Kiwi Co's next touch is due on 16 June."""
    slack_app.double.add_user(ANA, email="ana@seller.example", tz="Pacific/Auckland")
    with slack_app.db.transaction() as session:
        ana = f.rep(session, "ana@seller.example", slack_user_id=ANA, tz="Pacific/Auckland")
        kiwi = f.account(session, "Kiwi Co", owner_id=ana.id)
        f.order(session, kiwi, "2026-06-01", 500)
        f.contact(session, kiwi, "One")
        f.contact(session, kiwi, "Two")
        f.touch(session, kiwi, "2026-05-17", slack_user_id=ANA)  # 30-day cadence -> 16 Jun
    return {"kiwi": kiwi.id, "ana": ana.id}


def test_the_book_and_lists_use_the_reps_own_date(slack_app: SlackApp) -> None:
    auckland_seed(slack_app)

    _, book = slack_app.command("")
    _, due = slack_app.command("list due")

    assert "*Due today*\n1" in all_text(book)
    assert "*Kiwi Co* · due today" in all_text(book)
    assert "Due: 1 account" in all_text(due) and "*Kiwi Co*" in all_text(due)


def test_the_card_says_today_in_the_readers_zone(slack_app: SlackApp) -> None:
    auckland_seed(slack_app)
    _, card = slack_app.command("kiwi co")
    assert "*Next touch*\n*Today* (16 Jun 2026)" in all_text(card)


def test_snooze_counts_from_the_users_own_today(slack_app: SlackApp) -> None:
    auckland_seed(slack_app)
    _, reply = slack_app.command("snooze kiwi co 1w")
    assert reply["text"] == "💤 *Kiwi Co* snoozed until 23 Jun 2026."  # 16 Jun + 7 days


# ------------------------------------------------------------------ cadence and owner


@pytest.mark.both_databases
def test_the_owner_sets_an_accounts_cadence_and_can_reset_it(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    _, reply = slack_app.command("cadence acme corp 21")
    assert "every 21 days" in reply["text"]
    with slack_app.db.session() as session:
        assert session.get(Account, ids["acme"]).cadence_days == 21
    _, reply = slack_app.command("cadence acme corp default")
    assert "every 30 days" in reply["text"]
    with slack_app.db.session() as session:
        assert session.get(Account, ids["acme"]).cadence_days is None


@pytest.mark.both_databases
def test_another_reps_cadence_and_owner_need_an_admin(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    _, reply = slack_app.command("cadence acme labs 7")  # Ana; Acme Labs is Ben's
    assert reply["response_type"] == "ephemeral"
    assert "Ben Ode" in reply["text"] and "admin" in reply["text"]
    _, reply = slack_app.command("owner acme labs ana@seller.example")
    assert "admin" in reply["text"]
    with slack_app.db.session() as session:
        labs = session.get(Account, ids["labs"])
        assert (labs.cadence_days, labs.owner_id) == (None, ids["ben"])

    _, reply = slack_app.command(
        "owner acme labs <mailto:ana@seller.example|ana@seller.example>", user_id=ADMIN_ID
    )
    assert "now belongs to <@U123>" in reply["text"]
    with slack_app.db.session() as session:
        assert session.get(Account, ids["labs"]).owner_id == ids["ana"]


def test_bad_cadence_and_owner_input_is_explained(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("cadence acme corp often")
    assert "/account cadence acme 21" in reply["text"]
    _, reply = slack_app.command("cadence acme corp 0")
    assert "1 to 730 days" in reply["text"]
    _, reply = slack_app.command("cadence acme corp ²")  # a digit to Python, not a number
    assert "/account cadence acme 21" in reply["text"]
    _, reply = slack_app.command("owner acme corp nobody@nowhere.example")
    assert "No rep has the e-mail nobody@nowhere.example" in reply["text"]
    with slack_app.db.transaction() as session:
        gone = f.rep(session, email="gone@seller.example", active=False)
    _, reply = slack_app.command("owner acme corp gone@seller.example")
    assert "gone@seller.example is no longer in Slack" in reply["text"]
    with slack_app.db.session() as session:
        assert gone.id not in {a.owner_id for a in session.exec(select(Account))}


# ------------------------------------------------------------------ tactics all the rep's day


def _card_tactics(slack_app: SlackApp, at) -> list[str]:
    slack_app.runtime.clock = lambda: at
    _, card = slack_app.command("acme corp")
    return [t for t in all_text(card).split("\n") if t.startswith(("*1. ", "*2. ", "*3. "))]


def test_the_cards_tactics_stay_the_same_all_of_a_los_angeles_reps_day(
    slack_app: SlackApp,
) -> None:
    """UTC midnight is 17:00 in Los Angeles: the advice must not change mid-afternoon,
    only once the rep's own day is over."""
    from datetime import UTC, datetime

    slack_app.double.add_user(ANA, email="ana@seller.example", tz="America/Los_Angeles")
    with slack_app.db.transaction() as session:
        ana = f.rep(session, "ana@seller.example", slack_user_id=ANA, tz="America/Los_Angeles")
        acme = f.account(session, "Acme Corp", owner_id=ana.id, annual_value=50_000)
        f.order(session, acme, "2025-03-01", 1200)
        f.order(session, acme, "2025-05-01", 800)
        f.contact(session, acme, "Carla Buyer")
        f.touch(session, acme, "2026-04-10", slack_user_id=ANA, source="import")

    afternoon = _card_tactics(slack_app, datetime(2026, 6, 15, 23, 30, tzinfo=UTC))  # 16:30
    evening = _card_tactics(slack_app, datetime(2026, 6, 16, 0, 30, tzinfo=UTC))  # 17:30
    next_day = _card_tactics(slack_app, datetime(2026, 6, 16, 7, 30, tzinfo=UTC))  # 00:30
    assert afternoon and evening == afternoon
    assert next_day != afternoon  # a new day in Los Angeles: the advice rotates
