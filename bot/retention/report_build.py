"""The recency report put together from the grouped rows `ReportQuery` reads: the value
bands with their medians, the segments, the headline counts."""

from __future__ import annotations

from collections import Counter
from datetime import date

from bot.retention.plain_sql import as_date
from bot.retention.report_result import CustomerGroup, RecencyReport
from bot.retention.report_sql import ReportQuery
from bot.retention.rfm_rules import SEGMENT_NO_PURCHASES, Cutoffs, segment_for

BAND_LABELS = ("Best (top 20%)", "Average (middle 60%)", "Worst (bottom 20%)")


def build_report(query: ReportQuery, cutoffs: Cutoffs) -> RecencyReport:
    """Counts, value bands and segments from the grouped rows of `query.groups`."""
    as_of = query.as_of
    totals: Counter[str] = Counter()
    segments: Counter[str] = Counter()
    bands: list[dict] = [{} for _ in BAND_LABELS]
    days: list[Counter[date]] = [Counter() for _ in BAND_LABELS]
    for kind, band, r, f, m, not_6m, not_12m, not_18m, declining, count, *values in query.groups(
        cutoffs
    ):
        if kind == 1:
            days[band][as_date(values[2])] += count
            continue
        totals["accounts"] += count
        totals["not_6m"] += count * int(not_6m)
        totals["not_12m"] += count * int(not_12m)
        totals["not_18m"] += count * int(not_18m)
        totals["declining"] += count * int(declining)
        if band is None:
            totals["never"] += count
            segments[SEGMENT_NO_PURCHASES] += count
            continue
        signals = {"dormant_6m"} if not_6m else set()
        if declining:
            signals.add("declining")
        segments[segment_for(r, f, m, signals)] += count
        low, high, oldest, newest = values
        seen = bands[band]
        seen["accounts"] = seen.get("accounts", 0) + count
        for key, value, pick in (
            ("low", int(low), min),
            ("high", int(high), max),
            ("oldest", as_date(oldest), min),
            ("newest", as_date(newest), max),
        ):
            seen[key] = pick(seen[key], value) if key in seen else value
    for seen, counts in zip(bands, days, strict=True):
        seen["median"] = _median_day(counts)
    groups = [_group(label, seen, as_of) for label, seen in zip(BAND_LABELS, bands, strict=True)]
    return RecencyReport(
        as_of=as_of,
        accounts=totals["accounts"],
        never_bought=totals["never"],
        not_bought_6m=totals["not_6m"],
        not_bought_12m=totals["not_12m"],
        not_bought_18m=totals["not_18m"],
        declining=totals["declining"],
        best=groups[0],
        average=groups[1],
        worst=groups[2],
        segments=dict(
            sorted(
                segments.items(),
                key=lambda item: (item[0] == SEGMENT_NO_PURCHASES, -item[1], item[0]),
            )
        ),
    )


def _median_day(counts: Counter[date]) -> date | None:
    """The lower median of the days counted (the ((n - 1) // 2)-th, oldest first)."""
    wanted = (sum(counts.values()) - 1) // 2
    seen = 0
    for day in sorted(counts):
        seen += counts[day]
        if seen > wanted:
            return day
    return None


def _group(label: str, seen: dict, as_of: date) -> CustomerGroup:
    median = seen.get("median")
    return CustomerGroup(
        label=label,
        accounts=seen.get("accounts", 0),
        min_value=seen.get("low", 0) / 100,
        max_value=seen.get("high", 0) / 100,
        median_last_order=median,
        newest_last_order=seen.get("newest"),
        oldest_last_order=seen.get("oldest"),
        median_days_since=(as_of - median).days if median else None,
    )
