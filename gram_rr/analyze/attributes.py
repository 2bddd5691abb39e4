"""Per-response attribute scores of pairs (what an LDL reward model predicts): the ``--attributes`` file.

One JSON object per line (gzip allowed), one line per pair::

    {"id": "demo-test-00000",
     "attributes_a": {"helpfulness": 3.2, "correctness": 3.9, "verbosity": 1.1},
     "attributes_b": {"helpfulness": 0.4, "correctness": 0.2, "verbosity": 1.3},
     "model": "runs/ldl"}

``id`` is the pair's id in the pairs file; ``attributes_a`` and ``attributes_b`` map the same
attribute names to finite numbers, and every line names the same attributes; ``model``
(optional) says what wrote the scores. Anything else is an error naming the file, line and field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from gram_rr.data.errors import DataError
from gram_rr.data.fields import Row
from gram_rr.data.io import iter_raw, write_jsonl

SIDES = ("attributes_a", "attributes_b")
_FIELDS = {"id", "model", *SIDES}


@dataclass(frozen=True)
class AttributeScores:
    """The attribute scores of a pair's response A and response B."""

    a: dict[str, float]
    b: dict[str, float]


@dataclass
class AttributeTable:
    """Every line of an attributes file, by pair id."""

    path: str
    names: tuple[str, ...]
    by_id: dict[str, AttributeScores]

    def scores(self, pair_id: str) -> AttributeScores:
        if pair_id not in self.by_id:
            raise DataError(self.path, None, "id", f"no attribute scores for pair {pair_id!r}")
        return self.by_id[pair_id]


def load_attributes(path: str | Path) -> AttributeTable:
    """Read and check an attributes file (see the module docstring for the format)."""
    file = str(path)
    names: tuple[str, ...] | None = None
    by_id: dict[str, AttributeScores] = {}
    first_line: dict[str, int | None] = {}
    for raw in iter_raw(path):
        if raw.error is not None:
            raise raw.error
        row = Row(raw.value or {}, file, raw.line, raw.record, raw.row)
        unknown = sorted(set(row.value) - _FIELDS)
        if unknown:
            raise row.error(unknown[0], f"unknown field; an attributes line has {sorted(_FIELDS)}")
        pair_id = row.get("id")
        if isinstance(pair_id, bool) or not isinstance(pair_id, (str, int)):
            raise row.error("id", f"expected a string or integer pair id, got {type(pair_id).__name__}")
        pair_id = str(pair_id)
        if pair_id in first_line:
            raise row.error("id", f"{pair_id!r} repeats", detail=f"first at line {first_line[pair_id]}")
        first_line[pair_id] = raw.line
        row.optional_text("model")
        sides = [_scores(row, side) for side in SIDES]
        for side, scores in zip(SIDES, sides):
            if names is None:
                names = tuple(sorted(scores))
                if not names:
                    raise row.error(side, "no attribute scores")
            elif tuple(sorted(scores)) != names:
                raise row.error(side, f"names {sorted(scores)}, but the first line has {list(names)}")
        by_id[pair_id] = AttributeScores(*sides)
    if names is None:
        raise DataError(file, None, None, "no attribute lines")
    return AttributeTable(file, names, by_id)


def _scores(row: Row, side: str) -> dict[str, float]:
    value = row.get(side)
    if not isinstance(value, dict):
        raise row.error(side, f"expected an object of attribute scores, got {type(value).__name__}")
    scores = {}
    for name, score in value.items():
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            raise row.error(f"{side}.{name}", f"expected a finite number, got {score!r}")
        scores[name] = float(score)
    return scores


def write_attributes(
    path: str | Path, rows: Iterable[tuple[str, Mapping[str, float], Mapping[str, float]]], model: str | None = None
) -> Path:
    """Write ``(pair id, scores of A, scores of B)`` rows as an attributes file, atomically."""

    def record(pair_id: str, a: Mapping[str, float], b: Mapping[str, float]) -> dict:
        line = {"id": pair_id, "attributes_a": dict(a), "attributes_b": dict(b)}
        return {**line, "model": model} if model is not None else line

    return write_jsonl(path, (record(*row) for row in rows))
