"""The words a tactic is described with: the fits it answers (signals, RFM segments,
`no_signals`), efforts, channels, and the limits on its text."""

from __future__ import annotations

import re

from bot.retention.signals import MODEL_SIGNAL_NAMES, SIGNAL_NAMES

SIGNALS = (*SIGNAL_NAMES, *MODEL_SIGNAL_NAMES)
SEGMENTS = (
    "champions",
    "loyal",
    "potential_loyalists",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose",
    "hibernating",
    "lost",
    "no_purchases",
)
# Matches an account that shows no signal at all: keep the relationship warm.
NO_SIGNALS = "no_signals"
FIT_NAMES = (*SIGNALS, *SEGMENTS, NO_SIGNALS)
EFFORTS = ("low", "medium", "high")
CHANNELS = ("call", "email", "meeting", "visit", "any")

MAX_TITLE = 60
MAX_HOW_TO = 500
MAX_WHY = 200
MAX_ID = 64  # the width of touch.tactic_id and tactic_exposure.tactic_id
MAX_SURFACE = 16  # the width of tactic_exposure.surface


def segment_fit_name(segment: str | None) -> str | None:
    """The fit name for an RFM segment display name: "Can't lose" -> "cant_lose".

    Unknown or empty segments give None.
    """
    if not segment:
        return None
    key = re.sub(r"['’]", "", segment.strip().casefold())
    key = re.sub(r"[^a-z0-9]+", "_", key).strip("_")
    return key if key in SEGMENTS else None
