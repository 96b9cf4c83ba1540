"""Limits the domain enforces in several places (commands, modals, the importer,
settings), defined once here."""

from __future__ import annotations

# The longest cadence (days between touches) a tier or an account may have.
MAX_CADENCE_DAYS = 730
# How far back a touch may be logged: the two years of history Rebuy keeps scores for.
MAX_DAYS_BACK = 730
