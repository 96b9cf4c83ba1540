"""`/account away` and the away buttons, called directly."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from bot.messages.ids import Action
from bot.retention.errors import InvalidInput
from handlers import away, commands
from models import AwayPeriod
from tests.handlers.conftest import ANA, button, command
from tests.support import factories as f


def test_away_with_a_cover_is_stored(runtime, job, replies) -> None:
    with runtime.db.transaction() as session:
        f.rep(session, "ana@seller.example", name="Ana Lima", slack_user_id=ANA)
        ben = f.rep(session, "ben@seller.example", name="Ben Ode", slack_user_id="UBEN")
    commands.answer_command(job(command("away jun 22 to jun 26 cover <@UBEN>")))
    assert replies.last["response_type"] == "ephemeral"
    with runtime.db.session() as session:
        [period] = session.exec(select(AwayPeriod)).all()
    assert (period.starts_on, period.ends_on, period.cover_rep_id) == (
        date(2026, 6, 22),
        date(2026, 6, 26),
        ben.id,
    )


def test_an_unknown_cover_is_refused_and_nothing_stored(runtime, job) -> None:
    with runtime.db.transaction() as session:
        f.rep(session, "ana@seller.example", slack_user_id=ANA)
    # The work wrapper (`after_ack`) turns the domain's error into a private reply.
    with pytest.raises(InvalidInput, match="I can't find a rep “@nobody” to cover for you"):
        commands.answer_command(job(command("away jun 22 to jun 26 cover @nobody")))
    with runtime.db.session() as session:
        assert session.exec(select(AwayPeriod)).all() == []


def test_cancel_on_the_home_tab_refreshes_the_home(runtime, job, homes) -> None:
    with runtime.db.transaction() as session:
        rep = f.rep(session, "ana@seller.example", slack_user_id=ANA)
        period = AwayPeriod(
            rep_id=rep.id,
            starts_on=date(2026, 7, 1),
            ends_on=date(2026, 7, 3),
            created_at=f.NOW,
        )
        session.add(period)
        session.flush()
        period_id = period.id
    pressed = button(Action.AWAY_CANCEL, str(period_id), view={"type": "home"})
    away.take_back(job(pressed))
    assert homes.requested == [ANA]
    with runtime.db.session() as session:
        assert session.exec(select(AwayPeriod)).all() == []
