"""What a tactic is, and a tactic picked for an account: plain data the Block Kit layer
renders. This module imports nothing from the database side (no SQLAlchemy, SQLModel,
`models` or `bot.db`), so `bot.messages` can import it freely."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Tactic:
    """One retention tactic from the bank."""

    id: str
    title: str
    how_to: str
    fits: tuple[str, ...]  # best fit first
    effort: str
    channel: str
    requires: tuple[str, ...] = ()  # premises (PREMISES) that must hold for the account
    why: str = ""  # one sentence with {placeholders} from TacticContext.values()


@dataclass(frozen=True)
class TacticPick:
    """A tactic recommended for an account, with why it suits that account."""

    tactic: Tactic
    why: str
    # The account's signal/segment names the tactic answers (empty for a filler pick).
    reasons: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        return self.tactic.id

    @property
    def title(self) -> str:
        return self.tactic.title

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.tactic.id,
            "title": self.tactic.title,
            "why": self.why,
            "how_to": self.tactic.how_to,
            "effort": self.tactic.effort,
            "channel": self.tactic.channel,
        }
