"""The header of an import file and how its columns map onto Rebuy's fields."""

from __future__ import annotations

import re
from pathlib import Path

from bot.retention.errors import InvalidInput
from bot.retention.importer.formats import EXTRA_FIELDS, FORMATS, FileFormat, ImportOptions, a_kind
from bot.retention.importer.presets import VENDORS, Preset, presets_for

# --- the header and its mapping ----------------------------------------------------------

_HEADER_SEPARATORS = re.compile(r"[\s\-.]+")
_UNDERSCORES = re.compile(r"_{2,}")


def normalise_header(cell: str) -> str:
    """ " Owner E-mail " -> "owner_e_mail": lower case; runs of spaces, hyphens, dots
    and underscores become one underscore; none at either end."""
    name = _HEADER_SEPARATORS.sub("_", cell.strip().lower())
    return _UNDERSCORES.sub("_", name).strip("_")


def header_key(cell: str) -> str:
    """What header cells are matched on: the normalised name without underscores or
    brackets, so "Owner E-mail", "owner_email" and "OwnerEmail" are the same column."""
    return re.sub(r"[_()/]", "", normalise_header(cell))


def or_list(names: list[str]) -> str:
    quoted = [f"“{name}”" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _find(cells: list[str], header: str) -> int | None:
    for index, cell in enumerate(cells):
        if cell == header:
            return index
    key = header_key(header)
    for index, cell in enumerate(cells):
        if header_key(cell) == key:
            return index
    return None


def resolve_columns(
    path: Path, kind: str, cells: list[str], line: int, options: ImportOptions, found: FileFormat
) -> dict[str, int]:
    """Field -> column index: the --map columns, then the CRM preset (given with --from
    or recognised from the headers), then headers named like Rebuy's own fields."""
    fmt = FORMATS[kind]
    fields = fmt.required + fmt.optional + EXTRA_FIELDS.get(kind, ())
    columns: dict[str, int] = {}
    for name, header in options.columns.items():
        if name not in fields:
            raise InvalidInput(
                f"--map: “{name}” is not a field of {a_kind(kind)} import; "
                f"use one of: {', '.join(fields)}."
            )
        index = _find(cells, header)
        if index is None:
            raise InvalidInput(
                f"--map {name}=“{header}”: {path} has no column “{header}” "
                f"(found: {', '.join(c for c in cells if c) or 'nothing'})."
            )
        columns[name] = index

    own = _own_columns(path, cells, line, fields)
    candidates = presets_for(kind, options.vendor)
    needs_preset = options.vendor is not None or any(
        name not in columns and name not in own for name in fmt.required
    )
    if needs_preset and candidates:
        best = max(
            ((preset, _preset_columns(preset, cells)) for preset in candidates),
            key=lambda pair: (_covers(kind, fmt.required, {**pair[1], **columns}), len(pair[1])),
        )
        preset, matched = best
        if _covers(kind, fmt.required, {**matched, **columns}):
            found.preset = preset
            columns = {**matched, **columns}
        elif options.vendor is not None:
            names = ", ".join(p.name for p in candidates)
            raise InvalidInput(
                f"{path}: line {line}: the headers do not look like a {names} export "
                f"(found: {', '.join(c for c in cells if c) or 'nothing'}). "
                f"Name the columns with --map, e.g. --map "
                f'{fmt.required[0]}="{cells[0] if cells else "Column"}".'
            )
    for name, index in own.items():
        if index not in columns.values():
            columns.setdefault(name, index)
    if (
        kind == "contacts"
        and "name" not in columns
        and ("first_name" in columns or "last_name" in columns)
    ):
        columns["name"] = -1  # built from first and last name
    missing = [name for name in fmt.required if name not in columns]
    if missing:
        found_cells = ", ".join(cell for cell in cells if cell) or "nothing"
        vendors = "|".join(VENDORS)
        raise InvalidInput(
            f"{path}: line {line}: the {kind} file has no {or_list(missing)} column "
            f"(found: {found_cells}). Expected columns: {fmt.describe()}; case, spaces and "
            f"hyphens in the names do not matter. Name yours with --map "
            f'{missing[0]}="Your header", or pick a CRM export with --from {vendors}.'
        )
    found.mapping = [
        (name, cells[index] if index >= 0 else "First Name + Last Name")
        for name, index in sorted(columns.items(), key=lambda item: fields.index(item[0]))
    ]
    return columns


def _covers(kind: str, required: tuple[str, ...], columns: dict[str, int]) -> bool:
    have = set(columns)
    if kind == "contacts" and ("first_name" in have or "last_name" in have):
        have.add("name")
    return all(name in have for name in required)


def _preset_columns(preset: Preset, cells: list[str]) -> dict[str, int]:
    keys = {}
    for index, cell in enumerate(cells):
        keys.setdefault(header_key(cell), index)
    columns: dict[str, int] = {}
    taken: set[int] = set()
    for name, headers in preset.headers.items():
        for header in headers:
            index = keys.get(header_key(header))
            if index is not None and index not in taken:
                columns[name] = index
                taken.add(index)
                break
    return columns


def _own_columns(
    path: Path, cells: list[str], line: int, fields: tuple[str, ...]
) -> dict[str, int]:
    """Headers named like Rebuy's fields ("External ID", "owner-email")."""
    known = {header_key(name): name for name in fields}
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = known.get(header_key(cell))
        if name is None:
            continue
        if name in columns:
            first = columns[name]
            raise InvalidInput(
                f"{path}: line {line}: column “{name}” appears twice in the header "
                f"(“{cells[first]}” in column {first + 1} and “{cell}” in column {index + 1})."
            )
        columns[name] = index
    return columns
