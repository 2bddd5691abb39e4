"""``load_pairs``: any supported preference file -> a list of ``PreferencePair``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gram_rr.data.benchmark_files import read_judgebench, read_llmbar, read_pandalm, read_rmbench
from gram_rr.data.columns import ColumnMap
from gram_rr.data.errors import DataError, LoadStats
from gram_rr.data.fields import Context, Row
from gram_rr.data.formats import (
    looks_like_hh,
    read_alpaca_dpo,
    read_dpo,
    read_gram_rr,
    read_helpsteer3,
    read_hh_rlhf,
    read_messages_dpo,
    read_pair,
    read_sharegpt_dpo,
)
from gram_rr.data.io import Raw, iter_raw
from gram_rr.data.records import PreferencePair

logger = logging.getLogger(__name__)

Converter = Callable[[Row, Context], PreferencePair]

FORMATS: dict[str, Converter] = {
    "pairs": read_pair,
    "gram_rr": read_gram_rr,
    "helpsteer3": read_helpsteer3,
    "dpo": read_dpo,
    "hh_rlhf": read_hh_rlhf,
    "alpaca_dpo": read_alpaca_dpo,
    "sharegpt_dpo": read_sharegpt_dpo,
    "messages_dpo": read_messages_dpo,
    "judgebench": read_judgebench,
    "rmbench": read_rmbench,
    "llmbar": read_llmbar,
    "pandalm": read_pandalm,
}


def detect_format(record: dict[str, Any]) -> str | None:
    """The format a record's fields identify, or None."""
    keys = set(record)
    if {"response_a", "response_b"} <= keys:
        return "pairs"
    if "pair_id" in keys or {"response_A", "response_B"} <= keys:
        return "judgebench"
    if {"output_1", "output_2"} <= keys:
        return "llmbar"
    if {"response1", "response2"} <= keys and "annotator1" in keys:
        return "pandalm"
    if {"response1", "response2"} <= keys and ("overall_preference" in keys or "context" in keys):
        return "helpsteer3"
    if {"instruction", "output"} <= keys:
        return "gram_rr"
    if {"chosen_messages", "rejected_messages"} <= keys:
        return "messages_dpo"
    if {"chosen", "rejected"} <= keys and "prompt" not in keys:
        if "conversations" in keys:
            return "sharegpt_dpo"
        if "instruction" in keys:
            return "alpaca_dpo"
    if {"chosen", "rejected"} <= keys:
        chosen = record["chosen"]
        if isinstance(chosen, list) and chosen and all(isinstance(c, str) for c in chosen):
            return "rmbench"
        if "prompt" not in keys and looks_like_hh(chosen):
            return "hh_rlhf"
        return "dpo"
    return None


class PairList(list):
    """A list of ``PreferencePair`` that also carries the ``LoadStats`` of the read."""

    stats: LoadStats


def load_pairs(
    path: str | Path,
    format: str = "auto",
    strict: bool = True,
    allow_empty: bool = False,
    columns: dict[str, str] | None = None,
    labels: dict[Any, str | None] | None = None,
) -> PairList:
    """Read preference pairs from ``path``: JSONL or a JSON array (optionally gzipped), a
    Parquet file, or a folder written by ``datasets``' ``Dataset.save_to_disk``.

    ``format`` is one of ``FORMATS`` (``pairs``, ``gram_rr``, ``helpsteer3``, ``dpo``,
    ``hh_rlhf``, ``alpaca_dpo``, ``sharegpt_dpo``, ``messages_dpo``, ``judgebench``,
    ``rmbench``, ``llmbar``, ``pandalm``) or ``"auto"`` (decided by the first record's
    fields). With ``strict`` a bad record, or a second record with an id already read,
    raises ``DataError`` (file, line or record index, field); with ``strict=False`` it is
    skipped, counted in the returned list's ``.stats`` (``skipped``, ``reasons``) and
    logged as a warning. A file without records raises (``strict``) or warns, unless
    ``allow_empty``. Parquet and ``datasets`` rows are located by their 0-based ``row``.

    ``columns`` (with ``labels`` for the label column's values) reads any other file through
    a :class:`~gram_rr.data.columns.ColumnMap`, e.g. ``columns={"question": "prompt",
    "response_a": "answer1", "response_b": "answer2", "label": "winner"}, labels={"model_a":
    "A", "model_b": "B", "tie": None}``; ``format`` then stays ``"auto"``.
    """
    pairs = PairList()
    pairs.stats = LoadStats(path=str(path), format="")
    pairs.extend(iter_pairs(path, format, strict, allow_empty, columns, labels, stats=pairs.stats))
    return pairs


def iter_pairs(
    path: str | Path,
    format: str = "auto",
    strict: bool = True,
    allow_empty: bool = False,
    columns: dict[str, str] | None = None,
    labels: dict[Any, str | None] | None = None,
    stats: LoadStats | None = None,
) -> Iterator[PreferencePair]:
    """:func:`load_pairs` one pair at a time, in file order, with the same checks: a JSONL file is read
    a line at a time, so ``itertools.islice(iter_pairs(path), start, stop)`` holds only its slice (and the
    ids read so far, to refuse duplicates). ``stats`` (filled in as pairs go by) gets the counts; the
    end-of-file checks (no records, the skipped summary) run only when the iterator is exhausted.
    """
    if format != "auto" and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose 'auto' or one of {sorted(FORMATS)}")
    if columns is None and labels is not None:
        raise ValueError("labels maps the values of a mapped label column: pass columns= too")
    if columns is not None and format != "auto":
        raise ValueError(f"columns= reads the file through the mapping; drop format={format!r}")
    path = Path(path)
    file = str(path)
    stem = path.name.split(".")[0]
    stats = stats if stats is not None else LoadStats(path=file)
    stats.path, stats.format = file, "" if format == "auto" else format
    convert = ColumnMap(columns, labels) if columns is not None else None if format == "auto" else FORMATS[format]
    if columns is not None:
        stats.format = "columns"
    first_seen: dict[str, str] = {}  # pair id -> where it was first read ("line 3" / "record 3" / "row 3")
    for raw in iter_raw(path):
        stats.read += 1
        try:
            if raw.error is not None:
                raise raw.error
            row = Row(raw.value, file, raw.line, raw.record, raw.row)
            if convert is None:
                detected = detect_format(raw.value)
                if detected is None:
                    raise DataError(
                        file, raw.line, None,
                        f"cannot tell the format from fields {sorted(raw.value)}; pass format= one of "
                        f"{sorted(FORMATS)} or map the columns (columns=)",
                        record=raw.record, row=raw.row,
                    )
                stats.format, convert = detected, FORMATS[detected]
            pair = convert(row, Context(stem=stem, index=raw.index))
            if pair.id in first_seen:
                raise row.error("id", "duplicate id", detail=f"{pair.id!r} was first read at {first_seen[pair.id]}")
            first_seen[pair.id] = _where(raw)
        except DataError as error:
            if strict:
                raise
            stats.skip(error)
            continue
        stats.loaded += 1
        yield pair
    if stats.read == 0 and not allow_empty:
        if strict:
            raise DataError(file, None, None, "the file holds no pairs (no records)")
        logger.warning("%s: the file holds no pairs (no records)", file)
    if stats.skipped:
        logger.warning("%s", stats.summary())


def _where(raw: Raw) -> str:
    if raw.line is not None:
        return f"line {raw.line}"
    return f"record {raw.record}" if raw.record is not None else f"row {raw.row}"
