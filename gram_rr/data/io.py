"""Raw records from JSONL / JSON-array files (gzip included), Parquet files and ``datasets``
folders, and atomic JSONL writes."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from gram_rr.atomic import atomic_write
from gram_rr.data.errors import DataError
from gram_rr.data.records import PreferencePair

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")  # \ud800..\udfff, paired or not
_TOO_DEEP = "invalid JSON: nested too deeply to parse"
_SURROGATE_MESSAGE = "lone surrogate escape (\\ud800-\\udfff without its pair), not encodable as UTF-8"


@dataclass(frozen=True)
class Raw:
    """One record as found in a file: where it is, and the parsed object or why it is bad."""

    index: int
    line: int | None
    record: int | None
    value: dict[str, Any] | None
    error: DataError | None = None
    row: int | None = None


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic number."""
    path = Path(path)
    if not path.is_file():
        raise DataError(str(path), None, None, "file not found")
    data = path.read_bytes()
    if data.startswith(_GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DataError(str(path), None, None, f"corrupt gzip data ({exc})") from exc
    return data[len(_BOM) :] if data.startswith(_BOM) else data


def iter_raw(path: str | Path) -> Iterator[Raw]:
    """Every record of a JSONL file or JSON array, each parsed or carrying its DataError;
    or every row of a Parquet file or ``datasets`` ``save_to_disk`` folder.

    A JSON array that does not parse as a whole raises at once (its rows cannot be
    told apart); a bad JSONL line only marks that line.
    """
    from gram_rr.data.tables import is_table, iter_table  # tables.py builds on Raw

    if is_table(path):
        yield from iter_table(path)
        return
    file = str(path)
    with _open_plain(path) as stream:
        if stream is not None:  # plain JSONL is read a line at a time: memory holds one line, not the file
            yield from _iter_lines(file, (line[:-1] if line.endswith(b"\n") else line for line in stream))
            return
    data = read_bytes(path)
    if data.lstrip()[:1] == b"[":
        yield from _iter_array(file, data)
    else:
        yield from _iter_lines(file, data.split(b"\n"))


@contextmanager
def _open_plain(path: str | Path) -> Iterator[BinaryIO | None]:
    """The file opened past its byte-order mark when it is uncompressed JSONL (not a JSON array), else None."""
    path = Path(path)
    if not path.is_file():
        yield None
        return
    with open(path, "rb") as stream:
        head = stream.read(len(_BOM))
        if head[: len(_GZIP_MAGIC)] == _GZIP_MAGIC:
            yield None
            return
        start = len(_BOM) if head == _BOM else 0
        stream.seek(start)
        first = b" "
        while first and first.isspace():  # the first byte that is not whitespace tells a JSON array
            first = stream.read(1)
        stream.seek(start)
        yield None if first == b"[" else stream


def _utf8_error(file: str, data: bytes, exc: UnicodeDecodeError, line: int | None = None) -> DataError:
    start = data.rfind(b"\n", 0, exc.start) + 1
    if line is None:
        line = data.count(b"\n", 0, exc.start) + 1
    bad = data[exc.start : exc.start + 1].hex()
    return DataError(file, line, None, f"not valid UTF-8 (byte 0x{bad} at column {exc.start - start + 1})")


def _iter_array(file: str, data: bytes) -> Iterator[Raw]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _utf8_error(file, data, exc) from exc
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(file, exc.lineno, None, f"invalid JSON: {exc.msg} (column {exc.colno})") from exc
    except RecursionError as exc:
        raise DataError(file, None, None, _TOO_DEEP) from exc
    if not isinstance(items, list):
        raise DataError(file, None, None, "expected a JSON array of records or JSON Lines")
    escapes = _SURROGATE_ESCAPE.search(text) is not None
    for i, item in enumerate(items):
        field = _lone_surrogate(item) if escapes and isinstance(item, dict) else None
        if field is not None:
            yield Raw(i, None, i, None, DataError(file, None, field, _SURROGATE_MESSAGE, record=i))
        elif isinstance(item, dict):
            yield Raw(i, None, i, item)
        else:
            err = DataError(file, None, None, f"record must be a JSON object, got {type(item).__name__}", record=i)
            yield Raw(i, None, i, None, err)


def _iter_lines(file: str, lines: Iterable[bytes]) -> Iterator[Raw]:
    """The records of a file's lines (split at b"\\n", without it), numbered from 1."""
    index = 0
    for number, raw_line in enumerate(lines, start=1):
        if not raw_line.strip():
            continue
        try:
            text = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Raw(index, number, None, None, _utf8_error(file, raw_line, exc, line=number))
            index += 1
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            err = DataError(file, number, None, f"invalid JSON: {exc.msg} (column {exc.colno})")
            yield Raw(index, number, None, None, err)
        except RecursionError:
            yield Raw(index, number, None, None, DataError(file, number, None, _TOO_DEEP))
        else:
            field = _lone_surrogate(value) if isinstance(value, dict) and _SURROGATE_ESCAPE.search(text) else None
            if field is not None:
                yield Raw(index, number, None, None, DataError(file, number, field, _SURROGATE_MESSAGE))
            elif isinstance(value, dict):
                yield Raw(index, number, None, value)
            else:
                err = DataError(file, number, None, f"record must be a JSON object, got {type(value).__name__}")
                yield Raw(index, number, None, None, err)
        index += 1


def _lone_surrogate(value: Any) -> str | None:
    """The path (``question``, ``conversation[0].content``) of a record's first key or string
    holding a lone surrogate, or None; walked without recursion, so any depth is safe."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                return path
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                if not _encodable(key):
                    key = key.encode("utf-8", "backslashreplace").decode("ascii")  # printable in the message
                    return f"{path}.{key}" if path else key
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in reversed(list(enumerate(item))))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> Path:
    """Write records as JSONL atomically: a temporary file in the same folder, then rename."""

    def write(out) -> None:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")

    return atomic_write(path, write)


def write_pairs(path: str | Path, pairs: Iterable[PreferencePair]) -> Path:
    """Write pairs as the project's JSONL (``PreferencePair.to_dict`` per line), atomically."""
    return write_jsonl(path, (pair.to_dict() for pair in pairs))
