"""CSV records one at a time, so that one bad record is one bad row.

The standard ``csv`` reader does the work; this module only steps in where it would fail a
whole file or silently misread the rest of it:

- a value longer than the reader's size limit (``csv.field_size_limit()``, 131,072
  characters by default) makes it raise mid-record and then read the rest of that record
  as new rows; here the record is read to its end instead, and reported as one bad row
  naming the column;
- a quoted value left open swallows the rest of the file into one value; here that row is
  reported as such.

Rows are numbered as data rows from 1 (the header is not counted, a quoted value spanning
several lines is still one row, a blank line is a row): what a spreadsheet shows as row
N + 1. The separator is read from the header line: a comma, or a semicolon or a tab when
the header has more of those (as spreadsheets in many European locales write CSV).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

SEPARATORS = (",", ";", "\t")
_QUOTE = '"'


def separator_of(header_line: str) -> str:
    """The separator of a CSV file, from its header line (quoted text not counted)."""
    outside = header_line.split(_QUOTE)[::2]  # the parts outside quotes
    counts = {sep: sum(part.count(sep) for part in outside) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


@dataclass
class Record:
    """One record's cells; the indexes of cells over the size limit; whether a quote
    was left open at the end of the file."""

    cells: list[str] = field(default_factory=list)
    oversized: set[int] = field(default_factory=set)
    unclosed: bool = False


class _Cell:
    """A value being read, kept only up to the size limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0

    def add(self, text: str) -> None:
        if self.size <= self.limit:
            self.parts.append(text[: self.limit + 1 - self.size])
        self.size += len(text)

    def close(self, record: Record) -> _Cell:
        if self.size > self.limit:
            record.oversized.add(len(record.cells))
        record.cells.append("".join(self.parts)[: self.limit])
        return _Cell(self.limit)


def _unquoted_end(line: str, start: int, separator: str) -> int:
    """Where an unquoted value starting at ``start`` ends (a separator or the line end)."""
    ends = [i for i in (line.find(separator, start), line.find("\r", start)) if i >= 0]
    newline = line.find("\n", start)
    if newline >= 0:
        ends.append(newline)
    return min(ends, default=len(line))


class _Reader:
    """The state of one record being read: its cells so far, the value being read, and
    whether that value is inside quotes."""

    def __init__(self, separator: str, limit: int) -> None:
        self.separator = separator
        self.record = Record()
        self.cell = _Cell(limit)
        self.quoted = False
        self.at_start = True

    def _quoted(self, line: str, i: int) -> int:
        j = line.find(_QUOTE, i)
        if j < 0:
            self.cell.add(line[i:])
            return len(line)
        self.cell.add(line[i:j])
        if line.startswith(_QUOTE, j + 1):  # "" inside a quoted value
            self.cell.add(_QUOTE)
            return j + 2
        self.quoted = False
        return j + 1

    def line(self, line: str) -> bool:
        """Read one line; whether it ended the record."""
        i, n = 0, len(line)
        while i < n:
            if self.quoted:
                i = self._quoted(line, i)
                continue
            if self.at_start and line[i] == _QUOTE:
                self.quoted, self.at_start, i = True, False, i + 1
                continue
            self.at_start = False
            end = _unquoted_end(line, i, self.separator)
            self.cell.add(line[i:end])
            if end < n and line[end] == self.separator:
                self.cell, self.at_start, i = self.cell.close(self.record), True, end + 1
            elif end < n:
                return True
            else:
                i = end
        # the last line of a file without a final line break ends the record too
        return not self.quoted and not line.endswith(("\n", "\r"))


def read_record(lines: Iterable[str], separator: str, limit: int) -> Record:
    """Read one record from ``lines`` as ``csv.reader`` does (double quotes, ``""`` inside
    a quoted value, text after a closing quote kept), consuming exactly its lines."""
    reader = _Reader(separator, limit)
    for line in lines:
        if reader.line(line):
            break
    else:
        reader.record.unclosed = reader.quoted
    reader.cell.close(reader.record)
    return reader.record


class _Lines:
    """The file's lines, remembering those of the record being read."""

    def __init__(self, handle: TextIO) -> None:
        self._handle = handle
        self.record: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._handle)
        self.record.append(line)
        return line


def records(handle: TextIO, separator: str) -> Iterator[tuple[int, list[str] | Record]]:
    """``(row, cells)`` for each record after the header, or ``(row, Record)`` for a
    record with a value over the size limit or a quote left open."""
    lines = _Lines(handle)
    reader = csv.reader(lines, delimiter=separator)
    next(reader, None)  # the header
    row = 0
    while True:
        lines.record.clear()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field limit" not in str(exc):
                raise
            row += 1
            # The reader stopped inside the record: read it again and to its end.
            yield row, read_record(_chain(list(lines.record), lines), separator, _limit())
            continue
        row += 1
        if len(lines.record) > 1:  # a quoted value spans lines: was it ever closed?
            again = read_record(lines.record, separator, _limit())
            if again.unclosed:
                yield row, again
                continue
        yield row, cells


def _chain(first: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


def _limit() -> int:
    return csv.field_size_limit()
