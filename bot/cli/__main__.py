"""`python -m bot.cli`: the same as the `rebuy` command."""

from bot.cli import main

main()
