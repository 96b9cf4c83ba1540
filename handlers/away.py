"""`/account away` and `/account holidays`, and the away buttons (Home, replies, and the
morning's offer to pause reminders when the rep's Slack status says they are away)."""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.messages.away import (
    USAGE,
    away_overview,
    away_set,
    away_taken_back,
    holidays_answer,
    without_offer,
)
from bot.messages.ids import Action
from bot.messages.kit import escape, finish_dicts, notice
from bot.retention.actions import rep_for_slack_user
from bot.retention.away_dates import MAX_AWAY_DAYS, parse_away_range
from bot.retention.calendar import WorkCalendar, away_with_covers, cancel_away
from bot.retention.dates import weekday_label
from bot.retention.errors import InvalidInput
from bot.retention.rep_ops import CoverRef, end_or_cancel_away, pause_until, set_away_covered
from bot.retention.reps import set_rep_calendar
from bot.runtime import Runtime
from handlers.common import any_of, current_rep, rep_today, tell
from handlers.payloads import EXPIRED
from handlers.work import Job, accept, after_ack
from models import Rep

log = logging.getLogger(__name__)
END_WORDS = {"end", "back", "off", "stop", "cancel", "clear", "none", "done"}
# A mention or mailto link may carry a label with spaces: `<@U123|Ben Ode>`.
_COVER = re.compile(r"^(.*?)\s+(?:cover(?:ed)?(?:\s+by)?|with)\s+(<[^<>]+>|\S+)$", re.IGNORECASE)
_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")
_MAILTO = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$")
NOT_A_REP = (
    "I don't know your accounts yet, so there are no reminders to pause. Ask your "
    "sales-ops admin to import accounts with your e-mail as `owner_email`."
)


def answer(job: Job, verb: str, args: list[str], reply) -> None:
    """`/account away …` or `/account holidays …` (always answered privately)."""
    runtime = job.runtime
    rep = current_rep(runtime=runtime, client=job.client, user_id=job.user_id)
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


# The `/account` verbs this surface answers (wired by `handlers.register`).
SUBCOMMANDS = {"away": answer, "holidays": answer}


def overview(runtime: Runtime, rep: Rep) -> dict:
    today = rep_today(runtime, rep)
    with runtime.db.session() as session:
        periods = away_with_covers(session=session, rep_id=rep.id, today=today)
    return away_overview(periods, today=today, calendar=_calendar(runtime, rep))


def end_now(runtime: Runtime, rep: Rep) -> str:
    """`/account away end`: back today, or the next away period cancelled."""
    today = rep_today(runtime, rep)
    with runtime.db.transaction() as session:
        ended = end_or_cancel_away(session=session, rep_id=rep.id, today=today)
    if ended is None:
        return "You are not away, and no away days are set. " + USAGE
    return away_taken_back(ended, today=today)


def set_from_text(runtime: Runtime, rep: Rep, text: str) -> dict:
    """`/account away dec 24 to jan 2 [cover @ben]`: record it and confirm."""
    today = rep_today(runtime, rep)
    cover = None
    found = _COVER.match(text.strip())
    if found:
        text, cover = found.group(1), cover_ref(found.group(2))
    span = parse_away_range(text, today=today)
    with runtime.db.transaction() as session:
        period = set_away_covered(
            session=session,
            rep_id=rep.id,
            starts_on=span.starts_on,
            ends_on=span.ends_on,
            now=runtime.now(),
            cover=cover,
            not_found=_no_cover(cover) if cover else "",
        )
    return away_set(period, today=today, calendar=_calendar(runtime, rep))


def cover_ref(text: str) -> CoverRef:
    """The cover rep as typed: a mention (`<@U123>`), an e-mail, or `@first-name`."""
    mention, mailto = _MENTION.match(text), _MAILTO.match(text)
    if mention:
        return CoverRef(text, slack_user_id=mention.group(1))
    if mailto or ("@" in text[1:] and "." in text):
        return CoverRef(text, email=(mailto.group(1) if mailto else text).strip().lower())
    return CoverRef(text, handle=text.lstrip("@").lower())


def _no_cover(cover: CoverRef) -> str:
    label = cover.text.partition("|")[2].rstrip(">") if cover.slack_user_id else ""
    who = f"“{escape('@' + label if label else cover.text)}”"
    return (
        f"I can't find a rep {who} to cover for you: mention them "
        "(`cover @ben`) or use their e-mail (`cover ben@yourcompany.com`)."
    )


def _calendar(runtime: Runtime, rep: Rep) -> WorkCalendar:
    return runtime.calendars.of(rep.country, rep.subdivision)


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
    return holidays_answer(
        where=where, default=default, upcoming=calendar.upcoming(today, 3), changed=changed
    )


# --- buttons -------------------------------------------------------------------------------


def _acting_rep(job: Job) -> Rep:
    with job.runtime.db.session() as session:
        rep = rep_for_slack_user(session=session, slack_user_id=job.user_id)
    if rep is None:
        raise InvalidInput(NOT_A_REP)
    return rep


def _button_value(body: dict) -> str:
    actions = body.get("actions") or [{}]
    value = actions[0].get("value") if isinstance(actions[0], dict) else None
    if not isinstance(value, str) or len(value) > 40:
        raise InvalidInput(EXPIRED)
    return value


def take_back(job: Job) -> None:
    """'Cancel' / 'I'm back' on an away period (Home tab or a reply)."""
    rep = _acting_rep(job)
    value = _button_value(job.body)
    if not value.isdigit():
        raise InvalidInput(EXPIRED)
    today = rep_today(job.runtime, rep)
    with job.runtime.db.transaction() as session:
        away = cancel_away(session=session, rep_id=rep.id, away_id=int(value), today=today)
    text = away_taken_back(away, today=today)
    if (job.body.get("view") or {}).get("type") == "home":
        job.homes.request(job.client, job.user_id)
        return  # the refreshed Home shows it
    if job.body.get("response_url"):
        job.reply(**notice(text), response_type="ephemeral", replace_original=True)
    else:
        tell(job.client, job.user_id, {}, notice(text))


def pause_pressed(job: Job) -> None:
    """'Pause until …' under the morning's greeting: away from today through that day;
    a second press of the same offer (or a period already holding those days) is told
    it is done, not refused."""
    rep = _acting_rep(job)
    today = rep_today(job.runtime, rep)
    last_day = _offered_day(_button_value(job.body), today)
    with job.runtime.db.transaction() as session:
        paused = pause_until(
            session=session, rep_id=rep.id, today=today, last_day=last_day, now=job.runtime.now()
        )
    until = weekday_label(paused.until)
    lead = f"Already paused until {until}" if paused.already else f"Paused until {until}"
    _replace_offer(job, f"🌴 {lead}: no reminders until then. Back early? `/account away end`.")


def keep_pressed(job: Job) -> None:
    """'Keep them coming' under the morning's greeting."""
    _acting_rep(job)
    _replace_offer(job, "👍 Reminders keep coming. Set away days any time with `/account away`.")


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


def _replace_offer(job: Job, note: str) -> None:
    """Swap the offer's buttons for the answer (the greeting is never re-rendered from
    storage, so the message as Slack sent it is the one to edit)."""
    body = job.body
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts")
    message = body.get("message") or {}
    if not channel or not ts or not isinstance(message.get("blocks"), list):
        tell(job.client, job.user_id, {}, notice(note))
        return
    updated = without_offer(message["blocks"], note)
    text = message.get("text") or note
    try:
        job.client.chat_update(channel=channel, ts=ts, text=text, blocks=finish_dicts(updated))
    except SlackApiError as error:
        log.warning("could not update the away offer: %s", error.response.get("error"))


def register(app: App) -> None:
    app.action(any_of(Action.AWAY_CANCEL))(ack=accept, lazy=[after_ack(take_back)])
    app.action(Action.AWAY_PAUSE)(ack=accept, lazy=[after_ack(pause_pressed)])
    app.action(Action.AWAY_KEEP)(ack=accept, lazy=[after_ack(keep_pressed)])
