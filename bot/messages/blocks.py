"""Every Block Kit message and view Rebuy shows, built in one place.

Builders take plain domain results and return dicts ready for the Web API. Slack's
size limits are enforced here, once: text is escaped for mrkdwn and cut to fit, long
lists end with an "…and N more" line, and the typed slack_sdk classes validate the rest.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.retention.book import LIST_FILTERS, BookEntry, BookSummary, LeaderboardRow
from bot.retention.due import DueAccount
from bot.retention.rebuy_model.outlook import Outlook
from bot.retention.report import RecencyReport
from bot.retention.signals import AT_RISK_BELOW, day_label
from bot.retention.status import AccountStatus
from bot.retention.tactics import Tactic
from bot.retention.unowned import Unowned
from bot.retention.urgency import streak_text
from models import TOUCH_KINDS

# Slack's limits (see SLACK-NOTES.md).
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
VIEW_TITLE = 24
CONTEXT_ELEMENTS = 10
FALLBACK_TEXT = 3900
PLAN_SHOWN = 500  # characters of each plan field on the card (the modal holds 1,000)
METADATA = 3000

# action_id / callback_id values: the handlers register exactly these.
LOG_TOUCH = "touch_log"
SNOOZE = "touch_snooze"
EDIT_PLAN = "plan_edit"
SHOW_ACCOUNT = "account_show"
# A pick-list button that also carries what the rep asked to do (log, snooze, plan).
PICK_ACCOUNT = "account_pick"
LOG_MODAL = "touch_log_modal"
SNOOZE_MODAL = "snooze_modal"
PLAN_MODAL = "plan_modal"
ACTION_IDS = (LOG_TOUCH, SNOOZE, EDIT_PLAN, SHOW_ACCOUNT, PICK_ACCOUNT)
# Slack refuses a block whose buttons share an action_id, so a pick list's buttons are
# `account_show:14`, `account_pick:14`, ...; listeners match these patterns.
SHOW_ACCOUNT_ACTION = re.compile(rf"^{SHOW_ACCOUNT}(:\d+)?$")
PICK_ACCOUNT_ACTION = re.compile(rf"^{PICK_ACCOUNT}(:\d+)?$")
VIEW_IDS = (LOG_MODAL, SNOOZE_MODAL, PLAN_MODAL)

KIND_EMOJI = {"call": "📞", "email": "✉️", "meeting": "🤝", "visit": "🚗", "note": "✅"}
BAND_EMOJI = {"healthy": "🟢", "watch": "🟡", "at risk": "🔴"}
REACTION_HINT = "React ✅ touched · 📞 call · ✉️ email · 🤝 meeting · 💤 snooze a week"


# --- text safety ------------------------------------------------------------------------


ZWJ = "\u200d"
ZWNJ = "\u200c"
# mrkdwn has no escape for its formatting characters; a zero-width non-joiner on each
# side keeps one from opening or closing bold, italics, strike or code.
_FORMATTING = re.compile(r"([*_~`])")


def _keeps_joiner(text: str, index: int) -> bool:
    """A zero-width joiner inside an emoji sequence (👩‍💻) is part of the emoji."""
    before = text[index - 1] if index else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    return all(c and unicodedata.category(c) in ("So", "Sk", "Mn") for c in (before, after))


def clean(text: object) -> str:
    """User data without invisible format characters: bidi overrides, embeddings,
    isolates and marks (U+202E can make `evil.exe` read as `exe.live`), zero-width
    spaces and joiners, soft hyphens. A name then reads as what it is, in plain_text
    and mrkdwn alike; a joiner inside an emoji stays."""
    text = str(text)
    if text.isascii():
        return text
    # Line and paragraph separators (Zl, Zp) would break a one-line name: a space.
    return "".join(
        " " if unicodedata.category(c) in ("Zl", "Zp") else c
        for i, c in enumerate(text)
        if unicodedata.category(c) != "Cf" or (c == ZWJ and _keeps_joiner(text, i))
    )


def escape(text: object) -> str:
    """User data made inert for mrkdwn: `<!channel>` or `<@U1>` pings no one (<, >, &
    escaped), `*`, `_`, `~` and backticks format nothing, and direction or zero-width
    characters are gone (see `clean`)."""
    text = clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _FORMATTING.sub(rf"{ZWNJ}\1{ZWNJ}", text)


def cut(text: str, limit: int) -> str:
    """Shorten to `limit` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _md(text: str) -> MarkdownTextObject:
    """A mrkdwn text object; `text` is already escaped, so it is cut entity-safely."""
    return MarkdownTextObject(text=cut_mrkdwn(text, SECTION_TEXT))


def _plain(text: str, limit: int) -> PlainTextObject:
    """plain_text is shown literally, but direction and zero-width characters in user
    data still act: they are removed here too."""
    return PlainTextObject(text=cut(clean(text), limit), emoji=True)


def section(text: str, **kwargs) -> SectionBlock:
    return SectionBlock(text=_md(text), **kwargs)


def context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[_md(text) for text in texts[:CONTEXT_ELEMENTS]])


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=_plain(text, HEADER_TEXT))


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> ButtonElement:
    return ButtonElement(
        text=_plain(text, BUTTON_TEXT), action_id=action_id, value=value, style=style
    )


def option(text: str, value: str) -> Option:
    return Option(text=_plain(text, OPTION_TEXT), value=cut(value, OPTION_VALUE))


def finish(blocks: Sequence[Block], *, limit: int = MESSAGE_BLOCKS) -> list[dict]:
    """Blocks as dicts, at most `limit` of them (validated by slack_sdk)."""
    blocks = list(blocks)
    if len(blocks) > limit:
        dropped = len(blocks) - (limit - 1)
        blocks = [*blocks[: limit - 1], context(f"…and {dropped:,} more not shown.")]
    return [block.to_dict() for block in blocks]


def fallback(text: str) -> str:
    """The notification text from plain text: escaped, short, no mentions."""
    return cut(escape(text), FALLBACK_TEXT)


def fallback_mrkdwn(text: str) -> str:
    """The notification text from mrkdwn that is already safe (escaping it again would
    show `&amp;lt;` to the reader)."""
    return cut_mrkdwn(text, FALLBACK_TEXT)


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 account`, `2 accounts`, `1,200 orders`."""
    return f"{count:,} {word if count == 1 else many or word + 's'}"


def with_article(word: str) -> str:
    """`a call`, `an email`, `a visit`: the article by the first letter (good enough
    for the words Rebuy puts after it)."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def money(value: float | None) -> str:
    """ "$4,800", a credit as "−$4,800" (a real minus sign, before the dollar)."""
    if value is None:
        return "—"
    whole = round(value)
    return f"−${-whole:,}" if whole < 0 else f"${whole:,}"


def user_ref(slack_user_id: str | None, fallback_text: str | None = None) -> str:
    if slack_user_id:
        return f"<@{slack_user_id}>"
    return escape(fallback_text) if fallback_text else "someone"


def bullet_list(
    lines: Sequence[str], *, limit: int, more_label: str = "more", budget: int = 2500
) -> str:
    """At most `limit` lines and about `budget` characters, then "…and N more", so the
    count survives even when the lines are long (a section holds 3,000 characters)."""
    shown: list[str] = []
    used = 0
    for line in lines[:limit]:
        if shown and used + len(line) + 1 > budget:
            break
        line = line if len(line) <= budget else cut_mrkdwn(line, budget)
        shown.append(line)
        used += len(line) + 1
    if len(lines) > len(shown):
        shown.append(f"…and {len(lines) - len(shown):,} {more_label}")
    return "\n".join(shown)


def cut_mrkdwn(text: str, limit: int) -> str:
    """Like `cut`, for escaped text: never ends inside an entity such as `&amp;`, nor
    inside a mention or link of our own such as `<@U123>`."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    amp = head.rfind("&", max(0, len(head) - 5))
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    opened = head.rfind("<")
    if opened != -1 and ">" not in head[opened:]:
        head = head[:opened]
    return head.rstrip() + "…"


# --- the status card --------------------------------------------------------------------


def account_buttons(account_id: int) -> ActionsBlock:
    value = str(account_id)
    return ActionsBlock(
        block_id=f"account_actions:{value}",
        elements=[
            button("Log a touch", LOG_TOUCH, value, style="primary"),
            button("Snooze", SNOOZE, value),
            button("Edit plan", EDIT_PLAN, value),
        ],
    )


OUTLOOK_EMOJI = {"likely": "🟢", "unsure": "🟡", "unlikely": "🔴"}


def outlook_section(outlook: Outlook) -> SectionBlock:
    """The re-buy model's line: the chance of an order, and the value when known."""
    value = outlook.value_text()
    return section(
        f"{OUTLOOK_EMOJI[outlook.band]} *{outlook.chance_text()}* ({outlook.band})"
        + (f"\n{value.capitalize()}" if value else "")
    )


def status_card(status: AccountStatus) -> dict:
    """The `/account NAME` reply: blocks plus fallback text."""
    facts, schedule, health = status.facts, status.schedule, status.health
    owner = user_ref(status.owner_slack_user_id, status.owner_name or status.owner_email)
    if not (status.owner_slack_user_id or status.owner_name or status.owner_email):
        owner = "_no owner_"
    value = f" · {money(status.annual_value)} a year" if status.annual_value else ""
    blocks: list[Block] = [
        header(f"{status.name}"),
        context(
            f"CRM id `{escape(status.external_id)}` · owner {owner} · tier "
            f"*{escape(status.tier)}*{value}"
        ),
    ]
    reasons = "\n".join(f"• {escape(reason)}" for reason in health.reasons[:8])
    blocks.append(
        section(f"{BAND_EMOJI[health.band]} *Health {health.score}/100* ({health.band})\n{reasons}")
    )
    if status.outlook is not None:
        blocks.append(outlook_section(status.outlook))

    if facts.last_order_at:
        amount = f" ({money(status.last_order_amount)})" if status.last_order_amount else ""
        last_order = (
            f"{day_label(facts.last_order_at.date())}{amount}\n"
            f"{facts.orders_text}, {money(facts.total_value)} in all"
        )
    else:
        last_order = "None on record"
    touch = status.last_touch
    if touch:
        by = user_ref(touch.by_slack_user_id, touch.by)
        last_touch = (
            f"{KIND_EMOJI.get(touch.kind, '')} {touch.kind} by {by}, {day_label(touch.at.date())}"
        )
        if touch.note:
            last_touch += f"\n_“{escape(cut(touch.note, 200))}”_"
    else:
        last_touch = "Never logged"
    due = day_label(schedule.next_touch_due)
    if schedule.days_overdue:
        due = f"*{due}* ({plural(schedule.days_overdue, 'day')} overdue)"
    elif schedule.next_touch_due == status.as_of:
        due = f"*Today* ({due})"
    if schedule.snoozed_until:
        due += " 💤 snoozed"
    rfm = status.rfm  # the scores stay in --json; a rep reads the segment in words
    blocks.append(
        SectionBlock(
            fields=[
                _md(f"*Last order*\n{last_order}"),
                _md(f"*Last touch*\n{last_touch}"),
                _md(f"*Next touch*\n{due}\nevery {plural(schedule.cadence_days, 'day')}"),
                _md(f"*Segment*\n{escape(rfm.segment)}\n_{status.segment_meaning}_"),
            ]
        )
    )

    if status.contacts:
        people = [
            f"• {escape(cut(p.name, 100))}" + (f", {escape(cut(p.title, 100))}" if p.title else "")
            for p in status.contacts
        ]
        warn = "\n⚠️ *Single-threaded*: add a second contact." if status.single_threaded else ""
        blocks.append(section(f"*Contacts*\n{bullet_list(people, limit=6)}{warn}"))
    else:
        blocks.append(
            section(
                "*Contacts*\n⚠️ *No contact on file*: nobody there to call. Who should know you?"
            )
        )

    if status.plan:
        plan = status.plan
        blocks.append(
            section(
                f"*Plan* (by {day_label(plan.horizon)})\n"
                f"From: {escape(cut(plan.current_state, PLAN_SHOWN))}\n"
                f"To: {escape(cut(plan.target_state, PLAN_SHOWN))}"
            )
        )
    else:
        blocks.append(section("*Plan*\nNo plan yet. Where should this account be in 3–5 months?"))

    if status.tactics:
        blocks.append(DividerBlock())
        lines = [
            f"*{number}. {escape(pick.tactic.title)}*\n_{escape(pick.why)}_\n"
            f"{escape(pick.tactic.how_to)}"
            for number, pick in enumerate(status.tactics, 1)
        ]
        blocks.append(section("💡 *Try next*\n" + "\n\n".join(lines)))
    blocks.append(account_buttons(status.id))
    next_due = day_label(schedule.next_touch_due)
    text = f"{status.name}: health {health.score}/100, next touch {next_due}"
    return {"blocks": finish(blocks), "text": fallback(text)}


# --- choosing an account ----------------------------------------------------------------


PICK_BUTTONS = 25  # an actions block holds at most 25 elements
QUERY_SHOWN = 100  # characters of what the rep typed, quoted back


def pick_list(
    query: str,
    candidates: Sequence[tuple[int, str]],
    *,
    ambiguous: bool,
    total: int | None = None,
    pending: dict | None = None,
) -> dict:
    """Several accounts fit (or none, with suggestions): buttons to choose one.

    `total` counts every match when only some are offered. With `pending` (what the
    rep asked to do, see `pick_value`) each button does that to the account chosen;
    without it a button shows the account's card. Either way the buttons sit in the
    block "account_pick", so the click can replace this list with its answer.
    """
    quoted = f"“{escape(cut(query.strip(), QUERY_SHOWN))}”"
    shown = list(candidates[:PICK_BUTTONS])
    total = max(total or 0, len(candidates))
    if ambiguous and total > len(shown):
        intro = (
            f"{quoted} matches {total:,} accounts; here are the first {len(shown)}. "
            "Type more of the name or the CRM id to narrow it down."
        )
    elif ambiguous:
        intro = f"{quoted} matches {total:,} accounts. Which one did you mean?"
    elif candidates:
        intro = f"No account matches {quoted}. Did you mean one of these?"
    else:
        intro = (
            f"No account matches {quoted}. Check the spelling, or try part of the "
            "name or the CRM id. `/account help` lists what I can do."
        )
    blocks: list[Block] = [section(intro)]
    if pending is None:
        buttons = [
            button(name, f"{SHOW_ACCOUNT}:{account_id}", str(account_id))
            for account_id, name in shown
        ]
    else:
        buttons = [
            button(name, f"{PICK_ACCOUNT}:{account_id}", pick_value(account_id, pending))
            for account_id, name in shown
        ]
    if buttons:
        blocks.append(ActionsBlock(block_id="account_pick", elements=buttons))
        if pending is not None:
            blocks.append(context(f"Choose one and I'll {pending_label(pending)}."))
    return {"blocks": finish(blocks), "text": fallback_mrkdwn(intro)}


def pending_label(pending: dict) -> str:
    """What a pick-list button will do, for "Choose one and I'll …"."""
    do = pending.get("do")
    if do == "log" and not pending.get("kind"):
        return "ask what kind of touch it was"
    if do == "log":
        return f"log {with_article(str(pending['kind']))} on it"
    if do == "snooze":
        until = pending.get("until")
        try:
            return f"snooze it until {day_label(date.fromisoformat(until))}"
        except (TypeError, ValueError):
            return "snooze it"
    if do == "plan":
        return "open its plan"
    return "show it"


def _compact(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _slack_length(text: str) -> int:
    """Length as Slack may count it (UTF-16 code units), never less than `len`."""
    return len(text.encode("utf-16-le")) // 2


def pick_value(account_id: int, pending: dict, *, limit: int = BUTTON_VALUE) -> str:
    """A pick-list button's value: compact JSON of the account and the pending action,
    e.g. {"id":7,"do":"log","kind":"call","note":"…"}. A long note or reason is
    shortened (whole characters, ending "…") so the value stays under Slack's limit."""
    payload = {"id": account_id, **{k: v for k, v in pending.items() if v is not None}}
    value = _compact(payload)
    if _slack_length(value) <= limit:
        return value
    payload["cut"] = 1  # so the confirmation can say the note was shortened
    for field in ("note", "reason"):
        text = payload.get(field)
        if not text or _slack_length(_compact(payload)) <= limit:
            continue
        # The most whole characters of `text` that fit (JSON escapes make some longer).
        low, high = 0, len(text)
        while low < high:
            keep = (low + high + 1) // 2
            trial = _compact({**payload, field: text[:keep] + "…"})
            low, high = (keep, high) if _slack_length(trial) <= limit else (low, keep - 1)
        payload[field] = text[:low] + "…"
    value = _compact(payload)
    if _slack_length(value) > limit:
        raise ValueError("pick-list button value too large")
    return value


def read_pick_value(value: str | None) -> dict:
    """The {"id": …, "do": …} a pick-list button carries; {} when it is not one."""
    try:
        payload = json.loads(value or "")
    except ValueError:
        return {}
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), int):
        return {}
    return payload


# --- the rep's book and lists -------------------------------------------------------------


def entry_line(entry: BookEntry) -> str:
    facts, schedule = entry.facts, entry.schedule
    if schedule.days_overdue:
        when = f"{schedule.days_overdue:,}d overdue"
    elif entry.due:
        when = "due today"
    else:
        when = f"next {day_label(schedule.next_touch_due, year=False)}"
    reason = entry.signals[0].reason if entry.signals else "all good"
    top = max(entry.signals, key=lambda s: s.penalty).reason if entry.signals else reason
    chance = ""
    if entry.outlook is not None and "down to" not in top:  # unless likely_lapsing says it
        chance = f"\n      {OUTLOOK_EMOJI[entry.outlook.band]} {escape(entry.outlook.line())}"
    return (
        f"{BAND_EMOJI[entry.health.band]} *{escape(facts.name)}* · {when} · health "
        f"{entry.health.score}\n      _{escape(cut(top, 160))}_{chance}"
    )


def book(summary: BookSummary, top: Sequence[BookEntry], *, rep_label: str) -> dict:
    blocks: list[Block] = [
        header(f"Your book: {plural(summary.accounts, 'account')}"),
        SectionBlock(
            fields=[
                _md(f"*Due today*\n{summary.due_today:,}"),
                _md(f"*Overdue*\n{summary.overdue:,}"),
                _md(f"*Dormant (6m+)*\n{summary.dormant:,}"),
                _md(f"*At risk*\n{summary.at_risk:,}"),
                _md(f"*Declining*\n{summary.declining:,}"),
                _md(f"*Single-threaded*\n{summary.single_threaded:,}"),
            ]
        ),
    ]
    if top:
        lines = [entry_line(entry) for entry in top]
        blocks.append(section("*Contact these first*\n" + "\n".join(lines)))
    else:
        blocks.append(section("Nothing due. Nice work: every account is within its cadence."))
    blocks.append(
        context(
            "`/account list overdue` · `/account list dormant` · "
            "`/account list at-risk` · `/account NAME` for one account"
        )
    )
    text = f"{rep_label}: {plural(summary.accounts, 'account')}, {summary.overdue:,} overdue"
    return {"blocks": finish(blocks), "text": fallback(text)}


# What an empty list says, per filter (see bot.retention.book.LIST_FILTERS).
EMPTY_LISTS = {
    "due": "Nothing is due today or overdue. 🎉",
    "overdue": "Nothing is overdue. 🎉",
    "dormant": "Every account has ordered in the last 6 months. 🎉",
    "at-risk": f"Nothing is at risk right now (health under {AT_RISK_BELOW}). 🎉",
    "declining": "No account is buying far less than before. 🎉",
    "single-threaded": "Every account has at least two contacts. 🎉",
    "all": "You have no accounts yet.",
}


def account_list(which: str, entries: Sequence[BookEntry], *, limit: int = 15) -> dict:
    title = f"{which.replace('-', ' ').capitalize()}: {plural(len(entries), 'account')}"
    if not entries:
        body = EMPTY_LISTS.get(which, "Nothing here right now. 🎉")
        return {"blocks": finish([section(f"*{title}*\n{body}")]), "text": fallback(title)}
    lines = [entry_line(entry) for entry in entries]
    blocks: list[Block] = [header(title), context(f"_{LIST_FILTERS[which]}_, most pressing first")]
    for chunk_start in range(0, min(len(lines), limit), 5):
        blocks.append(section("\n".join(lines[chunk_start : min(chunk_start + 5, limit)])))
    if len(entries) > limit:
        blocks.append(
            context(f"…and {len(entries) - limit:,} more. Use `rebuy` exports for the full list.")
        )
    return {"blocks": finish(blocks), "text": fallback(title)}


# --- report -----------------------------------------------------------------------------


def rebuy_fields(report: RecencyReport) -> list[MarkdownTextObject]:
    """The re-buy model's two numbers next to the recency questions (when it is shown)."""
    forecast = report.rebuy
    if forecast is None:
        return []
    return [
        _md(f"*{forecast.heading()}*\n{forecast.rebuyers_text()}"),
        _md(f"*Value at risk next quarter*\n{forecast.value_at_risk_text()}"),
    ]


def recency_report(report: RecencyReport, *, unowned: Unowned | None = None) -> dict:
    total = report.accounts or 1

    def share(count: int) -> str:
        return f"{count:,} ({count / total:.0%})"

    def group_line(group) -> str:
        if not group.accounts:
            return f"*{group.label}*: none"
        if group.median_last_order is None or group.median_days_since is None:
            return f"*{group.label}*: {plural(group.accounts, 'account')}, no orders yet"
        return (
            f"*{group.label}*: typically last bought {day_label(group.median_last_order)} "
            f"({plural(group.median_days_since, 'day')} ago)"
        )

    blocks: list[Block] = [
        header(f"Recency report · {day_label(report.as_of)}"),
        SectionBlock(
            fields=[
                _md(f"*Accounts*\n{report.accounts:,}"),
                _md(f"*Not bought in 6 months*\n{share(report.not_bought_6m)}"),
                _md(f"*Not bought in 12 months*\n{share(report.not_bought_12m)}"),
                _md(f"*Not bought in 18 months*\n{share(report.not_bought_18m)}"),
                _md(f"*Buying far less*\n{share(report.declining)}"),
                _md(f"*Never bought*\n{share(report.never_bought)}"),
                *rebuy_fields(report),
            ]
        ),
        section("\n".join(group_line(g) for g in (report.best, report.average, report.worst))),
    ]
    if report.segments:
        segs = " · ".join(f"{escape(name)} {count:,}" for name, count in report.segments.items())
        blocks.append(context(f"Segments: {segs}"))
    win_rates = report.extra.get("tactic_win_rates") if report.extra else None
    if win_rates:
        lines = [
            f"• {escape(row['title'])}: {row['wins']:,}/{row['touches']:,} re-bought "
            f"({row['win_rate']:.0%})"
            for row in win_rates[:8]
        ]
        blocks.append(
            section("*Tactics that bring rebuys* (re-order within 60 days)\n" + "\n".join(lines))
        )
    if unowned is not None and unowned.count:
        blocks.append(section(_unowned_line(unowned)))
    text = (
        f"Recency report: {report.not_bought_6m:,} of {report.accounts:,} accounts have not "
        "bought in 6 months"
    )
    return {"blocks": finish(blocks), "text": fallback(text)}


def _unowned_line(unowned: Unowned) -> str:
    """For admins: accounts without an owner, so imported accounts are not forgotten."""
    them = "it" if unowned.count == 1 else "them"
    more = unowned.count - len(unowned.names)
    names = ", ".join(escape(name) for name in unowned.names)
    if more > 0:
        names += f" and {more:,} more"
    return (
        f"*No owner* · {plural(unowned.count, 'account')}, so nobody is reminded of {them}: "
        f"{names}\nGive each a rep with `/account owner NAME rep@yourcompany.com`."
    )


# --- help and errors --------------------------------------------------------------------

HELP_LINES = [
    ("/account NAME", "status card: health, orders, touches, plan and tactics"),
    ("/account", "your book at a glance"),
    (
        "/account list [due|overdue|dormant|at-risk|declining|single-threaded|all]",
        "your accounts, filtered",
    ),
    (
        "/account log NAME [call|email|meeting|visit|other] [yesterday|2 days ago|Mon|3 Dec] "
        "[note…]",
        "log a touch (no kind: I ask)",
    ),
    ("/account snooze NAME 2w [reason…]", "push the next touch (1w, 2w, 10d, 1m or a date)"),
    ("/account plan NAME", "set the account plan"),
    ("/account cadence NAME 21", "days between touches for one account (`default`: the tier's)"),
    ("/account owner NAME rep@company.com", "hand the account to another rep"),
    (
        "/account away dec 24 to jan 2 [cover @ben]",
        "no reminders those days (`/account away` to see or end them)",
    ),
    ("/account holidays DE", "your public holidays (a country, or `US CA`; `default`)"),
    ("/account report", "who stopped buying, who buys less"),
    ("/account help", "this list"),
]


def help_message(intro: str | None = None) -> dict:
    lines = "\n".join(f"• `{usage}`: {what}" for usage, what in HELP_LINES)
    blocks: list[Block] = []
    if intro:
        blocks.append(section(intro))
    blocks.append(section(f"*What `/account` can do*\n{lines}"))
    blocks.append(
        context(
            "Add `share` at the end to post the answer in the channel. "
            "React to a reminder to log a touch: " + REACTION_HINT
        )
    )
    return {"blocks": finish(blocks), "text": fallback_mrkdwn(intro or "How to use /account")}


def notice(text: str) -> dict:
    """A short ephemeral line (errors, confirmations). `text` is mrkdwn, already safe."""
    return {"blocks": finish([section(text)]), "text": fallback_mrkdwn(text)}


# --- modals -----------------------------------------------------------------------------


def _metadata(**values) -> str:
    payload = json.dumps(values, separators=(",", ":"))
    if len(payload) > METADATA:
        raise ValueError("private_metadata too large")
    return payload


def read_metadata(view: dict) -> dict:
    try:
        return json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}


def log_touch_modal(
    *, account_id: int, account_name: str, today: date, kind: str = "call", **metadata
) -> dict:
    kinds = [option(f"{KIND_EMOJI[k]} {k.capitalize()}", k) for k in TOUCH_KINDS]
    view = View(
        type="modal",
        callback_id=LOG_MODAL,
        title=_plain("Log a touch", VIEW_TITLE),
        submit=_plain("Log it", VIEW_TITLE),
        close=_plain("Cancel", VIEW_TITLE),
        private_metadata=_metadata(account_id=account_id, **metadata),
        blocks=[
            section(f"*{escape(account_name)}*"),
            InputBlock(
                block_id="kind",
                label=_plain("What kind of touch?", 2000),
                element=StaticSelectElement(
                    action_id="value", options=kinds, initial_option=kinds[TOUCH_KINDS.index(kind)]
                ),
            ),
            InputBlock(
                block_id="date",
                label=_plain("When?", 2000),
                element=DatePickerElement(action_id="value", initial_date=today.isoformat()),
            ),
            InputBlock(
                block_id="note",
                label=_plain("Note", 2000),
                optional=True,
                element=PlainTextInputElement(
                    action_id="value",
                    multiline=True,
                    max_length=2000,
                    placeholder=_plain("What did you learn?", 150),
                ),
            ),
        ],
    )
    return view.to_dict()


SNOOZE_CHOICES = (("1w", "1 week"), ("2w", "2 weeks"), ("4w", "4 weeks"))


def snooze_modal(*, account_id: int, account_name: str, **metadata) -> dict:
    choices = [option(label, value) for value, label in SNOOZE_CHOICES]
    view = View(
        type="modal",
        callback_id=SNOOZE_MODAL,
        title=_plain("Snooze", VIEW_TITLE),
        submit=_plain("Snooze", VIEW_TITLE),
        close=_plain("Cancel", VIEW_TITLE),
        private_metadata=_metadata(account_id=account_id, **metadata),
        blocks=[
            section(f"Push the next touch for *{escape(account_name)}* back."),
            InputBlock(
                block_id="length",
                label=_plain("For how long?", 2000),
                element=RadioButtonsElement(
                    action_id="value", options=choices, initial_option=choices[1]
                ),
            ),
            InputBlock(
                block_id="reason",
                label=_plain("Why? (optional)", 2000),
                optional=True,
                element=PlainTextInputElement(
                    action_id="value",
                    max_length=500,
                    placeholder=_plain("e.g. buyer on leave", 150),
                ),
            ),
        ],
    )
    return view.to_dict()


def plan_modal(
    *,
    account_id: int,
    account_name: str,
    today: date,
    tactics: Iterable[Tactic],
    current_state: str = "",
    target_state: str = "",
    horizon: date | None = None,
    chosen: Sequence[str] = (),
) -> dict:
    tactic_list = list(tactics)[:100]
    options = [option(t.title, t.id) for t in tactic_list]
    initial = [o for o in options if o.value in set(chosen)]
    horizon = horizon or today + timedelta(days=120)
    view = View(
        type="modal",
        callback_id=PLAN_MODAL,
        title=_plain("Account plan", VIEW_TITLE),
        submit=_plain("Save plan", VIEW_TITLE),
        close=_plain("Cancel", VIEW_TITLE),
        private_metadata=_metadata(account_id=account_id),
        blocks=[
            section(
                f"*{escape(account_name)}*: where is it now, where should it be in 3–5 "
                "months, and how will you get there?"
            ),
            InputBlock(
                block_id="current_state",
                label=_plain("From: where we are", 2000),
                element=PlainTextInputElement(
                    action_id="value",
                    multiline=True,
                    max_length=1000,
                    initial_value=current_state or None,
                    placeholder=_plain("e.g. one product line, about $20k a quarter", 150),
                ),
            ),
            InputBlock(
                block_id="target_state",
                label=_plain("To: where we want to be", 2000),
                element=PlainTextInputElement(
                    action_id="value",
                    multiline=True,
                    max_length=1000,
                    initial_value=target_state or None,
                    placeholder=_plain("e.g. two product lines, $35k a quarter", 150),
                ),
            ),
            InputBlock(
                block_id="horizon",
                label=_plain("By when (3–5 months ahead)", 2000),
                element=DatePickerElement(action_id="value", initial_date=horizon.isoformat()),
            ),
            InputBlock(
                block_id="tactics",
                label=_plain("Tactics", 2000),
                optional=True,
                element=_multi_select(options, initial),
            ),
        ],
    )
    return view.to_dict()


def _multi_select(options: list[Option], initial: list[Option]):
    from slack_sdk.models.blocks import StaticMultiSelectElement

    return StaticMultiSelectElement(
        action_id="value",
        options=options,
        initial_options=initial or None,
        placeholder=_plain("Pick the tactics you will use", 150),
    )


# --- App Home -----------------------------------------------------------------------------


def home(
    *,
    rep_label: str,
    summary: BookSummary | None,
    due: Sequence[BookEntry],
    overdue: Sequence[BookEntry],
    dormant: Sequence[BookEntry],
    at_risk: Sequence[BookEntry],
    streak: int,
    board: Sequence[LeaderboardRow],
    unknown_rep: bool = False,
    away: Sequence[Block] = (),
) -> dict:
    blocks: list[Block] = [header(f"Rebuy · {rep_label}"), *away]
    if unknown_rep:
        blocks.append(
            section(
                "I don't know your accounts yet. Ask your sales-ops admin to import accounts with "
                "your e-mail as `owner_email`, then run `rebuy reps sync`."
            )
        )
    else:
        flame = "🔥" if streak >= 3 else "✨"
        # A zero streak is an invitation, never "Streak: 0 working days".
        streak_line = (
            f"Streak: *{streak:,}* {plural(streak, 'working day').split(' ', 1)[1]} in a row "
            "with a touch"
            if streak > 0
            else streak_text(streak)
        )
        blocks.append(
            context(
                f"{flame} {streak_line} · "
                f"{plural(summary.accounts if summary else 0, 'account')} in your book"
            )
        )

        def part(title: str, entries: Sequence[BookEntry], empty: str) -> None:
            blocks.append(DividerBlock())
            if not entries:
                blocks.append(section(f"*{title}*\n{empty}"))
                return
            blocks.append(section(f"*{title}* ({len(entries):,})"))
            for entry in entries[:5]:
                blocks.append(
                    section(
                        entry_line(entry),
                        accessory=button("Log a touch", LOG_TOUCH, str(entry.facts.id)),
                    )
                )
            if len(entries) > 5:
                blocks.append(context(f"…and {len(entries) - 5:,} more"))

        # Most urgent heading first; each account is listed under one heading only.
        part("At risk", at_risk, "No account is at risk.")
        part("Dormant", dormant, "No other account has gone quiet for 6 months.")
        part("Overdue", overdue, "Nothing else overdue. 🎉")
        part("Due today", due, "Nothing else due today.")
    blocks.append(DividerBlock())
    if board:
        medals = ["🥇", "🥈", "🥉"]
        lines = [
            f"{medals[i] if i < 3 else f'{i + 1}.'} "
            f"{user_ref(row.slack_user_id, row.rep_name or row.rep_email)}: "
            f"{plural(row.touches, 'touch', 'touches')} on {plural(row.accounts, 'account')}"
            for i, row in enumerate(board)
        ]
        blocks.append(section("*Team leaderboard* (last 7 days)\n" + "\n".join(lines)))
    else:
        blocks.append(section("*Team leaderboard*\nNo touches logged this week yet."))
    return View(type="home", blocks=finish(blocks, limit=VIEW_BLOCKS)).to_dict()


# --- reminders ----------------------------------------------------------------------------


def good_morning(rep_name: str | None) -> str:
    """ "Good morning, Ana!" (just "Good morning!" when we don't know a first name)."""
    first = (rep_name or "").split()
    return f"Good morning, {escape(first[0])}!" if first else "Good morning!"


def reminder_header(*, count: int, more: int, rep_name: str | None) -> dict:
    greeting = good_morning(rep_name)
    needs = "accounts need" if count != 1 else "account needs"
    extra = f" ({more:,} more due: `/account list due`)" if more else ""
    text = f"{greeting} {count:,} {needs} you today{extra}."
    return {
        "blocks": finish([section(text), context(REACTION_HINT)]),
        "text": fallback_mrkdwn(text),
    }


def all_caught_up(*, rep_name: str | None) -> dict:
    text = f"{good_morning(rep_name)} All caught up: no account is due this week so far. ☕"
    return {"blocks": finish([section(text)]), "text": fallback_mrkdwn(text)}


def reminder_account(item: DueAccount, *, acknowledgements: Sequence[str] = ()) -> dict:
    facts, schedule = item.facts, item.schedule
    when = (
        f"{plural(schedule.days_overdue, 'day')} overdue" if schedule.days_overdue else "due today"
    )
    value = f" · {money(facts.value)} a year" if facts.value else ""
    why = "\n".join(f"• {escape(reason)}" for reason in item.why[:3])
    blocks: list[Block] = [section(f"*{escape(facts.name)}* · {when}{value}\n{why}")]
    if item.tactic:
        blocks.append(
            section(f"💡 *{escape(item.tactic.tactic.title)}*: {escape(item.tactic.why)}")
        )
    value_id = str(facts.id)
    blocks.append(
        ActionsBlock(
            block_id=f"reminder_actions:{value_id}",
            elements=[
                button("Log a touch", LOG_TOUCH, value_id, style="primary"),
                button("Snooze", SNOOZE, value_id),
                button("Details", SHOW_ACCOUNT, value_id),
            ],
        )
    )
    for line in acknowledgements:
        blocks.append(context(line))
    text = f"{facts.name}: {when}. {item.why[0] if item.why else ''}"
    return {"blocks": finish(blocks), "text": fallback(text)}


def finish_dicts(raw: Sequence[dict], *, limit: int = MESSAGE_BLOCKS) -> list[dict]:
    """Like `finish`, for blocks already stored as dicts (e.g. a reminder being re-rendered)."""
    raw = list(raw)
    if len(raw) > limit:
        raw = [*raw[: limit - 1], context(f"…and {len(raw) - limit + 1:,} more.").to_dict()]
    return raw


# --- weekly digest ------------------------------------------------------------------------

from bot.retention.digest import WeeklyDigest  # noqa: E402  (this section is appended)

DIGEST_REP_LINES = 45  # three sections of 15: the reps with the lowest coverage first
DIGEST_ACCOUNT_LINES = 10
DIGEST_CHUNK = 15


def _coverage_emoji(share: float) -> str:
    return "🟢" if share >= 0.9 else "🟡" if share >= 0.7 else "🔴"


def weekly_digest(digest: WeeklyDigest) -> dict:
    """The manager's Monday message: coverage and touches per rep, accounts newly at risk,
    shout-outs for rebuys after a touch, and which tactics win."""
    blocks: list[Block] = [
        header(f"Rebuy weekly digest · week of {day_label(digest.week_start)}"),
        section(
            f"{_coverage_emoji(digest.coverage)} *Team coverage {digest.coverage:.0%}*: "
            f"{digest.covered:,} of {digest.accounts:,} accounts touched within cadence · "
            f"{digest.touches:,} touches in the last 7 days"
        ),
    ]
    if digest.reps:
        lines = [
            f"{_coverage_emoji(rep.coverage)} {user_ref(rep.slack_user_id, rep.name or rep.email)}"
            f": {rep.coverage:.0%} covered ({rep.covered:,}/{rep.accounts:,}) · "
            f"{plural(rep.touches, 'touch', 'touches')}"
            for rep in digest.reps
        ]
        shown = lines[:DIGEST_REP_LINES]
        blocks.append(DividerBlock())
        for start in range(0, len(shown), DIGEST_CHUNK):
            title = "*Coverage and touches per rep* (lowest coverage first)\n" if not start else ""
            blocks.append(section(title + "\n".join(shown[start : start + DIGEST_CHUNK])))
        if len(lines) > len(shown):
            blocks.append(context(f"…and {len(lines) - len(shown):,} more reps"))

    blocks.append(DividerBlock())
    if digest.newly_at_risk:
        lines = [
            f"🔴 *{escape(cut(item.name, 80))}* ({item.was} → {item.health}) · "
            f"{user_ref(item.owner_slack_user_id, item.owner_email)}\n"
            f"      _{escape(cut(item.reason, 160))}_"
            for item in digest.newly_at_risk
        ]
        blocks.append(
            section(
                f"*Newly at risk this week* ({len(lines):,})\n"
                + bullet_list(lines, limit=DIGEST_ACCOUNT_LINES, more_label="more")
            )
        )
    else:
        blocks.append(section("*Newly at risk this week*\nNo account slipped into risk. 🎉"))

    if digest.shout_outs:
        lines = []
        for row in digest.shout_outs[:DIGEST_ACCOUNT_LINES]:
            names = ", ".join(escape(cut(name, 60)) for name in row.accounts[:3])
            extra = f" and {len(row.accounts) - 3:,} more" if len(row.accounts) > 3 else ""
            lines.append(
                f"🎉 {user_ref(row.slack_user_id, row.name or row.email)}: {names}{extra} "
                f"re-bought ({money(row.amount)}) after a touch"
            )
        if len(digest.shout_outs) > DIGEST_ACCOUNT_LINES:
            lines.append(f"…and {len(digest.shout_outs) - DIGEST_ACCOUNT_LINES:,} more reps")
        blocks.append(
            section(
                "*Shout-outs* (orders this week within 60 days of a touch)\n" + "\n".join(lines)
            )
        )

    if digest.tactic_win_rates:
        lines = [
            f"• {escape(row['title'])}: {row['wins']:,}/{row['touches']:,} re-bought "
            f"({row['win_rate']:.0%})"
            for row in digest.tactic_win_rates[:8]
        ]
        blocks.append(
            section("*Tactics that bring rebuys* (re-order within 60 days)\n" + "\n".join(lines))
        )
    text = (
        f"Rebuy weekly digest: team coverage {digest.coverage:.0%}, "
        f"{plural(digest.touches, 'touch', 'touches')}, "
        f"{plural(len(digest.newly_at_risk), 'account')} newly at risk"
    )
    return {"blocks": finish(blocks), "text": fallback(text)}
