"""The manager's Monday message: coverage and touches per rep, accounts newly at risk,
shout-outs for rebuys after a touch, and which tactics win."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk.models.blocks import Block, DividerBlock

from bot.messages.format import (
    DIGEST_NAME_SHOWN,
    REASON_SHOWN,
    SHOUT_OUT_NAME_SHOWN,
    money,
    percent,
    plural,
    span_label,
)
from bot.messages.kit import bullet_list, context, cut, escape, header, message, section, user_ref
from bot.messages.report import tactic_lines
from bot.retention.results import AtRiskAccount, WeeklyDigest

WEEK = timedelta(days=7)

DIGEST_REP_LINES = 45  # three sections of 15: the reps with the lowest coverage first
DIGEST_ACCOUNT_LINES = 10
DIGEST_CHUNK = 15
NAMES_PER_SHOUT_OUT = 3


def _coverage_emoji(share: float) -> str:
    return "🟢" if share >= 0.9 else "🟡" if share >= 0.7 else "🔴"


def _reps(digest: WeeklyDigest) -> list[Block]:
    if not digest.reps:
        return []
    lines = [
        f"{_coverage_emoji(rep.coverage)} {user_ref(rep.slack_user_id, rep.name or rep.email)}"
        f": {percent(rep.coverage)} covered ({rep.covered:,}/{rep.accounts:,}) · "
        f"{plural(rep.touches, 'touch', 'touches')}"
        for rep in digest.reps
    ]
    shown = lines[:DIGEST_REP_LINES]
    blocks: list[Block] = [DividerBlock()]
    for start in range(0, len(shown), DIGEST_CHUNK):
        title = "*Coverage and touches per rep* (lowest coverage first)\n" if not start else ""
        blocks.append(section(title + "\n".join(shown[start : start + DIGEST_CHUNK])))
    if len(lines) > len(shown):
        blocks.append(context(f"…and {len(lines) - len(shown):,} more reps"))
    return blocks


def _owner(item: AtRiskAccount) -> str:
    """The owner's mention, or "no active owner" (never "someone": nobody owns it)."""
    if item.owner_email is None:
        return "_no active owner_"
    return user_ref(item.owner_slack_user_id, item.owner_email)


def _newly_at_risk(digest: WeeklyDigest) -> Block:
    if not digest.newly_at_risk:
        return section("*Newly at risk in the last 7 days*\nNo account slipped into risk. 🎉")
    lines = [
        f"🔴 *{escape(cut(item.name, DIGEST_NAME_SHOWN))}* ({item.was} → {item.health}) · "
        f"{_owner(item)}\n"
        f"      _{escape(cut(item.reason, REASON_SHOWN))}_"
        for item in digest.newly_at_risk
    ]
    return section(
        f"*Newly at risk in the last 7 days* ({len(lines):,})\n"
        + bullet_list(lines, limit=DIGEST_ACCOUNT_LINES, more_label="more")
    )


def _shout_outs(digest: WeeklyDigest) -> list[Block]:
    if not digest.shout_outs:
        return []
    lines = []
    for row in digest.shout_outs[:DIGEST_ACCOUNT_LINES]:
        names = ", ".join(
            escape(cut(name, SHOUT_OUT_NAME_SHOWN)) for name in row.accounts[:NAMES_PER_SHOUT_OUT]
        )
        rest = len(row.accounts) - NAMES_PER_SHOUT_OUT
        extra = f" and {rest:,} more" if rest > 0 else ""
        lines.append(
            f"🎉 {user_ref(row.slack_user_id, row.name or row.email)}: {names}{extra} "
            f"re-bought ({money(row.amount)}) after a touch"
        )
    if len(digest.shout_outs) > DIGEST_ACCOUNT_LINES:
        lines.append(f"…and {len(digest.shout_outs) - DIGEST_ACCOUNT_LINES:,} more reps")
    return [
        section(
            "*Shout-outs* (orders in the last 7 days within 60 days of a touch by the owner)\n"
            + "\n".join(lines)
        )
    ]


def _team_line(digest: WeeklyDigest) -> str:
    touches = f"{plural(digest.touches, 'touch', 'touches')} in the last 7 days"
    if not digest.accounts:
        return f"*No accounts yet*: nothing to cover · {touches}"
    line = (
        f"{_coverage_emoji(digest.coverage)} *Team coverage {percent(digest.coverage)}*: "
        f"{digest.covered:,} of {plural(digest.accounts, 'account')} touched within cadence"
    )
    if digest.ownerless:
        line += (
            f" (of them, {plural(digest.ownerless, 'account')} with no active owner: "
            f"{digest.ownerless_covered:,} touched within cadence)"
        )
    return f"{line} · {touches}"


def weekly_digest(digest: WeeklyDigest) -> dict:
    """The manager's Monday message: coverage and touches per rep, accounts newly at risk,
    shout-outs for rebuys after a touch, and which tactics win."""
    blocks: list[Block] = [
        # The figures are for the 7 days up to the posting (Monday to Monday).
        header(f"Rebuy weekly digest · {span_label(digest.as_of - WEEK, digest.as_of)}"),
        section(_team_line(digest)),
        *_reps(digest),
        DividerBlock(),
        _newly_at_risk(digest),
        *_shout_outs(digest),
    ]
    if digest.tactic_win_rates:
        blocks.append(section(tactic_lines(digest.tactic_win_rates)))
    coverage = f"team coverage {percent(digest.coverage)}" if digest.accounts else "no accounts"
    text = (
        f"Rebuy weekly digest: {coverage}, "
        f"{plural(digest.touches, 'touch', 'touches')}, "
        f"{plural(len(digest.newly_at_risk), 'account')} newly at risk"
    )
    return message(blocks, text)
