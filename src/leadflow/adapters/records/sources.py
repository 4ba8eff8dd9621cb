"""Input files as streams of numbered rows: CSV with a header row, or JSON Lines.

Row numbers are 1-based positions among the data rows: the CSV header is not counted, a
quoted value spanning several lines is still one row (so row N is what a spreadsheet shows
as row N + 1), and in JSON Lines row N is line N. Blank rows are counted but yield nothing,
so the numbers match the file. CSV files may separate values with commas, semicolons or
tabs (read from the header line); a value over the CSV size limit, or a quote left open,
rejects its row only (see :mod:`leadflow.adapters.records.csv_rows`). A file that cannot
be read as a whole raises :class:`~leadflow.errors.InputFileError`: the checks that need no
rows (missing file, unknown extension, header) when the file is opened, the rest (a line
that is not a JSON object, text that is not UTF-8) when the bad row is reached.
"""

from __future__ import annotations

import csv
import difflib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from leadflow.adapters.records.csv_rows import Record, records, separator_of
from leadflow.adapters.records.recode import Recoding
from leadflow.errors import InputFileError, RecordProblem

_T = TypeVar("_T")

CSV_SUFFIXES = frozenset({".csv"})
JSON_LINES_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
_ENCODING = "utf-8-sig"  # a byte-order mark (as Excel writes it) is skipped

Row = tuple[int, dict[str, object]]


@dataclass(frozen=True)
class RecordFile:
    """An input file checked for reading: its format and (for CSV) its canonical header."""

    path: Path
    name: str
    is_csv: bool
    header: tuple[str, ...]
    renames: Mapping[str, str]
    separator: str = ","
    id_column: str | None = None
    recode: Recoding | None = None


def _read_header(path: Path, renames: Mapping[str, str]) -> tuple[tuple[str, ...], str]:
    try:
        with path.open(encoding=_ENCODING, newline="") as handle:
            separator = separator_of(handle.readline())
            handle.seek(0)
            cells = next(csv.reader(handle, delimiter=separator), None)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path.name}: cannot read the header row ({exc})") from None
    if not cells or not any(c.strip() for c in cells):
        raise InputFileError(f"{path.name}: empty; a CSV file needs a header row")
    header = tuple(renames.get(c.strip(), c.strip()) for c in cells)
    seen: set[str] = set()
    for column in header:
        if column and column in seen:
            raise InputFileError(f"{path.name}: column `{column}` appears twice in the header")
        seen.add(column)
    return header, separator


def _missing_columns(name: str, header: tuple[str, ...], required: tuple[str, ...]) -> None:
    missing = [c for c in required if c not in header]
    if not missing:
        return
    hints = []
    folded = {h.casefold().replace(" ", "_").replace("-", "_"): h for h in header}
    for column in missing:
        close = difflib.get_close_matches(column, list(folded), n=1, cutoff=0.75)
        if close:
            hints.append(f"`{folded[close[0]]}` looks like `{column}`; map it with --mapping")
    listed = ", ".join(f"`{c}`" for c in missing)
    hint = "; ".join(hints) or "is the header row missing, or does the file need a --mapping?"
    raise InputFileError(f"{name}: the header row has no {listed} column ({hint})")


def open_records(
    path: str | Path,
    renames: Mapping[str, str],
    required: tuple[str, ...],
    recode: Recoding | None = None,
) -> RecordFile:
    """Check that ``path`` can be read; the rows themselves are read by :func:`iter_rows`
    (renamed, then recoded by ``recode``)."""
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix not in CSV_SUFFIXES | JSON_LINES_SUFFIXES:
        raise InputFileError(
            f"{source}: unknown file type `{suffix or '(none)'}`; "
            "expected .csv, or .jsonl/.ndjson/.json for JSON Lines"
        )
    if not source.is_file():
        raise InputFileError(f"{source}: file not found")
    is_csv = suffix in CSV_SUFFIXES
    header: tuple[str, ...] = ()
    separator = ","
    if is_csv:
        header, separator = _read_header(source, renames)
        _missing_columns(source.name, header, required)
    id_column = required[0] if required else None
    return RecordFile(source, source.name, is_csv, header, renames, separator, id_column, recode)


def _bad_record(file: RecordFile, row: int, record: Record) -> Iterator[RecordProblem]:
    """The problems of a record with a value over the size limit or a quote left open."""
    header, cells = file.header, record.cells
    where = header.index(file.id_column) if file.id_column in header else len(cells)
    record_id = None
    if where < len(cells) and where not in record.oversized:
        record_id = cells[where].strip()[:80] or None
    limit = f"longer than the CSV limit of {csv.field_size_limit()} characters for one value"
    for index in sorted(record.oversized):
        column = header[index] if index < len(header) else None
        yield RecordProblem(file.name, row, record_id, column or None, limit)
    if record.unclosed:
        last = len(cells) - 1
        column = header[last] if 0 <= last < len(header) else None
        message = "a quoted value is not closed before the end of the file"
        yield RecordProblem(file.name, row, record_id, column or None, message)


def _csv_rows(file: RecordFile) -> Iterator[Row | RecordProblem]:
    header, width = file.header, len(file.header)
    unnamed = "" in header
    with file.path.open(encoding=_ENCODING, newline="") as handle:
        row = 0
        try:
            for row, cells in records(handle, file.separator):
                if isinstance(cells, Record):
                    yield from _bad_record(file, row, cells)
                    continue
                if not any(cells):
                    continue
                if len(cells) > width:
                    message = f"the row has {len(cells)} cells but the header has {width} columns"
                    yield RecordProblem(file.name, row, None, None, message)
                    continue
                record: dict[str, object] = dict(zip(header, cells, strict=False))
                if unnamed:
                    record.pop("", None)
                yield row, record
        except UnicodeDecodeError:
            where = f"{file.name} row {row + 1}"
            raise InputFileError(f"{where}: not UTF-8 text; save the file as UTF-8") from None
        except csv.Error as exc:
            raise InputFileError(f"{file.name} row {row + 1}: {exc}") from None


def _rename(file: RecordFile, row: int, obj: dict[str, object]) -> Row | RecordProblem:
    for source, target in file.renames.items():
        if source in obj:
            if target in obj and target not in file.renames:
                message = f"given twice, as `{target}` and as `{source}` (mapped)"
                return RecordProblem(file.name, row, None, target, message)
            obj[target] = obj.pop(source)
    return row, obj


def _json_rows(file: RecordFile) -> Iterator[Row | RecordProblem]:
    with file.path.open(encoding=_ENCODING) as handle:
        line = 0
        try:
            for line, text in enumerate(handle, 1):
                if not text.strip():
                    continue
                obj = json.loads(text)
                if not isinstance(obj, dict):
                    found = type(obj).__name__
                    raise InputFileError(
                        f"{file.name} line {line}: expected a JSON object, found {found} "
                        "(JSON Lines: one object per line)"
                    )
                yield _rename(file, line, obj) if file.renames else (line, obj)
        except json.JSONDecodeError as exc:
            where = f"{file.name} line {line}"
            raise InputFileError(
                f"{where}: not valid JSON: {exc.msg} (column {exc.colno})"
            ) from None
        except UnicodeDecodeError:
            raise InputFileError(f"{file.name} line {line + 1}: not UTF-8 text") from None


def _recoded(
    rows: Iterator[Row | RecordProblem], recode: Recoding
) -> Iterator[Row | RecordProblem]:
    for item in rows:
        if not isinstance(item, RecordProblem):
            recode.apply(item[1])
        yield item


def iter_rows(file: RecordFile) -> Iterator[Row | RecordProblem]:
    """The file's rows as ``(row number, canonical record)``, or a problem for a bad row."""
    rows = _csv_rows(file) if file.is_csv else _json_rows(file)
    return rows if file.recode is None else _recoded(rows, file.recode)


def parse_rows(
    file: RecordFile, parse: Callable[[int, dict[str, object]], list[_T]]
) -> Iterator[_T | RecordProblem]:
    """Everything ``parse`` makes of each row, and the problems of rows it never sees."""
    for item in iter_rows(file):
        if isinstance(item, RecordProblem):
            yield item
        else:
            yield from parse(*item)
