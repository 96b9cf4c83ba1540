"""`rebuy serve`: the Slack app."""

from __future__ import annotations

from bot.cli.common import writer_runtime


def serve() -> None:
    """Run the Slack app: Socket Mode with SLACK_APP_TOKEN, else HTTP on PORT."""
    from bot.app import serve as run

    run(writer_runtime())
