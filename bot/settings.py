"""Configuration, read once at start-up from the environment and `.env`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.retention.limits import MAX_CADENCE_DAYS

DEFAULT_TIER_CADENCE = {"key": 14, "mid": 30, "small": 60}
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class Settings(BaseSettings):
    """Every knob Rebuy has. Build one with `Settings()` and pass it down."""

    # An empty variable (REBUY_NOW= in a .env) means "not set".
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    # Our app's id (A…). When unset it is asked of Slack (bots.info) at start-up; requests
    # for any other app are ignored.
    slack_app_id: str | None = None
    database_url: str = "sqlite:///rebuy.db"
    port: int = 3000
    reminder_time: time = time(9, 0)
    # The end of the morning window: a rep not reminded by then (the process was down,
    # Slack was out) gets nothing that day rather than a "good morning" at night.
    reminder_cutoff: time = time(12, 0)
    # Public holidays of reps without a country of their own (ISO code, e.g. DE), and
    # optionally a subdivision (e.g. BY). Unset: only weekends are days off.
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    reminder_max_per_day: int = Field(default=6, ge=1, le=20)
    digest_channel: str | None = None
    admin_user_ids: Annotated[frozenset[str], NoDecode] = frozenset()
    rebuy_now: datetime | None = None
    # The date the order data is complete through, for the re-buy model; unset: the
    # latest orders import's through-date.
    rebuy_data_cutoff: date | None = None
    # Tier name -> default days between touches. JSON in the environment,
    # e.g. REBUY_TIER_CADENCE='{"key": 14, "mid": 30, "small": 60, "tail": 90}'.
    rebuy_tier_cadence: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_TIER_CADENCE))
    listener_threads: int = Field(default=32, ge=4)
    # Reps whose reminders are delivered at once. Each rep's DM is paced at about one
    # message a second, so reaching SLACK_POST_RATE takes roughly that many reps in flight.
    delivery_concurrency: int = Field(default=24, ge=1)
    # chat.postMessage calls a second, workspace-wide, that reminder runs pace themselves
    # to (Slack's workspace cap is unpublished; a 429 is still honoured via Retry-After).
    slack_post_rate: float = Field(default=20.0, gt=0)
    # The weekly digest goes to DIGEST_CHANNEL on Monday after REMINDER_TIME in this zone.
    digest_timezone: str = "UTC"
    # Live CRM sync (README "Connect your CRM"). A source is on when its secrets are set.
    hubspot_token: str | None = None  # a private app's access token
    hubspot_api_url: str | None = None  # only to point at a test double
    salesforce_instance_url: str | None = None  # e.g. https://acme.my.salesforce.com
    # An access token (session id) from your OAuth flow, or username + password +
    # security token for a Salesforce login.
    salesforce_token: str | None = Field(
        default=None, validation_alias=AliasChoices("salesforce_token", "salesforce_session")
    )
    salesforce_username: str | None = None
    salesforce_password: str | None = None
    salesforce_security_token: str | None = None
    salesforce_domain: str = "login"  # "test" for a sandbox; the My Domain ("acme.my")
    # A connected app's client credentials flow (instead of a token or a password).
    salesforce_client_id: str | None = None
    salesforce_client_secret: str | None = None
    salesforce_login_url: str | None = None  # only for scratch orgs and test doubles
    sync_sql_url: str | None = None  # any SQLAlchemy URL: the ERP, the shop, the warehouse
    sync_sql_queries: str | None = None  # a YAML file with one query per kind
    sync_interval_minutes: int = Field(default=60, ge=5, le=1440)
    # Records written per transaction (the cursor moves with each).
    sync_chunk_records: int = Field(default=5000, ge=50)

    @field_validator("digest_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use e.g. Europe/Berlin)") from None
        return value

    @field_validator("rebuy_tier_cadence")
    @classmethod
    def _tiers(cls, value: dict[str, int]) -> dict[str, int]:
        if not value:
            raise ValueError('name at least one tier, e.g. {"mid": 30}')
        tiers = {}
        for name, days in value.items():
            tier = name.strip().lower()
            if not tier:
                raise ValueError("tier names cannot be empty")
            if not 1 <= days <= MAX_CADENCE_DAYS:
                raise ValueError(
                    f"tier {tier!r}: days between touches must be 1 to {MAX_CADENCE_DAYS}"
                )
            tiers[tier] = days
        return tiers

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part for part in re.split(r"[\s,]+", value) if part)
        return value

    @field_validator("holiday_country", "holiday_subdivision")
    @classmethod
    def _upper_code(cls, value: str | None) -> str | None:
        return value.strip().upper() or None if value else None

    @model_validator(mode="after")
    def _calendar_and_window(self) -> Settings:
        _check_holiday_region(self.holiday_country, self.holiday_subdivision)
        if self.reminder_cutoff <= self.reminder_time:
            raise ValueError(
                f"REMINDER_CUTOFF ({self.reminder_cutoff:%H:%M}) must be after "
                f"REMINDER_TIME ({self.reminder_time:%H:%M})"
            )
        return self

    @field_validator("reminder_time", "reminder_cutoff", mode="before")
    @classmethod
    def _parse_time(cls, value: object) -> object:
        if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
            hours, minutes = value.strip().split(":")
            return time(int(hours), int(minutes))
        return value

    @field_validator("rebuy_now")
    @classmethod
    def _aware_now(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @property
    def tiers(self) -> tuple[str, ...]:
        return tuple(self.rebuy_tier_cadence)

    def cadence_for_tier(self, tier: str | None) -> int:
        """Default days between touches for a tier (unknown tiers get the slowest)."""
        if tier and tier in self.rebuy_tier_cadence:
            return self.rebuy_tier_cadence[tier]
        return max(self.rebuy_tier_cadence.values())


def _check_holiday_region(country: str | None, subdivision: str | None) -> None:
    """HOLIDAY_COUNTRY / HOLIDAY_SUBDIVISION must be known to the holidays package.

    Asks for that one country only: listing every supported country imports all of the
    package's ~250 country modules, which cost more than the rest of a CLI command.
    """
    if subdivision and not country:
        raise ValueError(f"HOLIDAY_SUBDIVISION {subdivision!r} needs a HOLIDAY_COUNTRY")
    if not country:
        return
    import holidays

    try:
        holidays.country_holidays(country)
    except NotImplementedError:
        raise ValueError(
            f"HOLIDAY_COUNTRY {country!r} is not a country code the "
            "holidays package knows (use e.g. US, DE, GB)"
        ) from None
    if subdivision:
        try:
            holidays.country_holidays(country, subdiv=subdivision)
        except NotImplementedError:
            raise ValueError(
                f"HOLIDAY_SUBDIVISION {subdivision!r} is not a subdivision of "
                f"HOLIDAY_COUNTRY {country!r}"
            ) from None
