"""The retention domain: plain Python over the database, no Slack imports.

Functions take keyword-only `session` and `now`/`as_of` arguments and return
plain dataclasses, so the CLI, the scheduler and the Slack handlers share them.
"""
