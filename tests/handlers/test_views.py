"""Modal submissions, called directly: the ack's checks, then the work's writes."""

from __future__ import annotations

from sqlmodel import select

from bot.messages.ids import View
from bot.retention.account_ops import ACCOUNT_GONE
from handlers import views
from handlers.work import TICKET
from models import AccountPlan, Touch
from tests.handlers.conftest import ANA, FakeAck, submission
from tests.support import factories as f


def seed(runtime) -> int:
    with runtime.db.transaction() as session:
        ana = f.rep(session, "ana@seller.example", name="Ana Lima", slack_user_id=ANA)
        return f.account(session, "Acme Corp", owner_id=ana.id).id


def test_a_logged_touch_is_checked_acked_then_stored_and_confirmed(
    runtime, work, job, client, homes
) -> None:
    acme = seed(runtime)
    body, view = submission(
        View.LOG_MODAL,
        {"kind": {"selected_option": {"value": "meeting"}}, "note": {"value": "QBR"}},
        {"account_id": acme, "home": 1},
    )
    ack, context = FakeAck(), {}
    views.check_log(ack, body, view, context, runtime, work)
    assert ack.calls == [{}]  # accepted: Slack closes the modal
    data = context[TICKET]["data"]
    assert data["kind"] == "meeting" and data["on"] == f.NOW.date()

    views.log_from_modal(job(body, **data))
    with runtime.db.session() as session:
        [touch] = session.exec(select(Touch)).all()
    assert (touch.account_id, touch.kind, touch.note, touch.source) == (
        acme,
        "meeting",
        "QBR",
        "button",
    )
    [confirmation] = client.calls_to("chat.postMessage")  # no channel, no response_url: DM
    assert confirmation["channel"] == ANA
    assert confirmation["text"].startswith("🤝 Logged a meeting on *Acme Corp*")
    assert homes.requested == [ANA]  # opened from the Home: refreshed


def test_a_form_for_a_deleted_account_is_refused_in_the_form(runtime, work) -> None:
    seed(runtime)
    body, view = submission(View.SNOOZE_MODAL, {}, {"account_id": 999999})
    ack, context = FakeAck(), {}
    views.check_snooze(ack, body, view, context, runtime, work)
    assert ack.calls == [{"response_action": "errors", "errors": {"length": ACCOUNT_GONE}}]
    assert TICKET not in context


def test_a_plan_from_someone_else_is_refused_in_the_form(runtime, work) -> None:
    acme = seed(runtime)
    body, view = submission(
        View.PLAN_MODAL,
        {"current_state": {"value": "buys A"}, "target_state": {"value": "buys A and B"}},
        {"account_id": acme},
        user_id="UOTHER",
    )
    ack, context = FakeAck(), {}
    views.check_plan(ack, body, view, context, runtime, work)
    assert "can change the plan" in ack.errors["current_state"]
    with runtime.db.session() as session:
        assert session.exec(select(AccountPlan)).all() == []
