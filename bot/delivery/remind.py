"""`rebuy remind`: today's reminders now, or a preview of them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from slack_sdk import WebClient

from bot.delivery.common import (
    default_instance_id,
)
from bot.delivery.compose import compose
from bot.delivery.plan import plan_sweep
from bot.delivery.sweep import SweepResult, _due_lists, _reps, run_sweep
from bot.retention.errors import InvalidInput
from bot.runtime import Runtime
from bot.slack_client import make_web_client

log = logging.getLogger(__name__)

# --- the command line -------------------------------------------------------------------------


def _require_token(runtime: Runtime, why: str) -> None:
    if not runtime.settings.slack_bot_token:
        raise InvalidInput(f"SLACK_BOT_TOKEN is not set: {why}")


def send_reminders_now(
    runtime: Runtime,
    *,
    rep_email: str | None = None,
    echo: Callable[[str], None] = print,
    client: WebClient | None = None,
    dry_run: bool = False,
) -> str:
    """`rebuy remind`: today's reminders now, whatever the hour, for every rep with accounts
    due (or just `rep_email`). A second run the same day sends nothing. With `dry_run`,
    print the messages instead: no claim, no Slack."""
    if dry_run:
        return preview_reminders(runtime, rep_email=rep_email, echo=echo)
    _require_token(
        runtime,
        "reminders are sent as the Rebuy bot. Use `rebuy remind --dry-run` to see them "
        "without Slack.",
    )
    client = client or make_web_client(runtime.settings, only_rate_limits=True)
    result = run_sweep(
        runtime,
        client,
        force=True,
        rep_email=rep_email,
        instance_id=f"cli:{default_instance_id()}",
        echo=echo,
    )
    return str(result)


def preview_reminders(
    runtime: Runtime, *, rep_email: str | None = None, echo: Callable[[str], None] = print
) -> str:
    """Print what `rebuy remind` would send to each rep, message by message."""
    now = runtime.now()
    with runtime.db.session() as session:
        plan = plan_sweep(
            session=session,
            now=now,
            reminder_time=runtime.settings.reminder_time,
            force=True,
            rep_email=rep_email,
        )
    due, more = _due_lists(runtime, plan.targets, now) if plan.targets else ({}, {})
    shown = 0
    for target in plan.targets:
        items = due.get(target.rep_id, [])
        if not items:
            continue
        drafts = compose(
            items,
            more=more.get(target.rep_id, 0),
            rep_name=target.name,
            monday=target.local_date.weekday() == 0,
        )
        shown += 1
        echo(f"── To {target.email} (<@{target.slack_user_id}>, {target.local_date}) ──")
        for draft in drafts:
            echo(message_preview(draft.blocks))
            echo("")
    result = SweepResult(plan=plan, nothing_due=len(plan.targets) - shown)
    summary = str(result).replace("No reminders sent.", "")
    return f"Dry run: nothing sent. Would remind {_reps(shown)}. {summary}".strip()


def message_preview(message_blocks: Iterable[dict]) -> str:
    """A message's blocks as plain lines (sections, context, buttons)."""
    lines = []
    for block in message_blocks:
        kind = block.get("type")
        if kind in ("section", "header") and block.get("text"):
            lines.append(block["text"]["text"])
        elif kind == "context":
            lines.append("  ".join(element.get("text", "") for element in block["elements"]))
        elif kind == "actions":
            labels = [element["text"]["text"] for element in block["elements"] if "text" in element]
            lines.append("  ".join(f"[{label}]" for label in labels))
    return "\n".join(lines)
