"""The re-buy model's records: each order feed's data cut-off, and each stored fit."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class OrderFeed(SQLModel, table=True):
    """One orders import or sync: the date its orders are complete through.

    The latest row's `through` is the data cut-off the model measures T to (never "now").
    """

    __tablename__ = "order_feed"
    __table_args__ = (Index("ix_order_feed_finished_at", "finished_at"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)  # "csv", or the name of a CRM sync
    through: date
    finished_at: datetime = Field(sa_type=UTCDateTime)
    rows: int


class ModelFit(SQLModel, table=True):
    """One fit of the re-buy models for the workspace; the newest one is used."""

    __tablename__ = "model_fit"
    __table_args__ = (Index("ix_model_fit_created_at", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    r: float | None = None
    alpha: float | None = None
    a: float | None = None
    b: float | None = None
    log_likelihood: float | None = None
    cutoff: date
    accounts: int
    repeaters: int
    fit_seconds: float
    reliable: bool
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    # The median expected order value of the repeaters: above it an account is valuable.
    valuable_from: float | None = None
    # FitResult.to_json(): everything needed to score accounts later.
    result_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
