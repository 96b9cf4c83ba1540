"""The SQLModel tables, and nothing else. Every table module is imported here."""

from models.accounts import Account, AccountPlan, AccountPlanTactic, AwayPeriod, Contact, Rep
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
from models.statuses import DigestStatus, OutboxStatus, ReminderStatus, SyncStatus
from models.summary import AccountSummary
from models.sync import (
    CrmOutbox,
    SyncCursor,
    SyncLease,
    SyncPlanned,
    SyncRun,
)

__all__ = [
    "TOUCH_KINDS",
    "TOUCH_SOURCES",
    "Account",
    "AccountNamesStamp",
    "AccountPlan",
    "AccountPlanTactic",
    "AccountSummary",
    "AwayPeriod",
    "Contact",
    "CrmOutbox",
    "DigestRun",
    "DigestStatus",
    "ModelFit",
    "Order",
    "OrderFeed",
    "OutboxStatus",
    "ReactionState",
    "ReminderMessage",
    "ReminderRun",
    "ReminderStatus",
    "Rep",
    "RfmCutoffs",
    "SlackEvent",
    "SlackRequest",
    "Snooze",
    "SyncCursor",
    "SyncLease",
    "SyncPlanned",
    "SyncRun",
    "SyncStatus",
    "TacticExposure",
    "Touch",
]
