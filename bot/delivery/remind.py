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
from bot.delivery.reconcile import Backoff
from bot.delivery.sweep import DueLists, SweepResult, due_lists, reps_text, run_sweep
from bot.retention.dates import day_label
from bot.retention.errors import InvalidInput
from bot.runtime import Runtime
from bot.slack_client import check_credentials, make_web_client

log = logging.getLogger(__name__)


def require_token(runtime: Runtime, why: str) -> None:
    """InvalidInput saying `why` the bot token is needed, when it is not set."""
    if not runtime.settings.slack_bot_token:
        raise InvalidInput(f"SLACK_BOT_TOKEN is not set: {why}")
    check_credentials(runtime.settings, "SLACK_BOT_TOKEN")


def remind_now(
    runtime: Runtime,
    *,
    rep_email: str | None = None,
    echo: Callable[[str], None] = print,
    client: WebClient | None = None,
    backoff: Backoff | None = None,
) -> SweepResult:
    """`rebuy remind`: today's reminders now for every rep inside their morning window on
    a working day with accounts due (or just `rep_email`). A second run the same day
    sends nothing; `result.complete` says whether every due rep got their whole set."""
    require_token(
        runtime,
        "reminders are sent as the Rebuy bot. Use `rebuy remind --dry-run` to see them "
        "without Slack.",
    )
    client = client or make_web_client(runtime.settings, only_rate_limits=True)
    return run_sweep(
        runtime,
        client,
        force=True,
        rep_email=rep_email,
        instance_id=f"cli:{default_instance_id()}",
        echo=echo,
        backoff=backoff,
    )


def send_reminders_now(
    runtime: Runtime,
    *,
    rep_email: str | None = None,
    echo: Callable[[str], None] = print,
    client: WebClient | None = None,
    dry_run: bool = False,
) -> str:
    """`remind_now` (or, with `dry_run`, `preview_reminders`) as the summary it prints."""
    if dry_run:
        return preview_reminders(runtime, rep_email=rep_email, echo=echo)
    return str(remind_now(runtime, rep_email=rep_email, echo=echo, client=client))


def preview_reminders(
    runtime: Runtime, *, rep_email: str | None = None, echo: Callable[[str], None] = print
) -> str:
    """Print what `rebuy remind` would send to each rep, message by message."""
    now = runtime.now()
    with runtime.db.session() as session:
        plan = plan_sweep(session=session, now=now, settings=runtime.settings, rep_email=rep_email)
    lists = due_lists(runtime, plan.targets, now) if plan.targets else DueLists()
    shown = 0
    for target in plan.targets:
        items = lists.due.get(target.rep_id, [])
        if not items:
            continue
        drafts = compose(
            items,
            more=lists.more.get(target.rep_id, 0),
            rep_name=target.name,
            monday=target.local_date.weekday() == 0,
            local_time=target.local_time,
            covered=lists.covered.get(target.rep_id),
            covering=target.covering,
            back_from=target.back_from,
        )
        shown += 1
        day = day_label(target.local_date, weekday=True)
        echo(f"── To {target.email} (<@{target.slack_user_id}>, {day}) ──")
        for draft in drafts:
            echo(message_preview(draft.blocks))
            echo("")
    result = SweepResult(plan=plan, nothing_due=len(plan.targets) - shown)
    summary = str(result).replace("No reminders sent.", "")
    return f"Dry run: nothing sent. Would remind {reps_text(shown)}. {summary}".strip()


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
