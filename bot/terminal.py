"""Plain terminal renderings of domain results, for the `rebuy` CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.messages.format import money, plural
from bot.retention.signals import day_label

if TYPE_CHECKING:  # for annotations only: `rebuy account` never loads the report
    from bot.retention.card import AccountStatus
    from bot.retention.due import DueAccount
    from bot.retention.report import RecencyReport

BAND_STYLE = {"healthy": "green", "watch": "yellow", "at risk": "red"}


def short_money(value: float) -> str:
    """$950, $9.2k, $157k, $1.2M: for tight columns (one style at every size)."""
    sign, value = ("−", -value) if round(value) < 0 else ("", value)
    if value >= 999_500:
        return f"{sign}${value / 1_000_000:.1f}M"
    if value >= 9_950:
        return f"{sign}${value / 1000:.0f}k"
    if value >= 1_000:
        return f"{sign}${value / 1000:.1f}k"
    return f"{sign}${value:,.0f}"


class _Rows:
    """Label/value rows whose values wrap under themselves, not under the label."""

    def __init__(self) -> None:
        self.grid = Table.grid(padding=(0, 2))
        self.grid.add_column(style="bold", no_wrap=True)
        self.grid.add_column()

    def add(self, label: str, *parts: str | Text) -> None:
        text = Text()
        for part in parts:
            text.append(part) if isinstance(part, str) else text.append_text(part)
        self.grid.add_row(label, text)


def _last_order(status: AccountStatus) -> str:
    facts = status.facts
    if facts.last_order_at:
        amount = f" ({money(status.last_order_amount)})" if status.last_order_amount else ""
        return (
            f"{day_label(facts.last_order_at.date())}{amount} · {facts.orders_text}, "
            f"{money(facts.total_value)} in all"
        )
    if facts.other_rows_text:  # credits or free samples only: say what is on record
        return f"none on record ({facts.other_rows_text}, {money(facts.total_value)} in all)"
    return "none on record"


def status_card(status: AccountStatus) -> Panel:
    schedule, health = status.schedule, status.health
    owner = status.owner_name or status.owner_email or "no owner"
    if status.owner_name and status.owner_email:
        owner = f"{status.owner_name} <{status.owner_email}>"
    if not status.owner_active:
        from bot.retention.card import OWNER_LEFT

        owner += f" ({OWNER_LEFT})"
    value = f" · {money(status.annual_value)} a year" if status.annual_value else ""
    rows = _Rows()
    rows.add("Owner", f"{owner} · tier {status.tier}{value}")
    health_text = Text(f"{health.score}/100 ({health.band})", style=BAND_STYLE[health.band])
    for reason in health.reasons:
        health_text.append(f"\n{reason}", style="dim")
    rows.add("Health", health_text)
    if status.outlook is not None:
        rows.add("Re-buy", f"{status.outlook.line()} ({status.outlook.band})")

    rows.add("Last order", _last_order(status))

    touch = status.last_touch
    if touch:
        by = f" by {touch.by}" if touch.by else ""
        note = f' — "{touch.note}"' if touch.note else ""
        rows.add("Last touch", f"{day_label(touch.at.date())}, {touch.kind}{by}{note}")
    else:
        rows.add("Last touch", "never logged")

    due = f"{day_label(schedule.next_touch_due)}"
    if schedule.days_overdue:
        due_text = Text(
            f"{due} — {plural(schedule.days_overdue, 'working day')} overdue", style="red"
        )
    else:
        due_text = Text(due)
    if schedule.snoozed_until:
        due_text.append(" (snoozed)")
    rows.add("Next touch", due_text, f" · every {plural(schedule.cadence_days, 'day')}")

    rfm = status.rfm
    # The segment in words; the R/F/M scores stay in --json.
    rows.add("Segment", f"{rfm.segment} — {status.segment_meaning}")

    if status.contacts:
        people = "; ".join(
            f"{p.name}" + (f" ({p.title})" if p.title else "") for p in status.contacts
        )
        warn = Text(" — single-threaded!", style="yellow") if status.single_threaded else ""
        rows.add("Contacts", people, warn)
    else:
        rows.add("Contacts", Text("none on file — nobody to call!", style="yellow"))

    if status.plan:
        plan = status.plan
        rows.add(
            "Plan",
            f"from “{plan.current_state}” to “{plan.target_state}” by {day_label(plan.horizon)}",
        )
    else:
        rows.add("Plan", "none yet")

    for number, pick in enumerate(status.tactics, 1):
        tactic = Text(f"{number}. {pick.tactic.title}", style="bold cyan")
        tactic.append(f"\nWhy: {pick.why}", style="default")
        tactic.append(f"\nHow: {pick.tactic.how_to}", style="dim")
        rows.add("Try next" if number == 1 else "", tactic)
    title = Text(f"{status.name} ({status.external_id})", style="bold")
    return Panel(rows.grid, title=title, title_align="left", expand=False)


def due_list(rep_label: str, items: list[DueAccount], *, more: int = 0) -> Panel:
    if not items:
        return Panel(Text("All caught up: nothing due today."), title=rep_label, expand=False)
    rows = Table.grid(padding=(0, 1))
    rows.add_column(no_wrap=True)
    rows.add_column()
    count = f"{len(items)} account{'s' if len(items) != 1 else ''} to contact today"
    rows.add_row("", Text(count, style="bold"))
    for item in items:
        late = item.schedule.days_overdue
        when = f"{plural(late, 'working day')} overdue" if late else "due today"
        text = Text(f"{item.name} — {when} · health {item.health.score}", style="bold")
        for reason in item.why[:3]:
            text.append(f"\n{reason}", style="dim")
        if item.tactic:
            text.append(f"\nTry: {item.tactic.tactic.title}. ", style="cyan")
            text.append(item.tactic.why)
        rows.add_row("•", text)
    if more:
        rows.add_row("", Text(f"…and {more} more due"))
    return Panel(rows, title=rep_label, title_align="left", expand=False)


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
    summary.add_row("Never bought (in “not bought” too)", f"{report.never_bought:,}")
    summary.add_row("Buying far less than before", f"{report.declining:,}")
    if report.rebuy is not None:
        forecast = report.rebuy
        summary.add_row(forecast.heading(), forecast.rebuyers_text())
        summary.add_row("Value at risk next quarter", forecast.value_at_risk_text())

    groups = Table(title="When did they last buy? (ranked by total spend)", title_justify="left")
    groups.add_column("Customers", no_wrap=True)
    groups.add_column("Accounts", justify="right")
    groups.add_column("Spend", justify="right")
    groups.add_column("Median last order", justify="right")
    groups.add_column("Days since", justify="right")
    for group in (report.best, report.average, report.worst):
        groups.add_row(
            group.label,
            f"{group.accounts:,}",
            f"{short_money(group.min_value)}–{short_money(group.max_value)}"
            if group.accounts
            else "—",
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


@contextmanager
def import_progress(
    console: Console, kind: str, total: int, progress_class: Callable[..., Any]
) -> Iterator[Callable[[str, int, int | None], None]]:
    """A progress bar for `rebuy import` that follows each stage: reading and checking
    the rows, then writing them (so a long write never looks frozen). Hidden unless
    stderr is a terminal and the file is big enough to wait for. `progress_class` makes
    the bar: rich's `Progress` or anything called like it."""
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn

    progress = progress_class(
        TextColumn("{task.description}"),
        BarColumn(),
        # Counts with thousands separators, like every other number Rebuy prints.
        TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        TimeRemainingColumn(),
        console=console,
        disable=not (console.is_terminal and total > 20_000),
    )
    with progress:
        task = progress.add_task(f"Reading and checking {kind}", total=total)
        stage = ["reading"]

        def report(name: str, done: int, of: int | None) -> None:
            if name == "finishing" and name != stage[0]:
                # The rows are written; the summary and the commit follow (seconds on a
                # big file): say so rather than sit at 100 % with no sign of life.
                stage[0] = name
                progress.update(task, description=f"Finishing {kind}: summary, saving")
            elif name != stage[0]:
                stage[0] = name
                progress.update(task, description=f"Writing {kind}", completed=0, total=of)
            if of is not None:
                progress.update(task, total=of)
            progress.update(task, completed=done)

        yield report
        final = progress.tasks[0]
        if final.total is not None:
            progress.update(task, completed=final.total)
