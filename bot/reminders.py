"""The reminder service's public entry points (kept here for their callers); the code
lives in `bot.delivery`."""

from bot.delivery.claims import claim_run
from bot.delivery.common import LEASE, MAX_ATTEMPTS, default_instance_id
from bot.delivery.deliver import RepOutcome, deliver_run
from bot.delivery.digest import claim_digest, digest_week_due, post_weekly_digest
from bot.delivery.pacing import Pacer, TokenBucket
from bot.delivery.plan import RepTarget, SweepPlan, local_reminder_day, plan_sweep, reps_due_now
from bot.delivery.remind import message_preview, preview_reminders, send_reminders_now
from bot.delivery.reps import reps_synced_at, slack_users, sync_reps
from bot.delivery.sweep import SweepResult, run_sweep

__all__ = [
    "LEASE",
    "MAX_ATTEMPTS",
    "Pacer",
    "RepOutcome",
    "RepTarget",
    "SweepPlan",
    "SweepResult",
    "TokenBucket",
    "claim_digest",
    "claim_run",
    "default_instance_id",
    "deliver_run",
    "digest_week_due",
    "local_reminder_day",
    "message_preview",
    "plan_sweep",
    "post_weekly_digest",
    "preview_reminders",
    "reps_due_now",
    "reps_synced_at",
    "run_sweep",
    "send_reminders_now",
    "slack_users",
    "sync_reps",
]
