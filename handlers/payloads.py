"""What comes back to us inside Slack payloads (button values, modal metadata), checked.

Button values and `private_metadata` are ours when they leave, but they return in a
request: a tampered or stale one must get a clear private message, never an exception
and never an action on the wrong account or for ever.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from bot.messages.format import QUERY_SHOWN
from bot.retention.actions import NOTE_MAX, REASON_MAX
from bot.retention.errors import InvalidInput
from bot.retention.touch_kinds import TOUCH_KINDS

BIGINT_MAX = 2**63 - 1
# The same cap as `/account snooze` and the snooze modal.
SNOOZE_MAX_DAYS = 366
QUERY_MAX = QUERY_SHOWN + 1  # the name a rep typed, as quoted back (+ "…")
EXPIRED = "That button no longer works. Run the `/account` command again."
STALE_MODAL = "This form is out of date. Close it and open it again from `/account NAME`."

AccountId = Annotated[StrictInt, Field(gt=0, le=BIGINT_MAX)]
SLACK_ID = r"^[A-Z0-9]{2,32}$"
MESSAGE_TS = r"^\d{1,12}\.\d{1,9}$"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PickValue(_Payload):
    """A pick-list button: the account chosen and what the rep asked to do with it."""

    id: AccountId
    do: Literal["log", "snooze", "plan"]
    kind: Literal[TOUCH_KINDS] | None = None  # type: ignore[valid-type]
    note: Annotated[str, Field(max_length=NOTE_MAX + 1)] | None = None
    on: date | None = None  # the day a touch to log happened (None: today)
    until: date | None = None
    reason: Annotated[str, Field(max_length=REASON_MAX + 1)] | None = None
    cut: Literal[1] | None = None

    def snooze_until(self, *, today: date) -> date:
        """The snooze's end, within the same bounds as the command and the modal."""
        if self.until is None or not today < self.until <= today + timedelta(SNOOZE_MAX_DAYS):
            raise InvalidInput(
                "That snooze button is out of date or its date is not allowed (a snooze "
                "ends after today and lasts a year at most). Run `/account snooze` again."
            )
        return self.until


class KindChoice(_Payload):
    """A button of "what kind of touch was it?": the touch to log, now with its kind."""

    id: AccountId
    kind: Literal[TOUCH_KINDS]  # type: ignore[valid-type]
    on: date | None = None
    note: Annotated[str, Field(max_length=NOTE_MAX + 1)] | None = None
    cut: Literal[1] | None = None
    q: Annotated[str, Field(max_length=QUERY_MAX)] | None = None  # the name typed, if fuzzy


UNDO_KEY = r"^cmd:[0-9a-f]{32}$"


class UndoValue(_Payload):
    """An Undo button: the touch or snooze a command made, by its own unique key."""

    what: Literal["touch", "snooze"]
    key: Annotated[str, Field(pattern=UNDO_KEY)]


class ModalMetadata(_Payload):
    """A modal's `private_metadata`: the account and where the modal was opened from."""

    account_id: AccountId
    channel: Annotated[str, Field(pattern=SLACK_ID)] | None = None
    message_ts: Annotated[str, Field(pattern=MESSAGE_TS)] | None = None
    response_url: Annotated[str, Field(max_length=500)] | None = None
    home: Literal[1] | None = None

    @field_validator("response_url")
    @classmethod
    def _https_or_local(cls, url: str | None) -> str | None:
        if url is not None and urlsplit(url).scheme not in ("https", "http"):
            raise ValueError("not a URL")
        return url


def _text_account_id(value: object) -> int:
    text = value if isinstance(value, str) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise InvalidInput(EXPIRED)
    number = int(text)
    if not 0 < number <= BIGINT_MAX:
        raise InvalidInput(EXPIRED)
    return number


def button_account_id(body: dict) -> int:
    """The account id a card or Home button carries (its value, a decimal string)."""
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else {}
    return _text_account_id(action.get("value") if isinstance(action, dict) else None)


def pick_value(body: dict) -> PickValue:
    """The checked value of a pick-list button; InvalidInput (a clear message) if bad."""
    return _checked(body, PickValue)


def _checked(body: dict, model: type[_Payload]):
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else {}
    raw = action.get("value") if isinstance(action, dict) else None
    try:
        return model.model_validate_json(raw if isinstance(raw, str) else "")
    except ValidationError:
        raise InvalidInput(EXPIRED) from None


def kind_choice(body: dict) -> KindChoice:
    """The checked value of a touch-kind button; InvalidInput (a clear message) if bad."""
    return _checked(body, KindChoice)


def undo_value(body: dict) -> UndoValue:
    """The checked value of an Undo button; InvalidInput (a clear message) if bad."""
    return _checked(body, UndoValue)


def modal_metadata(view: dict, *, allowed_response_urls: tuple[str, ...]) -> ModalMetadata:
    """The checked metadata of a submitted modal; InvalidInput (a clear message) if bad.

    A response_url is kept only when it points where Slack's own do
    (`allowed_response_urls`): metadata must never send us to any other address."""
    raw = view.get("private_metadata") if isinstance(view, dict) else None
    try:
        data = json.loads(raw if isinstance(raw, str) and raw else "{}")
        meta = ModalMetadata.model_validate(data)
    except (ValueError, ValidationError):
        raise InvalidInput(STALE_MODAL) from None
    if meta.response_url and not meta.response_url.startswith(allowed_response_urls):
        meta = meta.model_copy(update={"response_url": None})
    return meta
