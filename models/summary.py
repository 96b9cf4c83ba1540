"""Per-account purchase facts kept up to date on write (bot/retention/summary.py)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class AccountSummary(SQLModel, table=True):
    """One row per account with orders: what its orders add up to, refreshed in the same
    transaction as every write of its orders. Money is in integer cents.

    The all-time facts do not depend on the day asked about as long as the account has
    no order after it (`last_row_at`); the windowed values are as of `windows_on` and
    moved to another day with the orders near the window edges."""

    __tablename__ = "account_summary"
    __table_args__ = (Index("ix_account_summary_windows_on", "windows_on"),)

    account_id: int = Field(foreign_key="account.id", ondelete="CASCADE", primary_key=True)
    # Purchase occasions (net-positive order days): first and last, and how many.
    first_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    occasions: int = 0
    # Every order row: the latest one, how many, credits and zero rows among them.
    last_row_at: datetime = Field(sa_type=UTCDateTime)
    rows: int = 0
    credit_rows: int = 0
    zero_rows: int = 0
    total_cents: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    # Median days between consecutive occasions (None with fewer than two).
    median_gap_days: float | None = None
    # Net value and occasions in the windows the signals use, as of `windows_on`.
    windows_on: date
    value_6m_cents: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    value_12m_cents: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    value_24m_cents: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    occasions_24m: int = 0
