"""The SQLModel tables, and nothing else. Every table module is imported here."""

from models.accounts import Account, AccountPlan, AwayPeriod, Contact, Rep
from models.activity import TOUCH_KINDS, TOUCH_SOURCES, Order, Snooze, TacticExposure, Touch
from models.names import AccountNamesStamp
from models.rebuy_model import ModelFit, OrderFeed
from models.slack import (
    DigestRun,
    ReactionState,
    ReminderMessage,
    ReminderRun,
    RfmCutoffs,
    SlackEvent,
    SlackRequest,
)
from models.summary import AccountSummary
from models.sync import (
    OUTBOX_STATUSES,
    SYNC_STATUSES,
    CrmOutbox,
    SyncCursor,
    SyncLease,
    SyncPlanned,
    SyncRun,
)

__all__ = [
    "OUTBOX_STATUSES",
    "SYNC_STATUSES",
    "TOUCH_KINDS",
    "TOUCH_SOURCES",
    "Account",
    "AccountNamesStamp",
    "AccountPlan",
    "AccountSummary",
    "AwayPeriod",
    "Contact",
    "CrmOutbox",
    "DigestRun",
    "ModelFit",
    "Order",
    "OrderFeed",
    "ReactionState",
    "ReminderMessage",
    "ReminderRun",
    "Rep",
    "RfmCutoffs",
    "SlackEvent",
    "SlackRequest",
    "Snooze",
    "SyncCursor",
    "SyncLease",
    "SyncPlanned",
    "SyncRun",
    "TacticExposure",
    "Touch",
]
