"""A stored fit as plain data: the models' parameters and `FitResult`, without numpy.

The card, `rebuy model show` and the report read the stored fit through this module, so
they never load the numeric stack for it (scoring loads numpy only, see `scores`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

UNIT_DAYS = {"days": 1.0, "weeks": 7.0}


def unit_days(unit: str) -> float:
    try:
        return UNIT_DAYS[unit]
    except KeyError:
        raise ValueError(f"time unit must be 'days' or 'weeks', not {unit!r}") from None


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}


@dataclass(frozen=True)
class SpendFit:
    """Gamma-Gamma parameters; `reliable` is False when the expected value is not defined."""

    p: float
    q: float
    gamma: float
    reliable: bool
    reason: str = ""


@dataclass(frozen=True)
class FitResult:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    cutoff: date
    accounts: int
    repeaters: int
    fit_seconds: float
    unit: str
    reliable: bool
    reason: str = ""
    history_days: int = 0
    converged: bool = False
    spend: SpendFit | None = None

    @property
    def params(self) -> BGNBDParams:
        return BGNBDParams(r=self.r, alpha=self.alpha, a=self.a, b=self.b)

    def params_in(self, unit: str) -> BGNBDParams:
        """The BG/NBD parameters for times measured in `unit` (only alpha changes)."""
        factor = unit_days(unit) / unit_days(self.unit)
        return BGNBDParams(r=self.r, alpha=self.alpha / factor, a=self.a, b=self.b)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cutoff"] = self.cutoff.isoformat()
        return _finite_or_none(data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FitResult:
        data = dict(data)
        data["cutoff"] = date.fromisoformat(data["cutoff"])
        for name in ("r", "alpha", "a", "b", "log_likelihood"):
            data[name] = math.nan if data.get(name) is None else float(data[name])
        spend = data.get("spend")
        if spend is not None:
            spend = dict(spend)
            for name in ("p", "q", "gamma"):
                spend[name] = math.nan if spend.get(name) is None else float(spend[name])
            data["spend"] = SpendFit(**spend)
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> FitResult:
        return cls.from_dict(json.loads(text))


def _finite_or_none(value):
    # JSON has no NaN: a parameter that could not be estimated is stored as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    return value
