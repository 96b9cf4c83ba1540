"""Plain terminal renderings of domain results, for the `rebuy` CLI."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.retention.due import DueAccount
from bot.retention.report import RecencyReport
from bot.retention.signals import day_label
from bot.retention.status import AccountStatus

BAND_STYLE = {"healthy": "green", "watch": "yellow", "at risk": "red"}


def money(value: float | None) -> str:
    return "—" if value is None else f"${value:,.0f}"


def _line(label: str, *parts: str | Text) -> Text:
    text = Text()
    text.append(f"{label:<12}", style="bold")
    for part in parts:
        text.append(part) if isinstance(part, str) else text.append_text(part)
    return text


def status_card(status: AccountStatus) -> Panel:
    facts, schedule, health = status.facts, status.schedule, status.health
    owner = status.owner_name or status.owner_email or "no owner"
    if status.owner_name and status.owner_email:
        owner = f"{status.owner_name} <{status.owner_email}>"
    value = f" · {money(status.annual_value)} a year" if status.annual_value else ""
    rows: list[Text] = [_line("Owner", f"{owner} · tier {status.tier}{value}")]

    rows.append(
        _line(
            "Health",
            Text(f"{health.score}/100 ({health.band})", style=BAND_STYLE[health.band]),
        )
    )
    rows.extend(Text(f"{'':12}{reason}", style="dim") for reason in health.reasons)

    if facts.last_order_at:
        amount = f" ({money(status.last_order_amount)})" if status.last_order_amount else ""
        rows.append(
            _line(
                "Last order",
                f"{day_label(facts.last_order_at.date())}{amount} · {facts.orders_count} orders, "
                f"{money(facts.total_value)} in all",
            )
        )
    else:
        rows.append(_line("Last order", "none on record"))

    touch = status.last_touch
    if touch:
        by = f" by {touch.by}" if touch.by else ""
        note = f' — "{touch.note}"' if touch.note else ""
        rows.append(_line("Last touch", f"{day_label(touch.at.date())}, {touch.kind}{by}{note}"))
    else:
        rows.append(_line("Last touch", "never logged"))

    due = f"{day_label(schedule.next_touch_due)}"
    if schedule.days_overdue:
        due_text = Text(f"{due} — {schedule.days_overdue} days overdue", style="red")
    else:
        due_text = Text(due)
    if schedule.snoozed_until:
        due_text.append(" (snoozed)")
    rows.append(_line("Next touch", due_text, f" · every {schedule.cadence_days} days"))

    rfm = status.rfm
    scores = f" (R{rfm.recency} F{rfm.frequency} M{rfm.monetary})" if rfm.recency else ""
    rows.append(_line("Segment", f"{rfm.segment}{scores} — {status.segment_meaning}"))

    if status.contacts:
        people = "; ".join(
            f"{p.name}" + (f" ({p.title})" if p.title else "") for p in status.contacts
        )
        warn = Text(" — single-threaded!", style="yellow") if status.single_threaded else ""
        rows.append(_line("Contacts", people, warn))
    else:
        rows.append(_line("Contacts", Text("none on file — single-threaded!", style="yellow")))

    if status.plan:
        plan = status.plan
        rows.append(
            _line(
                "Plan",
                f"from “{plan.current_state}” to “{plan.target_state}” by "
                f"{day_label(plan.horizon)}",
            )
        )
    else:
        rows.append(_line("Plan", "none yet"))

    if status.tactics:
        rows.append(Text("Try next", style="bold"))
        for number, pick in enumerate(status.tactics, 1):
            rows.append(Text(f"  {number}. {pick.tactic.title}", style="bold cyan"))
            rows.append(Text(f"     Why: {pick.why}"))
            rows.append(Text(f"     How: {pick.tactic.how_to}", style="dim"))
    title = Text(f"{status.name} ({status.external_id})", style="bold")
    return Panel(Group(*rows), title=title, title_align="left", expand=False)


def due_list(rep_label: str, items: list[DueAccount], *, more: int = 0) -> Panel:
    if not items:
        return Panel(Text("All caught up: nothing due today."), title=rep_label, expand=False)
    rows: list[Text] = [
        Text(f"{len(items)} account{'s' if len(items) != 1 else ''} to contact today", style="bold")
    ]
    for item in items:
        late = item.schedule.days_overdue
        when = f"{late} days overdue" if late else "due today"
        rows.append(Text(f"• {item.name} — {when} · health {item.health.score}", style="bold"))
        for reason in item.why[:2]:
            rows.append(Text(f"    {reason}", style="dim"))
        if item.tactic:
            rows.append(Text(f"    Try: {item.tactic.tactic.title} — {item.tactic.why}"))
    if more:
        rows.append(Text(f"…and {more} more due"))
    return Panel(Group(*rows), title=rep_label, title_align="left", expand=False)


def report_view(report: RecencyReport) -> Group:
    summary = Table(show_header=False, box=None, pad_edge=False)
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    total = report.accounts or 1
    summary.add_row("Accounts", f"{report.accounts:,}")
    for months, count in (
        (6, report.not_bought_6m),
        (12, report.not_bought_12m),
        (18, report.not_bought_18m),
    ):
        summary.add_row(f"Not bought in {months} months", f"{count:,} ({count / total:.0%})")
    summary.add_row("Never bought", f"{report.never_bought:,}")
    summary.add_row("Buying far less than before", f"{report.declining:,}")

    groups = Table(title="When did they last buy?", title_justify="left")
    groups.add_column("Customers")
    groups.add_column("Accounts", justify="right")
    groups.add_column("Spend", justify="right")
    groups.add_column("Typical last order", justify="right")
    groups.add_column("Days since", justify="right")
    for group in (report.best, report.average, report.worst):
        groups.add_row(
            group.label,
            f"{group.accounts:,}",
            f"{money(group.min_value)}–{money(group.max_value)}" if group.accounts else "—",
            day_label(group.median_last_order) if group.median_last_order else "—",
            str(group.median_days_since) if group.median_days_since is not None else "—",
        )
    segments = Table(title="RFM segments", title_justify="left")
    segments.add_column("Segment")
    segments.add_column("Accounts", justify="right")
    for name, count in report.segments.items():
        segments.add_row(name, f"{count:,}")
    heading = Text(f"Recency report as of {day_label(report.as_of)}", style="bold")
    return Group(heading, summary, Text(""), groups, Text(""), segments)
