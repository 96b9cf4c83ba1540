"""The recency report read in a few aggregate SQL statements, with no ORM.

The per-account order facts come from the purchase summary (`account_summary`, kept on
write by bot/retention/summary.py): an account with no order after the day asked about
takes its all-time facts from its row, and its windowed values (6, 12, 24 months, kept
as of `windows_on`) are moved to that day with the orders between the two windows'
edges only. An account with orders after the day (a replayed past) is recomputed from
its orders. The report's figures (counts, value bands and their medians, RFM scores
against the day's cut points) are then grouped in SQL: Python sees a few hundred
grouped rows, never one per account.

This module imports no SQLAlchemy, SQLModel or models: it runs plain SQL through a
`Run` callable (a DB-API cursor in `rebuy report`, `Connection.exec_driver_sql` in the
Slack app), so a new `rebuy report` process loads only the standard library and the
database driver. The SQL is written once with `:name` parameters; `Sql` adapts the
few dialect differences (SQLite text timestamps, PostgreSQL dates and casts).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from bot.clock import as_utc
from bot.retention.plain_sql import Run, Sql, as_date
from bot.retention.report_result import NAMES_SHOWN, Unowned
from bot.retention.rfm_rules import Cutoffs
from bot.retention.windows import RFM_WINDOW_MONTHS, WINDOWS, day_start, months_back, window_edges

# Which tactics brought re-orders: touches this far back count (tactic_stats.py).
WIN_RATE_DAYS = 365


class ReportQuery:
    """The statements of one report: as of one day, on one database."""

    def __init__(self, run: Run, sql: Sql, *, as_of: date, now: datetime) -> None:
        self.sql = sql
        self._run = run
        self.as_of = as_of
        self.now = now
        self.end = day_start(as_of + timedelta(days=1))
        self.since = {months: months_back(as_of, months) for months in (6, 12, 18, 24)}
        self.params: dict = {
            "as_of": sql.day_param(as_of),
            "end": sql.moment(self.end),
            **{f"since{m}": sql.day_param(day) for m, day in self.since.items()},
        }
        self._facts: str | None = None

    def run(self, statement: str, params: dict | None = None) -> Sequence[tuple]:
        return self._run(self.sql.statement(statement), {**self.params, **(params or {})})

    # --- per-account facts as of the day -------------------------------------------

    def facts(self) -> str:
        """The CTEs `f` (order facts per account with orders) and `a` (every account in
        the report, with its facts): account_id, last_day, total, v6, prev, v24, o24."""
        if self._facts is None:
            self._facts = self._build_facts()
        return self._facts

    def _build_facts(self) -> str:
        sql = self.sql
        stored = self.run(
            "SELECT windows_on, max(last_row_at) FROM account_summary GROUP BY windows_on"
        )
        moved = sorted({as_date(on) for on, _ in stored} - {self.as_of})
        replayed = any(last is not None and as_utc(last) >= self.end for _, last in stored)
        adjust = self._adjustments(moved) if moved else None
        parts = [
            f"""SELECT s.account_id, {sql.day("s.last_at")} AS last_day, s.rows,
                s.total_cents AS total,
                s.value_6m_cents{" + coalesce(d.v6, 0)" if adjust else ""} AS v6,
                s.value_12m_cents{" + coalesce(d.v12, 0)" if adjust else ""} AS v12,
                s.value_24m_cents{" + coalesce(d.v24, 0)" if adjust else ""} AS v24,
                s.occasions_24m{" + coalesce(d.o24, 0)" if adjust else ""} AS o24
            FROM account_summary s
            {"LEFT JOIN adjust d ON d.account_id = s.account_id" if adjust else ""}
            WHERE s.last_row_at < :end"""
        ]
        if replayed:
            parts.append(self._recomputed())
        ctes = [f"adjust AS ({adjust})"] if adjust else []
        ctes.append("f AS (" + "\nUNION ALL\n".join(parts) + ")")
        ctes.append(
            """a AS (
            SELECT ac.id, f.last_day, coalesce(f.total, 0) AS total, coalesce(f.v6, 0) AS v6,
                coalesce(f.v12, 0) - coalesce(f.v6, 0) AS prev, coalesce(f.v24, 0) AS v24,
                coalesce(f.o24, 0) AS o24
            FROM account ac LEFT JOIN f ON f.account_id = ac.id
            WHERE ac.archived_at IS NULL AND (ac.created_at < :end OR f.rows > 0))"""
        )
        return "WITH " + ",\n".join(ctes)

    def _daily(self, where: str, *, extra: str = "", group: str = "") -> str:
        """Order days: net cents, rows, and whether the day is a purchase occasion (a
        positive row: occasions.is_occasion)."""
        sql = self.sql
        return f"""SELECT o.account_id, {sql.day("o.ordered_at")} AS day,
                sum({sql.cents("o.amount")}) AS net, count(*) AS n,
                max(CASE WHEN o.amount > 0 THEN 1 ELSE 0 END) AS bought{extra}
            FROM "order" o {where}
            GROUP BY o.account_id, {sql.day("o.ordered_at")}{group}"""

    def _recomputed(self) -> str:
        """Accounts with orders after the day: their facts from their orders up to it."""
        daily = self._daily(
            """WHERE o.account_id IN
                (SELECT account_id FROM account_summary WHERE last_row_at >= :end)
            AND o.ordered_at < :end"""
        )
        return f"""SELECT g.account_id, max(CASE WHEN g.bought = 1 THEN g.day END), sum(g.n),
                sum(g.net),
                sum(CASE WHEN g.day >= :since6 THEN g.net ELSE 0 END),
                sum(CASE WHEN g.day >= :since12 THEN g.net ELSE 0 END),
                sum(CASE WHEN g.day >= :since24 THEN g.net ELSE 0 END),
                sum(CASE WHEN g.bought = 1 AND g.day >= :since24 THEN 1 ELSE 0 END)
            FROM ({daily}) g GROUP BY g.account_id"""

    def _adjustments(self, moved: list[date]) -> str:
        """Per account, what the orders between the window edges add to or take from the
        windows stored as of another day (one CASE per window, one range per edge). The
        orders are found by time through the index on `ordered_at`, one scan per merged
        range of days, and joined to their summary row by key."""
        sql = self.sql
        scans: list[str] = []
        cases: dict[int, list[str]] = {months: [] for months in WINDOWS}
        for i, stored_on in enumerate(moved):
            self.params[f"on{i}"] = sql.day_param(stored_on)
            spans = []
            for months in WINDOWS:
                edges = window_edges(self.as_of, stored_on, months)
                for j, (start, stop, sign) in enumerate(edges):
                    key = f"e{i}_{months}_{j}"
                    self.params[f"{key}a"] = sql.day_param(start)
                    self.params[f"{key}b"] = sql.day_param(stop)
                    cases[months].append(
                        f"WHEN e.stored_on = :on{i} AND e.day >= :{key}a AND e.day < :{key}b "
                        f"THEN {sign} * {{value}}"
                    )
                    spans.append((start, stop))
            for k, (start, stop) in enumerate(_merged(spans)):
                key = f"r{i}_{k}"
                self.params[f"{key}a"] = sql.moment(day_start(start))
                self.params[f"{key}b"] = sql.moment(day_start(stop))
                # CROSS JOIN: SQLite takes the orders first (by time), not every summary row.
                scans.append(
                    f"""SELECT o.account_id, {sql.day("o.ordered_at")} AS day,
                        {sql.cents("o.amount")} AS cents,
                        CASE WHEN o.amount > 0 THEN 1 ELSE 0 END AS positive,
                        s.windows_on AS stored_on
                    FROM "order" o CROSS JOIN account_summary s
                    WHERE o.ordered_at >= :{key}a AND o.ordered_at < :{key}b
                        AND s.account_id = o.account_id AND s.windows_on = :on{i}
                        AND s.last_row_at < :end"""
                )
        daily = f"""SELECT account_id, day, stored_on, sum(cents) AS net, max(positive) AS bought
            FROM ({" UNION ALL ".join(scans)}) edge GROUP BY account_id, day, stored_on"""

        def delta(months: int, value: str) -> str:
            whens = " ".join(cases[months]).format(value=value) if cases[months] else ""
            return f"sum(CASE {whens} ELSE 0 END)" if whens else "0"

        return f"""SELECT e.account_id, {delta(6, "e.net")} AS v6, {delta(12, "e.net")} AS v12,
                {delta(RFM_WINDOW_MONTHS, "e.net")} AS v24,
                {delta(RFM_WINDOW_MONTHS, "e.bought")} AS o24
            FROM ({daily}) e GROUP BY e.account_id"""

    # --- RFM cut points ---------------------------------------------------------------

    def cached_cutoffs(self) -> Cutoffs | None:
        """The day's cut points from the cache (rfm_cutoffs), when they are of this rule."""
        for (payload,) in self.run("SELECT payload FROM rfm_cutoffs WHERE as_of = :as_of"):
            return Cutoffs.from_json(payload)
        return None

    def compute_cutoffs(self) -> Cutoffs:
        """The day's cut points over the report's buyers (rfm.compute_cutoffs), in SQL."""
        return self._compute_cutoffs()

    def _compute_cutoffs(self) -> Cutoffs:
        sql = self.sql
        measures = {
            "r": f"-{sql.days_since('last_day')}",
            "f": "o24",
            "m": f"{sql.real('v24')} / 100",
        }
        score = sql.least(
            "5",
            "1 + "
            + sql.floor(f"5 * ({sql.real('below')} + {sql.real('tied')} / 2) / {sql.real('n')}"),
        )
        thresholds = ", ".join(f"min(CASE WHEN score >= {k} THEN x END)" for k in range(2, 6))
        selects = []
        for name in measures:
            selects.append(
                f"""SELECT '{name}', {thresholds}, max(n)
                FROM (SELECT x, n, {score} AS score
                    FROM (SELECT x, tied, sum(tied) OVER (ORDER BY x) - tied AS below,
                            sum(tied) OVER () AS n
                        FROM (SELECT {name} AS x, count(*) AS tied FROM buyers GROUP BY {name}) g
                    ) c
                ) s"""
            )
        rows = self.run(
            f"""{self.facts()},
            buyers AS MATERIALIZED (
                SELECT {", ".join(f"{e} AS {n}" for n, e in measures.items())}
                FROM a WHERE last_day IS NOT NULL)
            {" UNION ALL ".join(selects)}"""
        )
        cuts = {
            name: [float(value) if value is not None else None for value in values]
            for name, *values, _ in rows
        }
        population = int(max((row[-1] or 0 for row in rows), default=0))
        return Cutoffs(
            recency=cuts["r"], frequency=cuts["f"], monetary=cuts["m"], population=population
        )

    # --- the report -------------------------------------------------------------------

    def groups(self, cutoffs: Cutoffs) -> Sequence[tuple]:
        """Two kinds of rows. Kind 0, one per (band, R, F, M, not bought in 6/12/18
        months, declining): how many accounts, their value range and last orders.
        Kind 1, one per band and last order day: how many buyers (for the band's
        median). Bands: 0 best, 1 average, 2 worst, None never bought."""
        sql = self.sql
        params: dict = {}

        def score(expression: str, cuts: list[float | None], name: str) -> str:
            terms = []
            for k, cut in enumerate(cuts):
                if cut is not None:
                    params[f"{name}{k}"] = cut
                    terms.append(f" + CASE WHEN {expression} >= :{name}{k} THEN 1 ELSE 0 END")
            return f"CASE WHEN last_day IS NULL THEN 0 ELSE 1{''.join(terms)} END"

        # The ranking by spend is the only sort per account; everything after it groups.
        # The number of buyers: on SQLite a scan first is cheaper than a window over every
        # account; PostgreSQL counts them in the ranking's own pass.
        if sql.postgres:
            buyers = "count(last_day) OVER ()"
        else:
            ((params["buyers"],),) = self.run(f"{self.facts()} SELECT count(last_day) FROM a")
            buyers = "CAST(:buyers AS INTEGER)"
        return self.run(
            f"""{self.facts()},
            s AS (SELECT last_day, total, o24, {sql.days_since("last_day")} AS days,
                    {sql.real("v24")} / 100 AS money,
                    CASE WHEN prev > 0 AND 2 * v6 < prev THEN 1 ELSE 0 END AS declining,
                    row_number() OVER (
                        ORDER BY CASE WHEN last_day IS NULL THEN 1 ELSE 0 END, total DESC, id
                    ) AS rank,
                    {buyers} AS buyers
                FROM a),
            b AS MATERIALIZED (SELECT last_day, total, declining,
                    {score("-days", cutoffs.recency, "rc")} AS r,
                    {score("o24", cutoffs.frequency, "fc")} AS f,
                    {score("money", cutoffs.monetary, "mc")} AS m,
                    CASE
                    WHEN last_day IS NULL THEN NULL
                    WHEN buyers >= 5 THEN CASE WHEN rank <= buyers / 5 THEN 0
                        WHEN rank > buyers - buyers / 5 THEN 2 ELSE 1 END
                    WHEN rank = 1 THEN 0 WHEN rank = buyers THEN 2 ELSE 1 END AS band
                FROM s)
            SELECT 0, band, r, f, m,
                CASE WHEN last_day IS NULL OR last_day < :since6 THEN 1 ELSE 0 END,
                CASE WHEN last_day IS NULL OR last_day < :since12 THEN 1 ELSE 0 END,
                CASE WHEN last_day IS NULL OR last_day < :since18 THEN 1 ELSE 0 END,
                declining, count(*), min(total), max(total), min(last_day), max(last_day)
            FROM b GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
            UNION ALL
            SELECT 1, band, NULL, NULL, NULL, NULL, NULL, NULL, NULL, count(*), NULL, NULL,
                last_day, NULL
            FROM b WHERE band IS NOT NULL GROUP BY band, last_day""",
            params,
        )

    def unowned(self) -> Unowned:
        """Live accounts nobody is reminded of today: no owner, or one no longer in Slack
        (bot/retention/unowned.py, in plain SQL)."""
        live = """(owner_id IS NULL OR owner_id IN (SELECT id FROM rep WHERE NOT active))
            AND archived_at IS NULL"""
        ((count, left),) = self.run(f"SELECT count(*), count(owner_id) FROM account WHERE {live}")
        if not count:
            return Unowned(0)
        rows = self.run(
            f"""SELECT name, external_id FROM account WHERE {live}
            ORDER BY annual_value DESC NULLS LAST, name LIMIT {NAMES_SHOWN}"""
        )
        return Unowned(count, [f"{name} ({external_id})" for name, external_id in rows], left)

    def tactic_touches(self) -> bool:
        """Whether any touch of the last year used a tactic (the win rates need one)."""
        since = self.now - timedelta(days=WIN_RATE_DAYS)
        rows = self.run(
            """SELECT 1 FROM touch WHERE tactic_id IS NOT NULL
            AND touched_at >= :since AND touched_at <= :now LIMIT 1""",
            {"since": self.sql.moment(since), "now": self.sql.moment(self.now)},
        )
        return bool(rows)

    def fit_shown(self) -> bool:
        """Whether the newest stored model fit is reliable (else no forecast is shown)."""
        rows = self.run("SELECT reliable FROM model_fit ORDER BY created_at DESC, id DESC LIMIT 1")
        return bool(rows and rows[0][0])


def _merged(spans: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """Day ranges [start, stop) merged so that no day is in two of them."""
    merged: list[tuple[date, date]] = []
    for start, stop in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def first_data_day(run: Run, sql: Sql) -> date | None:
    """The day of the first order or touch on record (None when there is none)."""
    firsts = ('SELECT min(ordered_at) FROM "order"', "SELECT min(touched_at) FROM touch")
    days = [
        as_utc(value).date()
        for statement in firsts
        for (value,) in run(sql.statement(statement), {})
        if value is not None
    ]
    return min(days) if days else None
