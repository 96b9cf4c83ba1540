"""`/account away` and `/account holidays`, and the away buttons (Home, replies, and the
morning's offer to pause reminders when the rep's Slack status says they are away)."""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import select

from bot.messages import away as away_blocks
from bot.messages.ids import Action
from bot.messages.kit import escape, finish_dicts, notice
from bot.retention.actions import rep_for_slack_user
from bot.retention.away_dates import MAX_AWAY_DAYS, parse_away_range
from bot.retention.calendar import (
    AwayWithCover,
    WorkCalendar,
    away_periods,
    away_with_covers,
    cancel_away,
    end_away,
    set_away,
)
from bot.retention.dates import weekday_label
from bot.retention.errors import InvalidInput
from bot.retention.reps import set_rep_calendar
from bot.runtime import Runtime
from handlers.common import Reply, Work, current_rep, rep_today
from handlers.events import HomePublisher
from handlers.interactions import _tell, any_of
from handlers.payloads import EXPIRED
from models import Rep

log = logging.getLogger(__name__)
VERBS = ("away", "holidays")
END_WORDS = {"end", "back", "off", "stop", "cancel", "clear", "none", "done"}
# A mention or mailto link may carry a label with spaces: `<@U123|Ben Ode>`.
_COVER = re.compile(r"^(.*?)\s+(?:cover(?:ed)?(?:\s+by)?|with)\s+(<[^<>]+>|\S+)$", re.IGNORECASE)
_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")
_MAILTO = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$")
NOT_A_REP = (
    "I don't know your accounts yet, so there are no reminders to pause. Ask your "
    "sales-ops admin to import accounts with your e-mail as `owner_email`."
)


def answer(runtime: Runtime, client: WebClient, verb: str, args: list[str], user_id: str, reply):
    """`/account away …` or `/account holidays …` (always answered privately)."""
    rep = current_rep(runtime=runtime, client=client, user_id=user_id)
    if rep is None:
        reply(notice(NOT_A_REP), private=True)
        return
    if verb == "holidays":
        reply(holidays(runtime, rep, args), private=True)
    elif not args:
        reply(overview(runtime, rep), private=True)
    elif len(args) == 1 and args[0].lower() in END_WORDS:
        reply(notice(end_now(runtime, rep)), private=True)
    else:
        reply(set_from_text(runtime, rep, " ".join(args)), private=True)


def overview(runtime: Runtime, rep: Rep) -> dict:
    today = rep_today(runtime, rep)
    with runtime.db.session() as session:
        periods = away_with_covers(session=session, rep_id=rep.id, today=today)
    return away_blocks.away_overview(periods, today=today, calendar=_calendar(runtime, rep))


def end_now(runtime: Runtime, rep: Rep) -> str:
    """`/account away end`: back today, or the next away period cancelled."""
    today = rep_today(runtime, rep)
    with runtime.db.transaction() as session:
        ended = end_away(session=session, rep_id=rep.id, today=today)
        if ended is None:
            ahead = away_with_covers(session=session, rep_id=rep.id, today=today)
            if not ahead:
                return "You are not away, and no away days are set. " + away_blocks.USAGE
            ended = cancel_away(
                session=session, rep_id=rep.id, away_id=ahead[0].away.id, today=today
            )
    return away_blocks.away_taken_back(ended, today=today)


def set_from_text(runtime: Runtime, rep: Rep, text: str) -> dict:
    """`/account away dec 24 to jan 2 [cover @ben]`: record it and confirm."""
    today = rep_today(runtime, rep)
    cover_text = None
    found = _COVER.match(text.strip())
    if found:
        text, cover_text = found.group(1), found.group(2)
    span = parse_away_range(text, today=today)
    with runtime.db.transaction() as session:
        cover_id = _cover_rep_id(session, cover_text) if cover_text else None
        away = set_away(
            session=session,
            rep_id=rep.id,
            starts_on=span.starts_on,
            ends_on=span.ends_on,
            now=runtime.now(),
            cover_rep_id=cover_id,
        )
        cover = session.get(Rep, cover_id) if cover_id else None
        period = AwayWithCover(
            away,
            cover.slack_user_id if cover else None,
            (cover.name or cover.email) if cover else None,
        )
    return away_blocks.away_set(period, today=today, calendar=_calendar(runtime, rep))


def _calendar(runtime: Runtime, rep: Rep) -> WorkCalendar:
    return runtime.calendars.of(rep.country, rep.subdivision)


def _cover_rep_id(session, text: str) -> int:
    """The cover rep from a mention (`<@U123>`), an e-mail, or `@first-name`."""
    mention, mailto = _MENTION.match(text), _MAILTO.match(text)
    if mention:
        rep = rep_for_slack_user(session=session, slack_user_id=mention.group(1))
    elif mailto or ("@" in text[1:] and "." in text):
        email = (mailto.group(1) if mailto else text).strip().lower()
        rep = session.exec(select(Rep).where(Rep.email == email)).first()
    else:
        rep = _rep_by_handle(session, text.lstrip("@").lower())
    if rep is None or not rep.active:
        label = text.partition("|")[2].rstrip(">") if mention else ""
        who = f"“{escape('@' + label if label else text)}”"
        raise InvalidInput(
            f"I can't find a rep {who} to cover for you: mention them "
            "(`cover @ben`) or use their e-mail (`cover ben@yourcompany.com`)."
        )
    return rep.id


def _rep_by_handle(session, handle: str) -> Rep | None:
    """`@ben`: the one active rep whose first name or e-mail name is `ben`."""
    matches = [
        rep
        for rep in session.exec(select(Rep).where(Rep.active))
        if handle
        and (
            rep.email.split("@")[0].lower() == handle
            or (rep.name or "").split(" ")[0].lower() == handle
        )
    ]
    return matches[0] if len(matches) == 1 else None


def holidays(runtime: Runtime, rep: Rep, args: list[str]) -> dict:
    """`/account holidays [DE [BY] | default]`: show or set the rep's holiday country."""
    changed = bool(args)
    if args:
        country = "" if args[0].lower() in ("default", "none", "reset") else args[0]
        parts = country.replace("_", "-").split("-", 1)
        subdivision = args[1] if len(args) > 1 else (parts[1] if len(parts) > 1 else None)
        with runtime.db.transaction() as session:
            rep = set_rep_calendar(
                session=session, email=rep.email, country=parts[0], subdivision=subdivision
            )
    default = not rep.country
    calendar = runtime.calendars.of(rep.country, rep.subdivision)
    where = "-".join(p for p in (calendar.country, calendar.subdivision) if p) or None
    today = rep_today(runtime, rep)
    return away_blocks.holidays_answer(
        where=where, default=default, upcoming=calendar.upcoming(today, 3), changed=changed
    )


# --- buttons -------------------------------------------------------------------------------


def register(app: App, runtime: Runtime, work: Work) -> None:
    def accept(ack: Ack, body: dict, context: BoltContext) -> None:
        work.accept(context, body)
        ack()

    def cancel_pressed(body: dict, data: dict, reply: Reply, client: WebClient) -> None:
        take_back(runtime, client, body, reply)

    def pause_pressed(body: dict, data: dict, reply: Reply, client: WebClient) -> None:
        answer_offer(runtime, client, body, pause=True)

    def keep_pressed(body: dict, data: dict, reply: Reply, client: WebClient) -> None:
        answer_offer(runtime, client, body, pause=False)

    app.action(any_of(Action.AWAY_CANCEL))(ack=accept, lazy=[work.lazy(cancel_pressed)])
    app.action(Action.AWAY_PAUSE)(ack=accept, lazy=[work.lazy(pause_pressed)])
    app.action(Action.AWAY_KEEP)(ack=accept, lazy=[work.lazy(keep_pressed)])


def _acting_rep(runtime: Runtime, body: dict) -> Rep:
    with runtime.db.session() as session:
        rep = rep_for_slack_user(session=session, slack_user_id=body["user"]["id"])
    if rep is None:
        raise InvalidInput(NOT_A_REP)
    return rep


def _button_value(body: dict) -> str:
    actions = body.get("actions") or [{}]
    value = actions[0].get("value") if isinstance(actions[0], dict) else None
    if not isinstance(value, str) or len(value) > 40:
        raise InvalidInput(EXPIRED)
    return value


def take_back(runtime: Runtime, client: WebClient, body: dict, reply: Reply) -> None:
    """'Cancel' / 'I'm back' on an away period (Home tab or a reply)."""
    rep = _acting_rep(runtime, body)
    value = _button_value(body)
    if not value.isdigit():
        raise InvalidInput(EXPIRED)
    today = rep_today(runtime, rep)
    with runtime.db.transaction() as session:
        away = cancel_away(session=session, rep_id=rep.id, away_id=int(value), today=today)
    text = away_blocks.away_taken_back(away, today=today)
    user_id = body["user"]["id"]
    if (body.get("view") or {}).get("type") == "home":
        for background in runtime.caches.get("background", []):
            if isinstance(background, HomePublisher):
                background.request(client, user_id)
        return  # the refreshed Home shows it
    if body.get("response_url"):
        reply(**notice(text), response_type="ephemeral", replace_original=True)
    else:
        _tell(client, user_id, {}, notice(text))


def answer_offer(runtime: Runtime, client: WebClient, body: dict, *, pause: bool) -> None:
    """'Pause until …' or 'Keep them coming' under the morning's greeting."""
    rep = _acting_rep(runtime, body)
    today = rep_today(runtime, rep)
    if pause:
        note = _pause(runtime, rep, _offered_day(_button_value(body), today), today=today)
    else:
        note = "👍 Reminders keep coming. Set away days any time with `/account away`."
    _replace_offer(runtime, client, body, note)


def _pause(runtime: Runtime, rep: Rep, last_day: date, *, today: date) -> str:
    """Away from today through `last_day`; a second press of the same offer (or a period
    already holding those days) is told it is done, not refused."""
    with runtime.db.transaction() as session:
        held = [
            p
            for p in away_periods(session=session, rep_id=rep.id, today=today)
            if p.starts_on <= today and p.ends_on >= last_day
        ]
        if not held:
            set_away(
                session=session, rep_id=rep.id, starts_on=today, ends_on=last_day, now=runtime.now()
            )
    until = weekday_label(held[0].ends_on if held else last_day)
    lead = f"Already paused until {until}" if held else f"Paused until {until}"
    return f"🌴 {lead}: no reminders until then. Back early? `/account away end`."


def _offered_day(value: str, today: date) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(EXPIRED) from None
    if not today <= day < today + timedelta(days=MAX_AWAY_DAYS):
        raise InvalidInput(
            "That offer is out of date. Set your away days with `/account away dec 24 to jan 2`."
        )
    return day


def _replace_offer(runtime: Runtime, client: WebClient, body: dict, note: str) -> None:
    """Swap the offer's buttons for the answer (the greeting is never re-rendered from
    storage, so the message as Slack sent it is the one to edit)."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts")
    message = body.get("message") or {}
    if not channel or not ts or not isinstance(message.get("blocks"), list):
        _tell(client, body["user"]["id"], {}, notice(note))
        return
    updated = away_blocks.without_offer(message["blocks"], note)
    text = message.get("text") or note
    try:
        client.chat_update(channel=channel, ts=ts, text=text, blocks=finish_dicts(updated))
    except SlackApiError as error:
        log.warning("could not update the away offer: %s", error.response.get("error"))
