"""Reading an import file: encoding and delimiter, the header, the column mapping, rows."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from charset_normalizer import from_bytes

from bot.retention.errors import InvalidInput
from bot.retention.importer.dates import DateParser
from bot.retention.importer.formats import (
    DELIMITERS,
    FORMATS,
    FileFormat,
    ImportOptions,
    a_kind,
    encoding_label,
)
from bot.retention.importer.mapping import resolve_columns
from bot.retention.importer.presets import Preset
from bot.retention.importer.problems import ProblemLog
from bot.retention.importer.values import Bad, MoneyParser

PROGRESS_EVERY = 5_000
_SAMPLE_BYTES = 1 << 16
# How .xlsx (a zip) and .xls (an OLE compound file) begin: a workbook, never CSV text.
_WORKBOOKS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def sniff(path: Path, options: ImportOptions) -> FileFormat:
    """The file's encoding (BOM, else UTF-8, else charset-normalizer's best guess) and
    delimiter (the candidate most frequent outside quotes in the header line)."""
    try:
        with path.open("rb") as raw:
            sample = raw.read(_SAMPLE_BYTES)
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path}: is a folder, not a CSV file.") from None
    except OSError as error:
        raise InvalidInput(f"{path}: cannot open the file ({error.strerror}).") from None
    if sample.startswith(_WORKBOOKS[1]):
        raise InvalidInput(
            f"{path}: is an Excel workbook, not a CSV file; in Excel, save it with File › "
            "Save As › “CSV UTF-8 (Comma delimited)” and import that file."
        )
    if sample.startswith(_WORKBOOKS[0]):  # .xlsx, or any other zip archive
        raise InvalidInput(
            f"{path}: is a zip archive (an Excel .xlsx workbook is one), not a CSV file; "
            "unzip it, or in Excel save it with File › Save As › “CSV UTF-8 (Comma "
            "delimited)”, and import that file."
        )
    encoding = options.encoding
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InvalidInput(
                f"--encoding: “{encoding}” is not an encoding; use e.g. utf-8, utf-16, cp1252."
            ) from None
    else:
        encoding = _detect_encoding(sample)
    delimiter = options.delimiter
    if delimiter is not None:
        delimiter = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}.get(
            delimiter, delimiter
        )
        if len(delimiter) != 1:
            raise InvalidInput(
                f"--delimiter: “{options.delimiter}” is not one character; use , ; tab or |."
            )
    else:
        text = sample.decode(encoding, errors="replace")
        delimiter = _detect_delimiter(text)
    return FileFormat(
        encoding=encoding,
        delimiter=delimiter,
        encoding_detected=options.encoding is None,
        delimiter_detected=options.delimiter is None,
    )


def _detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        if error.start >= len(sample) - 3 and len(sample) == _SAMPLE_BYTES:
            return "utf-8"  # a character cut in two by the end of the sample
    matches = list(from_bytes(sample))
    if not matches:
        return "cp1252"
    # A short sample reads plausibly in several code pages; Excel's Western default
    # wins when it is among the detector's top candidates.
    top = [match.encoding for match in matches[:3]]
    single_byte = top[0].startswith(("cp", "iso8859", "latin", "mac", "hp"))
    try:
        sample.decode("cp1252")
    except UnicodeDecodeError:
        return top[0]
    return "cp1252" if "cp1252" in top or single_byte else top[0]


_QUOTED = re.compile(r'"(?:[^"]|"")*"')


def _detect_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:5] if line.strip()]
    if not lines:
        return ","
    header = _QUOTED.sub("", lines[0])
    counts = {candidate: header.count(candidate) for candidate in DELIMITERS}
    best = max(counts, key=lambda c: (counts[c], c == ","))
    return best if counts[best] else ","


@contextmanager
def open_text(path: Path, encoding: str) -> Iterator[TextIO]:
    """Open an import file as text, turning OS errors into InvalidInput."""
    try:
        handle = path.open(encoding=encoding, newline="")
    except OSError as error:
        raise InvalidInput(f"{path}: cannot open the file ({error.strerror}).") from None
    with handle:
        yield handle


def not_text(path: Path, encoding: str) -> InvalidInput:
    """Name the first line that does not decode (the decoder reads ahead, so look again)."""
    where = ""
    if codecs.lookup(encoding).name.startswith("utf-8"):
        with path.open("rb") as raw_file:
            for number, raw in enumerate(raw_file, start=1):
                if number == 1:
                    raw = raw.removeprefix(codecs.BOM_UTF8)
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    where = f" line {number} (byte 0x{raw[error.start]:02X})"
                    break
    return InvalidInput(
        f"{path}:{where} is not {encoding_label(encoding)} text; pass --encoding "
        "(e.g. --encoding cp1252) or save the file as “CSV UTF-8”."
    )


# --- rows --------------------------------------------------------------------------------


def _without_nul(handle: TextIO, path: Path) -> Iterator[str]:
    """The file's lines (as the csv reader counts them); a NUL byte stops the import, as
    no database column can hold one (PostgreSQL refuses it in text)."""
    for number, line in enumerate(handle, start=1):
        if "\x00" in line:
            raise InvalidInput(
                f"{path}: line {number} holds a NUL byte (0x00), which is not text: the file "
                "is damaged or UTF-16 without a byte order mark; export it again as CSV "
                "UTF-8, or pass --encoding utf-16-le (or utf-16-be)."
            )
        yield line


class CsvRows:
    """The data rows of one file, each with the line it starts on (the header is line 1).

    Blank lines are skipped. Rows that are not valid CSV, or that have more values
    than the header has columns, are recorded in `problems` and not yielded; short
    rows are padded with empty values. Planners count the identical repeats of a row
    they collapse in `duplicates`.
    """

    def __init__(
        self,
        path: Path,
        kind: str,
        handle: TextIO,
        options: ImportOptions,
        found: FileFormat,
        progress: Callable[[str, int, int | None], None] | None,
    ) -> None:
        self.path = path
        self.kind = kind
        self.progress = progress
        self.problems = ProblemLog()
        self.count = 0
        self.duplicates = 0
        self.to_write = 0  # set by the planner: rows the write will insert or update
        self.written = 0
        self.found = found
        self.encoding = found.encoding
        # strict: a stray quote ("abc"def) or an unclosed one is an error, not a guess.
        self._reader = csv.reader(
            _without_nul(handle, path), delimiter=found.delimiter, strict=True
        )
        self._last_line = 0
        self.money = MoneyParser(options.locale)
        self.dates = DateParser(options.date_format, options.date_order, f"{path}: ")
        self.cells, header_line = self._read_header()
        self.columns = resolve_columns(path, kind, self.cells, header_line, options, found)
        self.problems.headers = {
            field: self.cells[index]
            for field, index in self.columns.items()
            if self.cells[index].casefold().replace(" ", "_") != field
        }
        self.width = len(self.cells)

    @property
    def preset(self) -> Preset | None:
        return self.found.preset

    def _read_header(self) -> tuple[list[str], int]:
        header: list[str] = []
        try:
            for header in self._reader:
                if any(cell.strip() for cell in header):
                    break
        except UnicodeDecodeError:
            raise not_text(self.path, self.encoding) from None
        except csv.Error as error:
            raise InvalidInput(
                f"{self.path}: line {self._reader.line_num}: the header is not valid CSV ({error})."
            ) from None
        self._last_line = self._reader.line_num
        cells = [cell.strip().lstrip("\ufeff") for cell in header]
        if not any(cells):
            fmt = FORMATS[self.kind]
            raise InvalidInput(
                f"{self.path}: the file is empty; {a_kind(self.kind)} file starts with a header "
                f"line naming its columns: {fmt.describe()}."
            )
        return cells, self._last_line

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        reader = self._reader
        width = self.width
        progress = self.progress
        count = self.count
        last = self._last_line
        while True:
            try:
                for row in reader:
                    line = last + 1
                    last = reader.line_num
                    if not any(row) or (not row[0].strip() and not "".join(row).strip()):
                        continue  # a blank line, or one of empty or blank cells
                    if len(row) != width:
                        try:
                            row = self._fit(row)
                        except Bad as error:
                            count += 1
                            self.count = count
                            self.problems.add(line, None, error.reason)
                            continue
                        if row is None:
                            continue
                    count += 1
                    self.count = count
                    if progress is not None and not count % PROGRESS_EVERY:
                        progress("reading", count, None)
                    yield line, row
                return
            except csv.Error as error:
                count += 1
                self.count = count
                self.problems.add(last + 1, None, f"not valid CSV ({error}); check the quotes")
                last = reader.line_num
            except UnicodeDecodeError:
                raise not_text(self.path, self.encoding) from None

    def _fit(self, row: list[str]) -> list[str] | None:
        """Pad a short row; refuse a long one (an unquoted comma shifts every value)."""
        if not "".join(row).strip():
            return None
        if len(row) < self.width:
            return row + [""] * (self.width - len(row))
        if not any(cell.strip() for cell in row[self.width :]):
            return row[: self.width]
        separator = DELIMITERS.get(self.found.delimiter, self.found.delimiter)
        raise Bad(
            f"has {len(row)} values but the header has {self.width} columns; "
            f"put quotes around values that contain a {separator}"
        )

    def tick(self, done: int) -> None:
        """`done` more rows written (reported as the "writing" stage)."""
        self.written += done
        if self.progress is not None:
            self.progress("writing", self.written, self.to_write)

    def finishing(self) -> None:
        """Every row is written; what follows (the summary, the commit) is the last stage."""
        if self.progress is not None:
            self.progress("finishing", self.written, self.to_write)

    def bad(self, line: int, column: str | None, reason: str, value: str | None = None) -> None:
        self.problems.add(line, column, reason, value)

    def check(
        self, line: int, column: str, parse: Callable[[str], Any], row: list[str], index: int | None
    ) -> Any:
        """`parse` the trimmed value at `index`, or None when the file has no such column
        or the value is bad (the problem is recorded)."""
        if index is None:
            return None
        text = row[index].strip()
        try:
            return parse(text)
        except Bad as bad:
            self.problems.add(line, column, bad.reason, text)
            return None
