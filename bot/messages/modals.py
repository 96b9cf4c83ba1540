"""The modals: log a touch, snooze, edit the account plan; and their private metadata."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

from slack_sdk.models.blocks import (
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View as ViewObject

from bot.messages.format import KIND_EMOJI
from bot.messages.ids import INPUT_ACTION, Field, View
from bot.messages.kit import (
    LABEL_TEXT,
    METADATA,
    PLACEHOLDER_TEXT,
    VIEW_TITLE,
    escape,
    option,
    plain,
    section,
)
from bot.retention.touch_kinds import TOUCH_KINDS

if TYPE_CHECKING:  # the tactic bank's type; tactics.py itself still reads the database
    from bot.retention.tactics.tactic import Tactic

NOTE_MAX = 2000  # the log modal's note
SNOOZE_REASON_MAX = 500
PLAN_FIELD_MAX = 1000
TACTIC_OPTIONS = 100  # a select holds at most 100 options
PLAN_HORIZON_DAYS = 120  # the plan's default "by when"
SNOOZE_CHOICES = (("1w", "1 week"), ("2w", "2 weeks"), ("4w", "4 weeks"))


def _metadata(**values) -> str:
    payload = json.dumps(values, separators=(",", ":"))
    if len(payload) > METADATA:
        raise ValueError("private_metadata too large")
    return payload


def read_metadata(view: dict) -> dict:
    try:
        return json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}


def _label(text: str):
    return plain(text, LABEL_TEXT)


def _placeholder(text: str):
    return plain(text, PLACEHOLDER_TEXT)


def _modal(callback_id: View, title: str, submit: str, blocks: list, metadata: str) -> dict:
    view = ViewObject(
        type="modal",
        callback_id=callback_id,
        title=plain(title, VIEW_TITLE),
        submit=plain(submit, VIEW_TITLE),
        close=plain("Cancel", VIEW_TITLE),
        private_metadata=metadata,
        blocks=blocks,
    )
    return view.to_dict()


def log_touch_modal(
    *, account_id: int, account_name: str, today: date, kind: str = "call", **metadata
) -> dict:
    kinds = [option(f"{KIND_EMOJI[k]} {k.capitalize()}", k) for k in TOUCH_KINDS]
    blocks = [
        section(f"*{escape(account_name)}*"),
        InputBlock(
            block_id=Field.KIND,
            label=_label("What kind of touch?"),
            element=StaticSelectElement(
                action_id=INPUT_ACTION,
                options=kinds,
                initial_option=kinds[TOUCH_KINDS.index(kind)],
            ),
        ),
        InputBlock(
            block_id=Field.DATE,
            label=_label("When?"),
            element=DatePickerElement(action_id=INPUT_ACTION, initial_date=today.isoformat()),
        ),
        InputBlock(
            block_id=Field.NOTE,
            label=_label("Note"),
            optional=True,
            element=PlainTextInputElement(
                action_id=INPUT_ACTION,
                multiline=True,
                max_length=NOTE_MAX,
                placeholder=_placeholder("What did you learn?"),
            ),
        ),
    ]
    metadata = _metadata(account_id=account_id, **metadata)
    return _modal(View.LOG_MODAL, "Log a touch", "Log it", blocks, metadata)


def snooze_modal(*, account_id: int, account_name: str, **metadata) -> dict:
    choices = [option(label, value) for value, label in SNOOZE_CHOICES]
    blocks = [
        section(f"Push the next touch for *{escape(account_name)}* back."),
        InputBlock(
            block_id=Field.LENGTH,
            label=_label("For how long?"),
            element=RadioButtonsElement(
                action_id=INPUT_ACTION, options=choices, initial_option=choices[1]
            ),
        ),
        InputBlock(
            block_id=Field.REASON,
            label=_label("Why? (optional)"),
            optional=True,
            element=PlainTextInputElement(
                action_id=INPUT_ACTION,
                max_length=SNOOZE_REASON_MAX,
                placeholder=_placeholder("e.g. buyer on leave"),
            ),
        ),
    ]
    metadata = _metadata(account_id=account_id, **metadata)
    return _modal(View.SNOOZE_MODAL, "Snooze", "Snooze", blocks, metadata)


def _plan_text(field: Field, label: str, initial: str, placeholder: str) -> InputBlock:
    return InputBlock(
        block_id=field,
        label=_label(label),
        element=PlainTextInputElement(
            action_id=INPUT_ACTION,
            multiline=True,
            max_length=PLAN_FIELD_MAX,
            initial_value=initial or None,
            placeholder=_placeholder(placeholder),
        ),
    )


def _multi_select(options: list[Option], initial: list[Option]) -> StaticMultiSelectElement:
    return StaticMultiSelectElement(
        action_id=INPUT_ACTION,
        options=options,
        initial_options=initial or None,
        placeholder=_placeholder("Pick the tactics you will use"),
    )


def plan_modal(
    *,
    account_id: int,
    account_name: str,
    today: date,
    tactics: Iterable[Tactic],
    current_state: str = "",
    target_state: str = "",
    horizon: date | None = None,
    chosen: Sequence[str] = (),
) -> dict:
    options = [option(t.title, t.id) for t in list(tactics)[:TACTIC_OPTIONS]]
    initial = [o for o in options if o.value in set(chosen)]
    horizon = horizon or today + timedelta(days=PLAN_HORIZON_DAYS)
    blocks = [
        section(
            f"*{escape(account_name)}*: where is it now, where should it be in 3–5 "
            "months, and how will you get there?"
        ),
        _plan_text(
            Field.CURRENT_STATE,
            "From: where we are",
            current_state,
            "e.g. one product line, about $20k a quarter",
        ),
        _plan_text(
            Field.TARGET_STATE,
            "To: where we want to be",
            target_state,
            "e.g. two product lines, $35k a quarter",
        ),
        InputBlock(
            block_id=Field.HORIZON,
            label=_label("By when (3–5 months ahead)"),
            element=DatePickerElement(action_id=INPUT_ACTION, initial_date=horizon.isoformat()),
        ),
        InputBlock(
            block_id=Field.TACTICS,
            label=_label("Tactics"),
            optional=True,
            element=_multi_select(options, initial),
        ),
    ]
    return _modal(
        View.PLAN_MODAL, "Account plan", "Save plan", blocks, _metadata(account_id=account_id)
    )
