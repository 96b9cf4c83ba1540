"""Slack listeners, one module per surface, each with a `register(app, runtime)`.

Handlers are the only code that knows Slack payload shapes: they ack, pull plain values
out, call the domain (`bot.retention`), render with `handlers.blocks`, and reply.
"""

from __future__ import annotations

from slack_bolt import App

from bot.runtime import Runtime
from handlers import commands, errors, events, interactions


def register(app: App, runtime: Runtime) -> None:
    errors.register(app)
    events.register(app, runtime)
    commands.register(app, runtime)
    interactions.register(app, runtime)
