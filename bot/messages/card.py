"""The status card (`/account NAME`, the Details button): health, the re-buy outlook,
orders, touches, the next touch, contacts, the plan and the tactics to try next."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock, SectionBlock

from bot.messages.format import (
    BAND_EMOJI,
    KIND_EMOJI,
    NAME_SHOWN,
    NOTE_SHOWN,
    OUTLOOK_EMOJI,
    PLAN_SHOWN,
    day_label,
    money,
    plural,
)
from bot.messages.ids import Action, BlockId
from bot.messages.kit import (
    bullet_list,
    button,
    context,
    cut,
    escape,
    header,
    md,
    message,
    section,
    user_ref,
)
from bot.retention.card import OWNER_LEFT, AccountStatus
from bot.retention.results import Outlook

CONTACTS_SHOWN = 6
REASONS_SHOWN = 8


def account_buttons(account_id: int) -> ActionsBlock:
    value = str(account_id)
    return ActionsBlock(
        block_id=BlockId.ACCOUNT_ACTIONS.of(value),
        elements=[
            button("Log a touch", Action.LOG_TOUCH, value, style="primary"),
            button("Snooze", Action.SNOOZE, value),
            button("Edit plan", Action.EDIT_PLAN, value),
        ],
    )


def outlook_section(outlook: Outlook) -> SectionBlock:
    """The re-buy model's line: the chance of an order, and the value when known."""
    value = outlook.value_text()
    return section(
        f"{OUTLOOK_EMOJI[outlook.band]} *{outlook.chance_text()}* ({outlook.band})"
        + (f"\n{value.capitalize()}" if value else "")
    )


def _owner(status: AccountStatus) -> str:
    if not (status.owner_slack_user_id or status.owner_name or status.owner_email):
        return "_no owner_"
    who = user_ref(status.owner_slack_user_id, status.owner_name or status.owner_email)
    return who if status.owner_active else f"{who} ({OWNER_LEFT})"


def _last_order(status: AccountStatus) -> str:
    facts = status.facts
    if not facts.last_order_at:
        if facts.other_rows_text:  # credits or free samples only: say what is on record
            return f"None on record ({facts.other_rows_text}, {money(facts.total_value)} in all)"
        return "None on record"
    amount = f" ({money(status.last_order_amount)})" if status.last_order_amount else ""
    return (
        f"{day_label(facts.last_order_at.date())}{amount}\n"
        f"{facts.orders_text}, {money(facts.total_value)} in all"
    )


def _last_touch(status: AccountStatus) -> str:
    touch = status.last_touch
    if not touch:
        return "Never logged"
    by = user_ref(touch.by_slack_user_id, touch.by)
    text = f"{KIND_EMOJI.get(touch.kind, '')} {touch.kind} by {by}, {day_label(touch.at.date())}"
    if touch.note:
        text += f"\n_“{escape(cut(touch.note, NOTE_SHOWN))}”_"
    return text


def _next_touch(status: AccountStatus) -> str:
    schedule = status.schedule
    due = day_label(schedule.next_touch_due)
    if schedule.days_overdue:
        due = f"*{due}* ({plural(schedule.days_overdue, 'working day')} overdue)"
    elif schedule.next_touch_due == status.as_of:
        due = f"*Today* ({due})"
    if schedule.snoozed_until:
        due += " 💤 snoozed"
    return f"{due}\nevery {plural(schedule.cadence_days, 'day')}"


def _contacts(status: AccountStatus) -> SectionBlock:
    if not status.contacts:
        return section(
            "*Contacts*\n⚠️ *No contact on file*: nobody there to call. Who should know you?"
        )
    people = [
        f"• {escape(cut(p.name, NAME_SHOWN))}"
        + (f", {escape(cut(p.title, NAME_SHOWN))}" if p.title else "")
        for p in status.contacts
    ]
    warn = "\n⚠️ *Single-threaded*: add a second contact." if status.single_threaded else ""
    return section(f"*Contacts*\n{bullet_list(people, limit=CONTACTS_SHOWN)}{warn}")


def _plan(status: AccountStatus) -> SectionBlock:
    plan = status.plan
    if not plan:
        return section("*Plan*\nNo plan yet. Where should this account be in 3–5 months?")
    return section(
        f"*Plan* (by {day_label(plan.horizon)})\n"
        f"From: {escape(cut(plan.current_state, PLAN_SHOWN))}\n"
        f"To: {escape(cut(plan.target_state, PLAN_SHOWN))}"
    )


def _tactics(status: AccountStatus) -> list[Block]:
    if not status.tactics:
        return []
    lines = [
        f"*{number}. {escape(pick.tactic.title)}*\n_{escape(pick.why)}_\n"
        f"{escape(pick.tactic.how_to)}"
        for number, pick in enumerate(status.tactics, 1)
    ]
    return [DividerBlock(), section("💡 *Try next*\n" + "\n\n".join(lines))]


def status_card(status: AccountStatus) -> dict:
    """The `/account NAME` reply: blocks plus fallback text."""
    schedule, health = status.schedule, status.health
    value = f" · {money(status.annual_value)} a year" if status.annual_value else ""
    reasons = "\n".join(f"• {escape(reason)}" for reason in health.reasons[:REASONS_SHOWN])
    blocks: list[Block] = [
        header(f"{status.name}"),
        context(
            f"CRM id `{escape(status.external_id)}` · owner {_owner(status)} · tier "
            f"*{escape(status.tier)}*{value}"
        ),
        section(
            f"{BAND_EMOJI[health.band]} *Health {health.score}/100* ({health.band})\n{reasons}"
        ),
    ]
    if status.outlook is not None:
        blocks.append(outlook_section(status.outlook))
    rfm = status.rfm  # the scores stay in --json; a rep reads the segment in words
    blocks.append(
        SectionBlock(
            fields=[
                md(f"*Last order*\n{_last_order(status)}"),
                md(f"*Last touch*\n{_last_touch(status)}"),
                md(f"*Next touch*\n{_next_touch(status)}"),
                md(f"*Segment*\n{escape(rfm.segment)}\n_{status.segment_meaning}_"),
            ]
        )
    )
    blocks += [_contacts(status), _plan(status), *_tactics(status), account_buttons(status.id)]
    text = (
        f"{status.name}: health {health.score}/100, next touch {day_label(schedule.next_touch_due)}"
    )
    return message(blocks, text)
