"""Everything Rebuy says in Slack: Block Kit built once, with escaping and limits, for
the listeners, the scheduler and the CLI. Imports no database code."""
