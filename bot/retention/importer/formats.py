"""The import kinds' columns, the options an import takes, and what was detected."""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

from bot.retention.importer.presets import Preset

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass(frozen=True)
class _Format:
    required: tuple[str, ...]
    optional: tuple[str, ...]

    def describe(self) -> str:
        return ", ".join(self.required) + (
            " (optional: " + ", ".join(self.optional) + ")" if self.optional else ""
        )


FORMATS = {
    "accounts": _Format(
        ("external_id", "name"),
        (
            "owner_email",
            "tier",
            "annual_value",
            "cadence_days",
            "owner_country",
            "owner_subdivision",
        ),
    ),
    "orders": _Format(
        ("account_external_id", "ordered_at", "amount"), ("order_id", "product", "stage")
    ),
    "contacts": _Format(("account_external_id", "name"), ("email", "title")),
    "touches": _Format(
        ("account_external_id", "touched_at"),
        ("kind", "rep_email", "note", "touch_id", "subject", "done"),
    ),
}
# Fields a mapping may name besides the format's own: a contact's name in two parts.
EXTRA_FIELDS = {"contacts": ("first_name", "last_name")}


@dataclass(frozen=True)
class ImportOptions:
    """How to read a file; every option is detected when not given."""

    columns: dict[str, str] = field(default_factory=dict)  # field -> header, from --map
    vendor: str | None = None  # --from
    date_format: str | None = None
    date_order: str | None = None  # set when a restart proved the day/month order
    locale: str | None = None
    delimiter: str | None = None
    encoding: str | None = None


@dataclass
class FileFormat:
    """What was detected (or given) about the file, for the summary."""

    encoding: str
    delimiter: str
    encoding_detected: bool = True
    delimiter_detected: bool = True
    preset: Preset | None = None
    mapping: list[tuple[str, str]] = field(default_factory=list)  # (field, header) used

    def describe(self) -> str:
        how = "detected" if self.encoding_detected else "given"
        enc = f"{encoding_label(self.encoding)} ({how})"
        how = "detected" if self.delimiter_detected else "given"
        separator = DELIMITERS.get(self.delimiter, repr(self.delimiter))
        return f"read as {enc}, {separator}-separated ({how})"


def encoding_label(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return {
        "utf-8": "UTF-8",
        "utf-8-sig": "UTF-8 with BOM",
        "utf-16": "UTF-16",
        "cp1252": "Windows-1252",
    }.get(name, name)


def a_kind(kind: str) -> str:
    """The kind with its article: "an orders", "an accounts", "a contacts"."""
    return f"{'an' if kind.startswith(tuple('aeiou')) else 'a'} {kind}"
