"""The tactic bank: `tactics.yaml` next to this module, each entry validated by a
pydantic model; a bad entry is refused with a message naming the tactic and the field."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from bot.retention.tactics.context import ALL_PLACEHOLDERS, PREMISES, placeholders
from bot.retention.tactics.tactic import Tactic
from bot.retention.tactics.vocabulary import (
    CHANNELS,
    EFFORTS,
    FIT_NAMES,
    MAX_HOW_TO,
    MAX_ID,
    MAX_TITLE,
    MAX_WHY,
)

TACTICS_PATH = Path(__file__).with_name("tactics.yaml")

_ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _problem(message: str) -> PydanticCustomError:
    return PydanticCustomError("tactic_field", message)


def _text(limit: int):
    def check(value: str) -> str:
        value = " ".join(value.split())  # folded YAML leaves stray newlines and spaces
        if not value:
            raise _problem("must be non-empty text")
        if len(value) > limit:
            raise _problem(f"is {len(value)} characters; the limit is {limit}")
        return value

    return AfterValidator(check)


def _tactic_id(value: str) -> str:
    if not _ID_PATTERN.match(value) or len(value) > MAX_ID:
        raise _problem(f"must be kebab-case, at most {MAX_ID} characters (got {value!r})")
    return value


def _fits(value: list[str]) -> list[str]:
    if not value:
        raise _problem("must be a non-empty list of signal or segment names")
    for name in value:
        if name not in FIT_NAMES:
            raise _problem(f"has unknown name {name!r}; known: {', '.join(FIT_NAMES)}")
    if len(set(value)) != len(value):
        raise _problem("lists a name twice")
    return value


def _requires(value: list[str]) -> list[str]:
    for name in value:
        if name not in PREMISES:
            raise _problem(f"has unknown premise {name!r}; known: {', '.join(PREMISES)}")
    return value


def _why(value: str) -> str:
    unknown = sorted(placeholders(value) - set(ALL_PLACEHOLDERS))
    if unknown:
        raise _problem(f"has unknown placeholder {{{unknown[0]}}}")
    try:  # filled in with text, as every account's numbers are ("12 days", "$4,000")
        value.format(**dict.fromkeys(ALL_PLACEHOLDERS, "12 days"))
    except (ValueError, IndexError, KeyError, AttributeError) as error:
        raise _problem(
            f"cannot be filled in ({error}); write each placeholder as {{name}}, "
            "with no format spec, conversion or empty braces"
        ) from None
    return value


class TacticEntry(BaseModel):
    """One entry of `tactics.yaml`, as written there."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: Annotated[str, AfterValidator(_tactic_id)]
    title: Annotated[str, _text(MAX_TITLE)]
    how_to: Annotated[str, _text(MAX_HOW_TO)]
    fits: Annotated[list[str], AfterValidator(_fits)]
    effort: Literal[EFFORTS]  # type: ignore[valid-type]
    channel: Literal[CHANNELS]  # type: ignore[valid-type]
    requires: Annotated[list[str], AfterValidator(_requires)] = []
    why: Annotated[str, _text(MAX_WHY), AfterValidator(_why)] = ""

    def tactic(self) -> Tactic:
        return Tactic(
            id=self.id,
            title=self.title,
            how_to=self.how_to,
            fits=tuple(self.fits),
            effort=self.effort,
            channel=self.channel,
            requires=tuple(self.requires),
            why=self.why,
        )


def load_tactics(path: Path | None = None) -> dict[str, Tactic]:
    """The tactics in `path` (default: the bundled bank), by id, validated.

    Raises ValueError naming the tactic and the field when the data is bad.
    """
    if path is None or Path(path).resolve() == TACTICS_PATH.resolve():
        return dict(_default_bank())
    return _load(Path(path))


def tactic_bank() -> dict[str, Tactic]:
    """The bundled tactic bank, by id (a copy: the caller may change it)."""
    return load_tactics()


@functools.cache
def _default_bank() -> dict[str, Tactic]:
    return _load(TACTICS_PATH)


def _load(path: Path) -> dict[str, Tactic]:
    try:
        # libyaml's C loader when the wheel has it: ~10× faster on the bundled bank.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except yaml.YAMLError as error:
        raise ValueError(f"{path.name}: not valid YAML: {error}") from error
    entries = data.get("tactics") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path.name}: expected a non-empty list under `tactics:`")
    bank: dict[str, Tactic] = {}
    for number, entry in enumerate(entries, start=1):
        tactic = _parse(entry, source=path.name, number=number)
        if tactic.id in bank:
            raise ValueError(f"{path.name}: tactic '{tactic.id}': field 'id' is a duplicate")
        bank[tactic.id] = tactic
    return bank


def _parse(entry: Any, *, source: str, number: int) -> Tactic:
    raw_id = entry.get("id") if isinstance(entry, dict) else None
    where = (
        f"{source}: tactic '{raw_id}'" if isinstance(raw_id, str) else f"{source}: tactic #{number}"
    )
    if not isinstance(entry, dict):
        fields = ", ".join(TacticEntry.model_fields)
        raise ValueError(f"{where}: expected a mapping with fields {fields}")
    try:
        return TacticEntry.model_validate(entry).tactic()
    except ValidationError as error:
        raise ValueError(f"{where}: {_describe(error)}") from None


def _describe(error: ValidationError) -> str:
    """The first problem, as "field 'effort' must be one of …"."""
    problems = error.errors(include_url=False)
    # An unknown field first: it is usually a typo of the field reported missing.
    first = next((p for p in problems if p["type"] == "extra_forbidden"), problems[0])
    name = str(first["loc"][0]) if first["loc"] else "?"
    kind = first["type"]
    if kind == "tactic_field":
        message = first["msg"]
    elif kind == "extra_forbidden":
        message = "is not a tactic field"
    elif kind == "missing":
        message = "is missing"
    elif kind == "literal_error":
        choices = EFFORTS if name == "effort" else CHANNELS
        message = f"must be one of {', '.join(choices)} (got {first['input']!r})"
    else:
        message = f"{first['msg'][:1].lower()}{first['msg'][1:]} (got {first['input']!r})"
    return f"field '{name}' {message}"
