"""The exactly-once claim on (rep, local date), with a lease a dead instance loses."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.delivery.common import (
    LEASE,
    MAX_ATTEMPTS,
)
from bot.runtime import Runtime
from models import ReminderRun, ReminderStatus

log = logging.getLogger(__name__)


def claim_run(
    session: Session,
    *,
    rep_id: int,
    local_date: date,
    now: datetime,
    instance_id: str,
    lease: timedelta = LEASE,
) -> ReminderRun | None:
    """Claim (rep, local date) for `instance_id`, or None when someone else has it.

    A new row is the common case. An existing row is taken over only if it failed, or
    its claim's lease ran out, and it has attempts left, by one conditional UPDATE:
    of several contenders exactly one sees rowcount 1. The caller commits.
    """
    run = ReminderRun(
        rep_id=rep_id,
        local_date=local_date,
        status=ReminderStatus.CLAIMED,
        attempts=1,
        claimed_by=instance_id,
        lease_until=now + lease,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(run)
        return run
    except IntegrityError:
        pass
    taken = session.execute(
        sa.update(ReminderRun)
        .where(
            ReminderRun.rep_id == rep_id,
            ReminderRun.local_date == local_date,
            ReminderRun.attempts < MAX_ATTEMPTS,
            sa.or_(
                ReminderRun.status == ReminderStatus.FAILED,
                sa.and_(
                    ReminderRun.status == ReminderStatus.CLAIMED, ReminderRun.lease_until < now
                ),
            ),
        )
        .values(
            status=ReminderStatus.CLAIMED,
            claimed_by=instance_id,
            lease_until=now + lease,
            attempts=ReminderRun.attempts + 1,
            error=None,
        )
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return None
    return session.exec(
        select(ReminderRun)
        .where(ReminderRun.rep_id == rep_id, ReminderRun.local_date == local_date)
        .execution_options(populate_existing=True)
    ).one()


def still_ours(session: Session, run_id: int, instance_id: str, now: datetime) -> bool:
    """Renew the lease; False when the claim was taken over (we must stop posting)."""
    renewed = session.execute(
        sa.update(ReminderRun)
        .where(
            ReminderRun.id == run_id,
            ReminderRun.claimed_by == instance_id,
            ReminderRun.status == ReminderStatus.CLAIMED,
        )
        .values(lease_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    return renewed.rowcount == 1


def finish_run(
    runtime: Runtime,
    run_id: int,
    instance_id: str,
    status: ReminderStatus,
    error: str | None = None,
) -> None:
    """End the run with `status` (and `error`), if this instance still holds its claim."""
    now = runtime.now()
    with runtime.db.transaction() as session:
        session.execute(
            sa.update(ReminderRun)
            .where(
                ReminderRun.id == run_id,
                ReminderRun.claimed_by == instance_id,
                ReminderRun.status == ReminderStatus.CLAIMED,
            )
            .values(status=status, error=error, finished_at=now, lease_until=now)
            .execution_options(synchronize_session=False)
        )


class LostClaim(Exception):
    """Another instance took the run over; this one stops without marking it."""
