"""Errors and bookkeeping for reading preference data."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


class DataError(ValueError):
    """A bad record or file: the message names the file, the line or record, and the field.

    ``line`` is the 1-based line of a JSONL file (or of the JSON text where a whole
    JSON file is invalid); ``record`` is the 0-based index of an element of a JSON array;
    ``row`` the 0-based row of a Parquet file or ``datasets`` folder (``dataset[row]``).
    ``detail`` (e.g. which id, where first seen) is shown in the message but left out of
    ``reason``, so that skipped rows of one kind group together.
    """

    def __init__(
        self,
        file: str,
        line: int | None,
        field: str | None,
        message: str,
        record: int | None = None,
        detail: str | None = None,
        row: int | None = None,
    ) -> None:
        self.file = str(file)
        self.line = line
        self.field = field
        self.message = message
        self.record = record
        self.detail = detail
        self.row = row
        super().__init__(self._render())

    @property
    def reason(self) -> str:
        """The location-free part of the message, used to group skipped rows."""
        return f"field '{self.field}': {self.message}" if self.field else self.message

    def _render(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.record is not None:
            where.append(f"record {self.record}")
        if self.row is not None:
            where.append(f"row {self.row}")
        text = f"{', '.join(where)}: {self.reason}"
        return f"{text} ({self.detail})" if self.detail else text


def json_object(file: str, line: int | None, text: str) -> dict[str, Any]:
    """One JSON object parsed from ``text`` (a JSONL line); a DataError naming the file and line otherwise."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(file, line, None, f"invalid JSON ({err.msg})") from None
    if not isinstance(value, dict):
        raise DataError(file, line, None, f"expected a JSON object, got {type(value).__name__}")
    return value


@dataclass
class LoadStats:
    """What one ``load_pairs`` call read, kept, and skipped (``strict=False``) and why."""

    path: str
    format: str = ""
    read: int = 0
    loaded: int = 0
    skipped: int = 0
    reasons: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    MAX_ERRORS = 20

    def skip(self, error: DataError) -> None:
        self.skipped += 1
        self.reasons[error.reason] += 1
        if len(self.errors) < self.MAX_ERRORS:
            self.errors.append(str(error))

    def summary(self) -> str:
        text = f"{self.path} ({self.format}): {self.loaded} pairs loaded, {self.skipped} skipped"
        if self.reasons:
            text += " — " + "; ".join(f"{n} x {r}" for r, n in self.reasons.most_common())
        return text
