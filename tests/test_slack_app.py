"""`/account` end to end: signed slash commands over HTTP into the real app, answers
read back from the Slack double's response_url, effects read from the database."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from sqlmodel import select

from bot.retention.errors import InvalidInput
from models import Account, Rep, Snooze, Touch
from tests import factories as f
from tests import slack_app_fixtures as app_fixtures
from tests.slack_app_fixtures import (
    ADMIN_ID,
    SlackApp,
    all_text,
    buttons,
    mrkdwn_texts,
)
from tests.slack_signing import (
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
double = app_fixtures.double
slack_app = app_fixtures.slack_app

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


def test_an_ambiguous_name_gives_a_pick_list_of_buttons(slack_app: SlackApp) -> None:
    ids = seed(slack_app)

    _, reply = slack_app.command("acme")

    assert reply["response_type"] == "ephemeral"
    assert "matches 2 accounts" in reply["text"]
    picks = buttons(reply["blocks"])
    assert {b["action_id"] for b in picks} == {"account_show"}
    assert {(b["text"]["text"], b["value"]) for b in picks} == {
        ("Acme Corp", str(ids["acme"])),
        ("Acme Labs", str(ids["labs"])),
    }


def test_an_ambiguous_name_stays_private_even_with_share(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("acme share")
    assert reply["response_type"] == "ephemeral"
    assert buttons(reply["blocks"])


def test_a_typo_gives_did_you_mean(slack_app: SlackApp) -> None:
    with slack_app.db.transaction() as session:
        northwind = f.account(session, "Northwind Traders")
        f.account(session, "Granite Supply")

    _, reply = slack_app.command("nordwind")

    assert "Did you mean" in reply["text"]
    assert [(b["action_id"], b["value"]) for b in buttons(reply["blocks"])] == [
        ("account_show", str(northwind.id))
    ]


def test_a_small_typo_still_finds_the_account(slack_app: SlackApp) -> None:
    with slack_app.db.transaction() as session:
        f.account(session, "Granite Supply")
    _, reply = slack_app.command("granit suply")
    assert reply["blocks"][0]["text"]["text"] == "Granite Supply"


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


def test_report_answers_the_recency_questions(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("report share")
    assert reply["response_type"] == "in_channel"
    text = all_text(reply)
    assert "Recency report · 15 Jun 2026" in text
    assert "*Accounts*\n3" in text
    assert "*Not bought in 12 months*\n2 (67%)" in text  # never bought counts too
    assert "*Not bought in 18 months*\n1 (33%)" in text
    assert "*Never bought*\n1 (33%)" in text


def test_help_lists_every_sub_command(slack_app: SlackApp) -> None:
    _, reply = slack_app.command("help")
    text = all_text(reply)
    for usage in ("list", "log NAME", "snooze NAME 2w", "plan NAME", "report", "help"):
        assert f"/account {usage}" in text


# ------------------------------------------------------------------ log and snooze


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


def test_log_without_a_kind_logs_a_note(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("log zeta tools")
    assert "Logged a note on *Zeta Tools*" in reply["text"]


def test_log_without_a_name_asks_which_account(slack_app: SlackApp) -> None:
    _, reply = slack_app.command("log")
    assert "Which account?" in reply["text"]


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
    text = reply["text"]
    assert "Only Ben Ode" in text and "or a Rebuy admin can change the plan for Acme Labs" in text
    assert "ADMIN_USER_IDS" in text
    assert "&amp;" not in text and "&lt;" not in text
    assert reply["response_type"] == "ephemeral"
    assert slack_app.double.calls_to("views.open") == []


def test_an_admin_may_plan_any_account(slack_app: SlackApp) -> None:
    seed(slack_app)
    slack_app.command("plan acme labs", user_id=ADMIN_ID, wait=False)
    assert slack_app.wait_for("views.open")[0]["view"]["callback_id"] == "plan_modal"


def test_plan_prefills_the_current_plan(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    with slack_app.db.transaction() as session:
        f.plan(
            session,
            session.get(Account, ids["acme"]),
            tactic_ids="ask-for-referral",
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


def test_a_database_error_inside_a_handler_gives_a_friendly_reply(
    slack_app: SlackApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    import handlers.commands

    def broken(**_kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(handlers.commands, "recency_report", broken)

    status, reply = slack_app.command("report")

    assert status == 200
    assert reply["text"].startswith("⚠️ Sorry, something went wrong on my side")
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
    import handlers.commands

    def refuse(**_kwargs):
        raise InvalidInput("The report is switched off for <b>maintenance</b>.")

    monkeypatch.setattr(handlers.commands, "recency_report", refuse)
    _, reply = slack_app.command("report")
    assert reply["text"] == "The report is switched off for &lt;b&gt;maintenance&lt;/b&gt;."


# ------------------------------------------------------------------ the 3-second rule


def test_commands_are_acked_fast_while_20_slow_events_are_processed(slack_app: SlackApp) -> None:
    seed(slack_app)
    slow = 2.5
    slack_app.double.delay("views.publish", slow)

    for n in range(20):
        assert slack_app.event(app_home_opened_event(ANA), event_id=f"EvSlow{n}") == 200
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
    # ...and the slow work still completes.
    slack_app.wait_for("views.publish", 20, timeout=10)


# ------------------------------------------------------------------ manifest <-> handlers

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"


def test_manifest_and_handlers_agree(slack_app: SlackApp) -> None:
    """Every command and event the manifest subscribes to is answered (a 404 makes Slack
    retry and, at scale, disable the subscription), and every handler is subscribed."""
    import handlers.blocks
    import handlers.commands
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
    for action_id in handlers.blocks.ACTION_IDS:
        body = block_actions_body(action_id, "999999", response_url=slack_app.new_response_url())
        assert slack_app.post(body, FORM)[0] == 200, action_id
    for callback_id in handlers.blocks.VIEW_IDS:
        status, ack = slack_app.submit(callback_id, {}, {"account_id": 999999})
        assert status == 200, callback_id
        assert ack["response_action"] == "errors"  # that account does not exist
    unknown = block_actions_body("nobody_listens", "1", response_url=slack_app.new_response_url())
    assert slack_app.post(unknown, FORM)[0] == 404  # so the 200s above mean something
