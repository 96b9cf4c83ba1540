"""Block Kit for away days: the `/account away` answers, the Home line, the offer to pause
reminders when the rep's Slack status says they are away, and `/account holidays`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot.messages.format import span_label, weekday_label
from bot.messages.ids import Action, BlockId
from bot.messages.kit import button, context, escape, fallback_mrkdwn, finish, section, user_ref
from bot.retention.results import Away, AwayWithCover

if TYPE_CHECKING:  # the holiday calendar; calendar.py itself still reads the database
    from bot.retention.calendar import WorkCalendar

EMOJI_CODE = re.compile(r"^:[a-z0-9_+\-']{1,80}:$")
HOLIDAYS_SHOWN_HINT = (
    "Set yours with `/account holidays DE` (or `US CA`, `GB`), "
    "`/account holidays default` for the workspace's."
)
USAGE = (
    "Set away days with `/account away dec 24 to jan 2` (also `tomorrow`, `next week`, "
    "`3-21 aug`, `until friday`); add `cover @colleague` to hand them your due accounts."
)


def back_on(away: Away, calendar: WorkCalendar) -> date:
    """The rep's first working day after the period (their weekends and holidays)."""
    return calendar.next_working_day(away.ends_on + timedelta(days=1))


def away_line(
    away: Away, *, today: date, calendar: WorkCalendar, cover_label: str | None = None
) -> str:
    """ "🌴 Away Thu 24 Dec – Sat 2 Jan: no reminders those days." (mrkdwn)."""
    days = "that day" if away.starts_on == away.ends_on else "those days"
    if away.starts_on <= today:
        back = weekday_label(back_on(away, calendar))
        line = f"🌴 *Away until {weekday_label(away.ends_on)}* (back {back}): no reminders"
        line += " until then."
    else:
        line = f"🌴 *Away {span_label(away.starts_on, away.ends_on)}*: no reminders {days}."
    if cover_label:
        line += f" {cover_label} gets your due accounts meanwhile."
    return line


def away_button(away: Away, *, today: date) -> ButtonElement:
    """'I'm back' for a period under way, 'Cancel' for one ahead."""
    label = "I'm back" if away.starts_on <= today else "Cancel"
    return button(label, Action.AWAY_CANCEL.numbered(away.id), str(away.id))


def cover_label(period: AwayWithCover) -> str | None:
    if period.cover_name is None and period.cover_slack_user_id is None:
        return None
    return user_ref(period.cover_slack_user_id, period.cover_name)


def away_sections(
    periods: Sequence[AwayWithCover], *, today: date, calendar: WorkCalendar, limit: int = 3
) -> list[Block]:
    """One section per away period (with its cancel button), for the Home and replies."""
    return [
        section(
            away_line(p.away, today=today, calendar=calendar, cover_label=cover_label(p)),
            accessory=away_button(p.away, today=today),
        )
        for p in periods[:limit]
    ]


def away_overview(periods: Sequence[AwayWithCover], *, today: date, calendar: WorkCalendar) -> dict:
    """`/account away` alone: the periods under way or ahead, or how to set one."""
    if not periods:
        text = "You have no away days set. " + USAGE
        return {"blocks": finish([section(text)]), "text": fallback_mrkdwn(text)}
    parts = [*away_sections(periods, today=today, calendar=calendar), context(USAGE)]
    first = away_line(periods[0].away, today=today, calendar=calendar)
    return {"blocks": finish(parts), "text": fallback_mrkdwn(first)}


def away_set(period: AwayWithCover, *, today: date, calendar: WorkCalendar) -> dict:
    """The confirmation of `/account away …`."""
    away = period.away
    line = away_line(away, today=today, calendar=calendar, cover_label=cover_label(period))
    streak = "Your streak waits for you, and your first morning back starts with a short catch-up."
    parts = [section(line, accessory=away_button(away, today=today)), context(streak)]
    return {"blocks": finish(parts), "text": fallback_mrkdwn(line)}


def away_taken_back(away: Away, *, today: date) -> str:
    """The line after 'I'm back' or 'Cancel'."""
    if away.starts_on < today:
        return "👋 Welcome back! Your reminders start again with the next working morning."
    return f"🗓️ Cancelled: away {span_label(away.starts_on, away.ends_on)}. Reminders as usual."


# --- the offer in the morning's first message --------------------------------------------


def offer_blocks(*, last_day: date, emoji: str | None, text: str | None) -> list[dict]:
    """ "Your Slack status says … until Fri 21 Aug. Pause reminders until then?" """
    # An emoji code renders as the emoji (escaping its underscores would break it).
    shown = [emoji] if emoji and EMOJI_CODE.match(emoji) else []
    shown += [escape(text)] if text else []
    status = f" “{' '.join(shown)}”" if shown else ""
    line = (
        f"🌴 Looks like you're away: your Slack status{status} lasts until "
        f"{weekday_label(last_day)}. Pause reminders until then?"
    )
    actions = ActionsBlock(
        block_id=BlockId.AWAY_OFFER_ACTIONS,
        elements=[
            button(
                f"Pause until {weekday_label(last_day)}",
                Action.AWAY_PAUSE,
                last_day.isoformat(),
                style="primary",
            ),
            button("Keep them coming", Action.AWAY_KEEP, "keep"),
        ],
    )
    return [section(line, block_id=BlockId.AWAY_OFFER).to_dict(), actions.to_dict()]


def without_offer(raw: Sequence[dict], note: str) -> list[dict]:
    """A message's blocks with the offer replaced by a one-line answer."""
    kept = [
        b for b in raw if b.get("block_id") not in (BlockId.AWAY_OFFER, BlockId.AWAY_OFFER_ACTIONS)
    ]
    return [*kept, context(note).to_dict()]


# --- /account holidays ---------------------------------------------------------------------


def holidays_answer(
    *, where: str | None, default: bool, upcoming: Sequence[tuple[date, str]], changed: bool
) -> dict:
    """Which public holidays are the rep's days off, and the next few."""
    if where:
        whose = f"the public holidays of *{escape(where)}*"
        whose += " (the workspace default)" if default else ""
    else:
        whose = "weekends only (no holiday country is set)"
    lead = "🗓️ Done: your days off are now" if changed else "🗓️ Your days off:"
    text = f"{lead} weekends and {whose}." if where else f"{lead} {whose}."
    lines = [f"• {weekday_label(day)}: {escape(name)}" for day, name in upcoming]
    parts = [section(text)]
    if lines:
        parts.append(section("*Next holidays*\n" + "\n".join(lines)))
    parts.append(context(HOLIDAYS_SHOWN_HINT))
    return {"blocks": finish(parts), "text": fallback_mrkdwn(text)}
