"""The `rebuy` Typer app: every command, its options and its --help text.

`bot.cli.main` reaches it for everything the lean path (bot/cli/lean.py) does not run.
One module per command group (`account`, `report`, `importing`, `reminders`, `demo`,
`sync`, `serve`, `db`, `reps`, `model`), each importing its heavy modules inside the
command, so `rebuy --help` loads typer and rich only. Commands that only read check the
schema by one query and never migrate (`common.reader_runtime`); `serve`, `db upgrade`
and the commands that write migrate first (`common.writer_runtime`).
"""

from __future__ import annotations

import typer

from bot.cli import account, db, demo, importing, model, reminders, report, reps, serve, sync

app = typer.Typer(
    name="rebuy",
    help="Rebuy keeps your mid-sized accounts buying again. Try `rebuy demo`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command()(account.account)
app.command()(report.report)
app.command("import")(importing.import_)
app.command()(reminders.remind)
app.command()(reminders.away)
app.command()(demo.demo)
app.add_typer(db.db_app, name="db")
app.add_typer(reps.reps_app, name="reps")
app.command()(sync.sync)
app.command()(serve.serve)
app.add_typer(model.model_app, name="model")
