"""Rebuy: keeps B2B sales reps going back to the accounts that re-buy."""

__version__ = "0.1.0"
