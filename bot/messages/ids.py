"""Every id Rebuy puts in Block Kit and matches again when Slack sends it back: button
`action_id`s, `block_id`s and modal `callback_id`s. The listeners register exactly these,
and the manifest test walks them.

Being `StrEnum`s they are plain strings to Slack, Bolt and JSON.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Action(StrEnum):
    """A button's `action_id`. Buttons that share a block carry a number after a colon
    (`account_show:14`), since Slack refuses a block whose buttons share an action_id;
    `numbered` matches both forms."""

    LOG_TOUCH = "touch_log"
    SNOOZE = "touch_snooze"
    EDIT_PLAN = "plan_edit"
    SHOW_ACCOUNT = "account_show"
    # A pick-list button that also carries what the rep asked to do (log, snooze, plan).
    PICK_ACCOUNT = "account_pick"
    # `/account log`: "what kind of touch was it?" and Undo (handlers/log_command.py).
    LOG_KIND = "touch_kind"
    UNDO = "touch_undo"
    # Away days (handlers/away.py): value the period's id / the last away day / "keep".
    AWAY_CANCEL = "away_cancel"
    AWAY_PAUSE = "away_pause"
    AWAY_KEEP = "away_keep"

    def numbered(self, number: int) -> str:
        """ "account_show:14": this action for item `number` of a block."""
        return f"{self.value}:{number}"

    def pattern(self) -> re.Pattern[str]:
        """Matches the action_id alone and its numbered forms."""
        return re.compile(rf"^{re.escape(self.value)}(:\d+)?$")


class View(StrEnum):
    """A modal's `callback_id`."""

    LOG_MODAL = "touch_log_modal"
    SNOOZE_MODAL = "snooze_modal"
    PLAN_MODAL = "plan_modal"


class BlockId(StrEnum):
    """`block_id`s the listeners look for, or that carry an account id after a colon."""

    ACCOUNT_ACTIONS = "account_actions"  # + ":ID", the card's buttons
    REMINDER_ACTIONS = "reminder_actions"  # + ":ID", a reminder's buttons
    ACCOUNT_PICK = "account_pick"  # a pick list: the click replaces it with its answer
    TOUCH_KIND = "touch_kind"
    TOUCH_UNDO = "touch_undo"
    AWAY_OFFER = "away_offer"
    AWAY_OFFER_ACTIONS = "away_offer_actions"

    def of(self, account_id: int | str) -> str:
        """ "account_actions:7"."""
        return f"{self.value}:{account_id}"


class Field(StrEnum):
    """The input blocks of the modals (`view.state.values[FIELD]["value"]`)."""

    KIND = "kind"
    DATE = "date"
    NOTE = "note"
    LENGTH = "length"
    REASON = "reason"
    CURRENT_STATE = "current_state"
    TARGET_STATE = "target_state"
    HORIZON = "horizon"
    TACTICS = "tactics"


# The element inside every input block (one element per block).
INPUT_ACTION = "value"

SHOW_ACCOUNT_ACTION = Action.SHOW_ACCOUNT.pattern()
PICK_ACCOUNT_ACTION = Action.PICK_ACCOUNT.pattern()
