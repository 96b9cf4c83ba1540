"""Everything Rebuy says in Slack: Block Kit built once, with escaping and limits, for
the listeners, the scheduler and the CLI. Imports no database code (see
tests/test_layers.py).

`kit` is the escape-and-limits kit, `format` the one way numbers, dates and plurals read,
`ids` the action, block and callback ids; each surface has a module of its own (`card`,
`pick`, `book`, `home`, `report`, `help`, `modals`, `reminder`, `digest`, `away`, `log`).
Import from those modules; this package re-exports nothing.
"""
