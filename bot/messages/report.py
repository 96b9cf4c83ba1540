"""`/account report`: who stopped buying, who buys less, the re-buy model's forecast,
the tactics that bring rebuys, and (for admins) the accounts nobody owns."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.messages.format import day_label, percent, plural
from bot.messages.kit import context, escape, header, md, message, section
from bot.retention.report_result import RecencyReport, Unowned

TACTICS_SHOWN = 8


def tactic_lines(rows: Sequence[dict]) -> str:
    """ "*Tactics that bring rebuys*" with one line per tactic: wins, touches, rate."""
    lines = [
        f"• {escape(row['title'])}: {row['wins']:,}/{row['touches']:,} re-bought "
        f"({percent(row['win_rate'])})"
        for row in rows[:TACTICS_SHOWN]
    ]
    return "*Tactics that bring rebuys* (re-order within 60 days)\n" + "\n".join(lines)


def rebuy_fields(report: RecencyReport) -> list[MarkdownTextObject]:
    """The re-buy model's two numbers next to the recency questions (when it is shown)."""
    forecast = report.rebuy
    if forecast is None:
        return []
    return [
        md(f"*{forecast.heading()}*\n{forecast.rebuyers_text()}"),
        md(f"*Value at risk next quarter*\n{forecast.value_at_risk_text()}"),
    ]


def _group_line(group) -> str:
    if not group.accounts:
        return f"*{group.label}*: none"
    if group.median_last_order is None or group.median_days_since is None:
        return f"*{group.label}*: {plural(group.accounts, 'account')}, no orders yet"
    return (
        f"*{group.label}*: typically last bought {day_label(group.median_last_order)} "
        f"({plural(group.median_days_since, 'day')} ago)"
    )


def recency_report(report: RecencyReport, *, unowned: Unowned | None = None) -> dict:
    total = report.accounts or 1

    def share(count: int) -> str:
        return f"{count:,} ({percent(count / total)})"

    blocks: list[Block] = [
        header(f"Recency report · {day_label(report.as_of)}"),
        SectionBlock(
            fields=[
                md(f"*Accounts*\n{report.accounts:,}"),
                md(f"*Not bought in 6 months*\n{share(report.not_bought_6m)}"),
                md(f"*Not bought in 12 months*\n{share(report.not_bought_12m)}"),
                md(f"*Not bought in 18 months*\n{share(report.not_bought_18m)}"),
                md(f"*Buying far less*\n{share(report.declining)}"),
                md(f"*Never bought* (in “not bought” too)\n{share(report.never_bought)}"),
                *rebuy_fields(report),
            ]
        ),
        section("\n".join(_group_line(g) for g in (report.best, report.average, report.worst))),
    ]
    if report.segments:
        segs = " · ".join(f"{escape(name)} {count:,}" for name, count in report.segments.items())
        blocks.append(context(f"Segments: {segs}"))
    win_rates = report.extra.get("tactic_win_rates") if report.extra else None
    if win_rates:
        blocks.append(section(tactic_lines(win_rates)))
    if unowned is not None and unowned.count:
        blocks.append(section(_unowned_line(unowned)))
    text = (
        f"Recency report: {report.not_bought_6m:,} of {report.accounts:,} accounts have not "
        "bought in 6 months"
    )
    return message(blocks, text)


def _unowned_line(unowned: Unowned) -> str:
    """For admins: accounts without an owner, so imported accounts are not forgotten."""
    them = "it" if unowned.count == 1 else "them"
    more = unowned.count - len(unowned.names)
    names = ", ".join(escape(name) for name in unowned.names)
    if more > 0:
        names += f" and {more:,} more"
    if unowned.left == unowned.count:
        title, why = "Owner no longer in Slack", ""
    elif unowned.left:
        title = "No active owner"
        why = f" ({unowned.left:,} of them: an owner no longer in Slack)"
    else:
        title, why = "No owner", ""
    return (
        f"*{title}* · {plural(unowned.count, 'account')}{why}, so nobody is reminded of "
        f"{them}: {names}\nGive each a rep with `/account owner NAME rep@yourcompany.com`."
    )
