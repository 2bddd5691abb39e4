"""Rated responses, HelpSteer2 style: one response to a prompt with a real-valued rating per attribute.

    {"prompt": "...", "response": "...", "helpfulness": 3, "correctness": 3.5, "coherence": 4,
     "complexity": 1, "verbosity": 2}

``prompt`` is text (one user turn) or a list of ``{role, content}`` messages; ratings are numbers
in [0, 4] (HelpSteer2's scale); ``id`` is optional. Any file :func:`gram_rr.data.io.iter_raw`
reads works (JSONL, JSON array, gzip, Parquet, ``datasets`` folders). Every error names the file,
the line (or record/row) and the field.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gram_rr.data.errors import DataError
from gram_rr.data.io import iter_raw, write_jsonl
from gram_rr.data.records import Message

HELPSTEER2_ATTRIBUTES = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")
RATING_SCALE = (0.0, 4.0)


@dataclass(frozen=True)
class RatedResponse:
    """One response with its ratings (attribute -> value on the rating scale)."""

    prompt: str | list[Message]
    response: str
    ratings: dict[str, float]
    id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {"id": self.id} if self.id is not None else {}
        record |= {"prompt": self.prompt, "response": self.response, **self.ratings}
        return record | ({"metadata": self.metadata} if self.metadata else {})


def _prompt(value: Any, err) -> str | list[Message]:
    if isinstance(value, str):
        if not value.strip():
            raise err("prompt", "is empty")
        return value
    if isinstance(value, list) and value:
        for k, message in enumerate(value):
            if not (isinstance(message, dict) and isinstance(message.get("role"), str)
                    and isinstance(message.get("content"), str)):
                raise err(f"prompt[{k}]", "must be an object with string 'role' and 'content'")
        return [{"role": m["role"], "content": m["content"]} for m in value]
    raise err("prompt", "missing, or not a string or a non-empty list of messages")


def _rating(value: Any, name: str, scale: tuple[float, float], err) -> float:
    if value is None:
        raise err(name, "missing rating")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise err(name, f"expected a number, got {value!r}")
    low, high = scale
    if not low <= value <= high:
        raise err(name, f"rating {value!r} is outside the scale [{low:g}, {high:g}]")
    return float(value)


def load_ratings(
    path: str | Path,
    attributes: Sequence[str] = HELPSTEER2_ATTRIBUTES,
    scale: tuple[float, float] = RATING_SCALE,
) -> list[RatedResponse]:
    """Every rated response of ``path``; each record must rate every one of ``attributes`` on ``scale``.

    Raises :class:`gram_rr.data.DataError` (file, line, field) on the first bad record, and for a
    file without records.
    """
    file = str(path)
    rated = []
    for raw in iter_raw(path):
        if raw.error is not None:
            raise raw.error

        def err(name: str, message: str, raw=raw) -> DataError:
            return DataError(file, raw.line, name, message, record=raw.record, row=raw.row)

        value = raw.value
        response = value.get("response")
        if not isinstance(response, str) or not response.strip():
            raise err("response", "missing, empty or not a string")
        identifier = value.get("id")
        if identifier is not None and not isinstance(identifier, (str, int)):
            raise err("id", f"expected a string, got {identifier!r}")
        metadata = value.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise err("metadata", "expected an object")
        rated.append(RatedResponse(
            prompt=_prompt(value.get("prompt"), err),
            response=response,
            ratings={name: _rating(value.get(name), name, scale, err) for name in attributes},
            id=None if identifier is None else str(identifier),
            metadata=metadata,
        ))
    if not rated:
        raise DataError(file, None, None, "holds no rated responses")
    return rated


def write_ratings(path: str | Path, rated: Sequence[RatedResponse]) -> Path:
    """Write ``rated`` as JSONL, atomically."""
    return write_jsonl(path, (item.to_dict() for item in rated))
