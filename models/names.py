"""The stamp of the account names (bot/retention/name_index.py)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class AccountNamesStamp(SQLModel, table=True):
    """One row (id 1) whose token changes whenever an account's name, normalised name,
    CRM id or archived flag changes, or an account is added or deleted. Triggers on
    `account` keep it (migration 0010), so every writer does, whatever path it takes;
    a process holding the names in memory rebuilds them only when the token moved."""

    __tablename__ = "account_names_stamp"

    id: int = Field(default=1, primary_key=True)
    token: str = Field(max_length=40)
