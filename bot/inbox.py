"""Slack deliveries already taken, so that each is acted on once: Events API deliveries
by `event_id`, commands and interactions by a key of the request (the database's unique
keys decide, across threads and processes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models import SlackEvent, SlackRequest


def event_seen(*, session: Session, event_id: str) -> bool:
    """Was this Events API delivery already claimed?"""
    return session.get(SlackEvent, event_id[:64]) is not None


def claim_event(*, session: Session, event_id: str, event_type: str, now: datetime) -> bool:
    """Record an Events API delivery; False when its event_id was already claimed (a
    retry, possibly arriving while the first is still being handled)."""
    try:
        with session.begin_nested():
            session.add(
                SlackEvent(event_id=event_id[:64], event_type=event_type[:64], received_at=now)
            )
    except IntegrityError:
        return False
    return True


def claim_request(*, session: Session, key: str, kind: str, now: datetime) -> bool:
    """Record a command or interaction; False when it was already claimed (the same
    signed request sent again)."""
    try:
        with session.begin_nested():
            session.add(SlackRequest(request_key=key, kind=kind[:32], received_at=now))
    except IntegrityError:
        return False
    return True
