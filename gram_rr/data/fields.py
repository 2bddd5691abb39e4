"""Typed access to one raw record's fields; every failure is a DataError naming file, row and field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gram_rr.data.errors import DataError
from gram_rr.data.records import Message

_MISSING = object()


@dataclass(frozen=True)
class Context:
    """What a converter knows besides the record: the file's stem and the record's index."""

    stem: str
    index: int


class Row:
    """One raw record plus where it came from (file, JSONL line, JSON-array index or table row)."""

    def __init__(
        self, value: dict[str, Any], file: str, line: int | None, record: int | None, row: int | None = None
    ) -> None:
        self.value = value
        self.file = file
        self.line = line
        self.record = record
        self.row = row

    def error(self, field: str | None, message: str, detail: str | None = None) -> DataError:
        return DataError(self.file, self.line, field, message, record=self.record, detail=detail, row=self.row)

    def has(self, field: str) -> bool:
        return field in self.value

    def get(self, field: str, default: Any = _MISSING) -> Any:
        """The field's value; a missing field raises unless a ``default`` is given, which also
        stands in for null (a table's empty cell is the same as a JSON record without the field)."""
        if field not in self.value:
            if default is _MISSING:
                raise self.error(field, "missing field")
            return default
        value = self.value[field]
        return default if value is None and default is not _MISSING else value

    def text(self, field: str, *, allow_empty: bool = False, what: str = "text") -> str:
        """A required string; empty or whitespace-only is an error (``empty {what}``) unless ``allow_empty``."""
        value = self.get(field)
        if not isinstance(value, str):
            raise self.error(field, f"expected a string, got {_type(value)}")
        if not allow_empty and not value.strip():
            raise self.error(field, f"empty {what}")
        return value

    def optional_text(self, field: str) -> str | None:
        value = self.get(field, None)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(field, f"expected a string or null, got {_type(value)}")
        return value

    def integer(self, field: str) -> int:
        value = self.get(field)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(field, f"expected an integer, got {_type(value)}")
        return value

    def mapping(self, field: str) -> dict[str, Any]:
        value = self.get(field, {})
        if not isinstance(value, dict):
            raise self.error(field, f"expected an object, got {_type(value)}")
        return value

    def messages(self, field: str, value: Any = _MISSING) -> list[Message]:
        """A chat history: a non-empty list of ``{"role": str, "content": str}``."""
        value = self.get(field) if value is _MISSING else value
        if not isinstance(value, list) or not value:
            raise self.error(field, f"expected a non-empty list of messages, got {_type(value)}")
        out: list[Message] = []
        for i, message in enumerate(value):
            if not isinstance(message, dict):
                raise self.error(f"{field}[{i}]", f"expected a message object, got {_type(message)}")
            role, content = message.get("role"), message.get("content")
            if not isinstance(role, str) or not role:
                raise self.error(f"{field}[{i}].role", f"expected a role string, got {_type(role)}")
            if not isinstance(content, str):
                raise self.error(f"{field}[{i}].content", f"expected a string, got {_type(content)}")
            out.append({"role": role, "content": content})
        return out


def record_id(row: Row, ctx: Context, field: str = "id") -> str:
    """The record's own id (string or integer), else ``<file stem>-<index>``."""
    value = row.get(field, None)
    if value is None:
        return f"{ctx.stem}-{ctx.index}"
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise row.error(field, f"expected a string or integer id, got {type(value).__name__}")
    return str(value)


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__
