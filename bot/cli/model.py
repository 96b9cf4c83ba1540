"""`rebuy model …`: the likelihood-to-re-buy models (fit, show, backtest)."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import (
    AsJson,
    day_option,
    err,
    out,
    print_json,
    reader_runtime,
    writer_runtime,
)
from bot.retention.dates import day_label, moment_label
from bot.retention.errors import InvalidInput

if TYPE_CHECKING:
    from bot.runtime import Runtime

model_app = typer.Typer(help="The likelihood-to-re-buy models (BG/NBD).", no_args_is_help=True)


def _data_cutoff(runtime: Runtime, session, value: str | None) -> date:
    from bot.retention.rebuy_model.store import data_cutoff

    cutoff = day_option("--cutoff", value) or data_cutoff(
        session=session, configured=runtime.settings.rebuy_data_cutoff
    )
    if cutoff is None:
        raise InvalidInput("There are no orders yet: import orders first (rebuy import orders).")
    return cutoff


Cutoff = Annotated[
    str | None,
    typer.Option(
        "--cutoff",
        help="The date the order data is complete through (default: REBUY_DATA_CUTOFF, "
        "else the latest orders import's through-date).",
    ),
]


@model_app.command("fit")
def model_fit(cutoff: Cutoff = None, as_json: AsJson = False) -> None:
    """Fit the models to this workspace's orders, store the fit, say whether it is shown."""
    from bot.retention.rebuy_model.fit_job import fit_line, run_fit

    runtime = writer_runtime()
    with runtime.db.session() as session:
        day = _data_cutoff(runtime, session, cutoff)
    run = run_fit(db=runtime.db, now=runtime.now(), configured_cutoff=day)
    if as_json:
        print_json(json.loads(run.fit.result_json) | {"fit_id": run.fit.id})
        return
    _print_fit(run.fit)
    out.print(fit_line(run.fit))


def _print_fit(row) -> None:
    if row.accounts and row.r is not None:
        out.print(
            f"r={row.r:.4f} alpha={row.alpha:.4f} a={row.a:.4f} b={row.b:.4f} (weeks), "
            f"log-likelihood {row.log_likelihood:.2f}"
        )


@model_app.command("show")
def model_show(as_json: AsJson = False) -> None:
    """The stored fit the reps' scores come from, or why none is shown."""
    from bot.retention.rebuy_model.store import data_cutoff, freshness, latest_fit

    runtime = reader_runtime()
    with runtime.db.session() as session:
        row = latest_fit(session=session)
        current = data_cutoff(session=session, configured=runtime.settings.rebuy_data_cutoff)
    if row is None:
        message = "No re-buy model fit is stored yet, so reps see no chance of an order."
        hint = (
            " Import orders (rebuy import orders FILE) first."
            if current is None
            else " Run: rebuy model fit."
        )
        if as_json:
            print_json({"fit": None, "shown": False, "reason": message + hint})
        else:
            out.print(message + hint)
        return
    fresh = freshness(row.cutoff, today=runtime.now().date(), data_through=current)
    if as_json:
        print_json(
            {
                "fit_id": row.id,
                "created_at": row.created_at.isoformat(),
                "shown": row.reliable and fresh.shown,
                "reason": row.reason,
                "freshness": fresh.state,
                "cutoff_age_days": fresh.age_days,
                "data_cutoff": current.isoformat() if current else None,
                "fit": json.loads(row.result_json),
            }
        )
        return
    out.print(f"Fit {row.id}, stored {moment_label(row.created_at)}.")
    _print_fit(row)
    if not row.reliable:
        out.print(f"Not shown to reps: {row.reason}.")
    elif fresh.state == "current":
        out.print(
            f"Shown to reps: chance of an order in the next 90 days for {row.accounts:,} "
            f"accounts (data through {day_label(row.cutoff)})."
        )
    for line in _staleness_lines(fresh, row.reliable):
        err.print(line)


def _staleness_lines(fresh, reliable: bool) -> list[str]:
    """`rebuy model show`'s warnings when the stored fit is not current."""
    from bot.retention.rebuy_model.store import EXPIRED_DAYS, FRESH_DAYS

    lines = []
    age = f"{fresh.age_days} days old" if fresh.age_days != 1 else "1 day old"
    if reliable and fresh.state == "expired":
        lines.append(
            f"Warning: the fit's data cut-off ({day_label(fresh.fit_cutoff)}) is {age}, more than "
            f"{EXPIRED_DAYS}: reps see no chance of an order until newer orders are loaded."
        )
    elif reliable and fresh.state == "dated":
        lines.append(
            f'Warning: reps see the chance "as of {fresh.fit_cutoff.day} {fresh.fit_cutoff:%b}" '
            f"(data cut-off {day_label(fresh.fit_cutoff)}, {age}; current up to {FRESH_DAYS} days)."
        )
    if fresh.newer_data is not None:
        lines.append(
            f"The data is now complete through {day_label(fresh.newer_data)}: `rebuy serve` refits "
            "within the hour, or run `rebuy model fit` now."
        )
    return lines


@model_app.command("backtest")
def model_backtest(
    calibration_end: Annotated[
        str, typer.Option("--calibration-end", help="Fit on orders up to this day (YYYY-MM-DD).")
    ],
    horizon_weeks: Annotated[
        float, typer.Option("--horizon-weeks", help="Weeks after it to compare with.")
    ] = 39,
    cutoff: Cutoff = None,
    as_json: AsJson = False,
) -> None:
    """Fit on the past and compare the predictions with what happened next."""
    from bot.retention.rebuy_model.backtest import format_table
    from bot.retention.rebuy_model.fit_job import backtest_workspace

    end = day_option("--calibration-end", calibration_end)
    runtime = reader_runtime()
    with runtime.db.session() as session:
        result = backtest_workspace(
            session=session,
            calibration_end=end,
            horizon_weeks=horizon_weeks,
            data_cutoff=_data_cutoff(runtime, session, cutoff),
        )
    if as_json:
        print_json(result.to_dict())
    else:
        out.print(format_table(result))
