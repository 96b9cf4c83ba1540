"""Choosing an account: the pick list shown when several accounts fit what the rep typed
(or none, with suggestions), and the compact JSON a pick-list button carries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.messages.format import QUERY_SHOWN, day_label, with_article
from bot.messages.ids import Action, BlockId
from bot.messages.kit import BUTTON_VALUE, button, context, cut, escape, message, section

PICK_BUTTONS = 25  # an actions block holds at most 25 elements


def quoted(query: str) -> str:
    """What the rep typed, quoted back: “acme”."""
    return f"“{escape(cut(query.strip(), QUERY_SHOWN))}”"


def _intro(quoted_query: str, *, ambiguous: bool, shown: int, total: int, any_: bool) -> str:
    if ambiguous and total > shown:
        return (
            f"{quoted_query} matches {total:,} accounts; here are the first {shown}. "
            "Type more of the name or the CRM id to narrow it down."
        )
    if ambiguous:
        return f"{quoted_query} matches {total:,} accounts. Which one did you mean?"
    if any_:
        return f"No account matches {quoted_query}. Did you mean one of these?"
    return (
        f"No account matches {quoted_query}. Check the spelling, or try part of the "
        "name or the CRM id. `/account help` lists what I can do."
    )


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
    shown = list(candidates[:PICK_BUTTONS])
    total = max(total or 0, len(candidates))
    intro = _intro(
        quoted(query), ambiguous=ambiguous, shown=len(shown), total=total, any_=bool(candidates)
    )
    blocks: list[Block] = [section(intro)]
    if pending is None:
        buttons = [
            button(name, Action.SHOW_ACCOUNT.numbered(account_id), str(account_id))
            for account_id, name in shown
        ]
    else:
        buttons = [
            button(name, Action.PICK_ACCOUNT.numbered(account_id), pick_value(account_id, pending))
            for account_id, name in shown
        ]
    if buttons:
        blocks.append(ActionsBlock(block_id=BlockId.ACCOUNT_PICK, elements=buttons))
        if pending is not None:
            blocks.append(context(f"Choose one and I'll {pending_label(pending)}."))
    return message(blocks, intro, mrkdwn=True)


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


def compact(payload: dict) -> str:
    """JSON without spaces, for a button's value."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _slack_length(text: str) -> int:
    """Length as Slack may count it (UTF-16 code units), never less than `len`."""
    return len(text.encode("utf-16-le")) // 2


def _longest_fit(payload: dict, field: str, text: str, limit: int) -> str:
    """The most whole characters of `text` that fit, ending "…" (JSON escapes make some
    characters longer)."""
    low, high = 0, len(text)
    while low < high:
        keep = (low + high + 1) // 2
        trial = compact({**payload, field: text[:keep] + "…"})
        low, high = (keep, high) if _slack_length(trial) <= limit else (low, keep - 1)
    return text[:low] + "…"


def pick_value(account_id: int, pending: dict, *, limit: int = BUTTON_VALUE) -> str:
    """A pick-list button's value: compact JSON of the account and the pending action,
    e.g. {"id":7,"do":"log","kind":"call","note":"…"}. A long note or reason is
    shortened (whole characters, ending "…") so the value stays under Slack's limit."""
    payload = {"id": account_id, **{k: v for k, v in pending.items() if v is not None}}
    value = compact(payload)
    if _slack_length(value) <= limit:
        return value
    payload["cut"] = 1  # so the confirmation can say the note was shortened
    for field in ("note", "reason"):
        text = payload.get(field)
        if text and _slack_length(compact(payload)) > limit:
            payload[field] = _longest_fit(payload, field, text, limit)
    value = compact(payload)
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
