"""`/account` listeners called directly: what is replied, what is stored."""

from __future__ import annotations

from sqlmodel import select

from bot.messages.ids import View
from handlers import commands
from handlers.work import TICKET, accept
from models import Account, Touch
from tests.handlers.conftest import ADMIN, ANA, FakeAck, command, texts
from tests.support import factories as f


def seed(runtime) -> dict[str, int]:
    with runtime.db.transaction() as session:
        ana = f.rep(session, "ana@seller.example", name="Ana Lima", slack_user_id=ANA)
        acme = f.account(session, "Acme Corp", owner_id=ana.id)
        f.account(session, "Beta Labs", owner_id=ana.id)
        return {"acme": acme.id}


def test_the_ack_accepts_the_command_for_the_work_after_it(work) -> None:
    ack, context, body = FakeAck(), {}, command("acme")
    accept(ack, body, context, work)
    assert ack.calls == [{}]
    assert context[TICKET]["data"] == {}  # the work will run


def test_a_name_gets_the_card_privately(runtime, job, replies) -> None:
    seed(runtime)
    commands.answer_command(job(command("acme corp")))
    assert replies.last["response_type"] == "ephemeral"
    assert replies.last["blocks"][0]["text"]["text"] == "Acme Corp"


def test_share_posts_the_card_in_the_channel(runtime, job, replies) -> None:
    seed(runtime)
    commands.answer_command(job(command("acme share")))
    assert replies.last["response_type"] == "in_channel"


def test_a_mistyped_sub_command_gets_usage_not_a_guess(runtime, job, replies) -> None:
    seed(runtime)
    commands.answer_command(job(command("lgo acme call")))
    assert "I don't know `lgo`. Did you mean `/account log acme call`?" in texts(replies.last)
    assert replies.last["response_type"] == "ephemeral"


def test_a_typo_in_the_name_still_finds_the_card(runtime, job, replies) -> None:
    seed(runtime)
    commands.answer_command(job(command("acme corpp")))
    assert replies.last["blocks"][0]["text"]["text"] == "Acme Corp"


def test_a_name_like_two_accounts_gets_a_private_pick_list(runtime, job, replies) -> None:
    seed(runtime)
    with runtime.db.transaction() as session:
        f.account(session, "Acme Labs")
    commands.answer_command(job(command("acme share")))
    assert replies.last["response_type"] == "ephemeral"  # a pick list is never shared
    shown = texts(replies.last)
    assert "Acme Corp" in shown and "Acme Labs" in shown


def test_the_report_shows_admins_the_unowned_accounts(runtime, job, replies) -> None:
    seed(runtime)
    with runtime.db.transaction() as session:
        f.account(session, "Nobody's Inc")
    commands.answer_command(job(command("report", user_id=ADMIN)))
    assert "Recency report" in texts(replies.last)
    assert "Nobody" in texts(replies.last)
    commands.answer_command(job(command("report")))
    assert "Nobody" not in texts(replies.last)


def test_cadence_is_stored_and_confirmed(runtime, job, replies) -> None:
    ids = seed(runtime)
    commands.answer_command(job(command("cadence acme corp 21")))
    assert replies.last["text"] == "🗓️ *Acme Corp* is now on a touch every 21 days."
    with runtime.db.session() as session:
        assert session.get(Account, ids["acme"]).cadence_days == 21


def test_a_name_that_is_also_a_sub_command_offers_both_readings(runtime, job, replies) -> None:
    seed(runtime)
    with runtime.db.transaction() as session:
        f.account(session, "Log Acme")
    commands.answer_command(job(command("log acme")))
    shown = texts(replies.last)
    assert "Log Acme" in shown and "Acme Corp" in shown
    with runtime.db.session() as session:
        assert session.exec(select(Touch)).all() == []  # nothing logged until they pick


def test_plan_opens_the_modal_for_the_owner(runtime, job, client) -> None:
    seed(runtime)
    body = command("plan acme")
    commands.answer_command(job(body))
    [opened] = client.calls_to("views.open")
    assert opened["trigger_id"] == body["trigger_id"]
    assert opened["view"]["callback_id"] == View.PLAN_MODAL
    assert "Acme Corp" in texts(opened["view"])
