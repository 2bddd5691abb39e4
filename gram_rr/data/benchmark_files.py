"""Converters for the benchmark files (JudgeBench, RM-Bench, LLMBar, PandaLM) as published.

Benchmarks keep their own A/B order (RM-Bench, which has only chosen/rejected, is placed
by id hash) and their empty responses: those are real generations the annotators judged.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from gram_rr.data.fields import Context, Row, record_id
from gram_rr.data.placement import place
from gram_rr.data.records import PreferencePair

RMBENCH_STYLES = ("concise", "detailed_plain", "detailed_markdown")

_JUDGEBENCH_LABELS = {"A>B": "A", "B>A": "B"}


def read_judgebench(row: Row, ctx: Context) -> PreferencePair:
    """JudgeBench: ``label`` ``"A>B"``/``"B>A"``; ``metadata["subset"]`` is its ``source`` (e.g. ``mmlu-pro-math``)."""
    label = row.get("label")
    if label not in _JUDGEBENCH_LABELS:
        raise row.error("label", f"unknown label {label!r} (expected 'A>B' or 'B>A')")
    return PreferencePair(
        id=record_id(row, ctx, "pair_id"),
        question=row.text("question"),
        response_a=row.text("response_A", allow_empty=True),
        response_b=row.text("response_B", allow_empty=True),
        label=_JUDGEBENCH_LABELS[label],
        source="judgebench",
        metadata={
            "subset": row.text("source"),
            "original_id": row.get("original_id", None),
            "response_model": row.get("response_model", None),
        },
    )


def read_rmbench(row: Row, ctx: Context) -> PreferencePair:
    """RM-Bench: one pair per prompt. ``metadata["chosen"]``/``["rejected"]`` keep the three style
    variants (``RMBENCH_STYLES``); A/B hold the concise pair (index 0), placed by id hash.
    ``expand_rmbench`` gives the 3x3 style pairs the official metric scores."""
    lists = {}
    for field in ("chosen", "rejected"):
        value = row.get(field)
        if not isinstance(value, list) or not value:
            raise row.error(field, "expected a non-empty list of response strings")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise row.error(f"{field}[{i}]", f"expected a string, got {type(item).__name__}")
        lists[field] = value
    if len(lists["chosen"]) != len(lists["rejected"]):
        raise row.error("rejected", f"{len(lists['rejected'])} rejected for {len(lists['chosen'])} chosen responses")
    id = f"rmbench-{record_id(row, ctx)}"
    domain = row.get("domain", None) or ctx.stem.split("_filtered")[0]
    return place(
        id,
        lists["chosen"][0],
        lists["rejected"][0],
        question=row.text("prompt"),
        source="rmbench",
        metadata={
            "domain": domain,
            "subset": row.get("subset", None),
            "chosen": lists["chosen"],
            "rejected": lists["rejected"],
            "error_key": row.get("error_key", None),
            "error": row.get("error", None),
        },
    )


def expand_rmbench(pair: PreferencePair) -> list[PreferencePair]:
    """The ``len(chosen) x len(rejected)`` style pairs of one RM-Bench prompt (9 for 3 styles).

    Each pair's ``metadata`` has ``prompt_id``, ``chosen_style`` (i) and ``rejected_style`` (j):
    the official matrix is ``acc[i][j]`` (hard = i < j, normal = i == j, easy = i > j).
    """
    chosen, rejected = pair.metadata["chosen"], pair.metadata["rejected"]
    keep = {k: pair.metadata[k] for k in ("domain", "subset") if k in pair.metadata}
    return [
        place(
            f"{pair.id}-c{i}r{j}",
            c,
            r,
            question=pair.question,
            source=pair.source,
            conversation=pair.conversation,
            metadata={**keep, "prompt_id": pair.id, "chosen_style": i, "rejected_style": j},
        )
        for i, c in enumerate(chosen)
        for j, r in enumerate(rejected)
    ]


_LLMBAR_LABELS = {1: "A", 2: "B"}


def read_llmbar(row: Row, ctx: Context) -> PreferencePair:
    """LLMBar: ``label`` 1 (output_1 = A) or 2; ``metadata["subset"]`` from the file name."""
    label = row.get("label")
    if isinstance(label, bool) or label not in _LLMBAR_LABELS:
        raise row.error("label", f"unknown label {label!r} (expected 1 or 2)")
    subset = ctx.stem.removeprefix("LLMBar_")
    return PreferencePair(
        id=f"llmbar-{subset}-{ctx.index}",
        question=row.text("input"),
        response_a=row.text("output_1", allow_empty=True),
        response_b=row.text("output_2", allow_empty=True),
        label=_LLMBAR_LABELS[label],
        source="llmbar",
        metadata={"subset": subset},
    )


def _pandalm_response(row: Row, field: str) -> tuple[str, bool]:
    value = row.get(field)
    if isinstance(value, bool):  # the published file has a few bare JSON booleans
        return str(value), True
    return row.text(field, allow_empty=True), False


def read_pandalm(row: Row, ctx: Context) -> PreferencePair:
    """PandaLM: majority of ``annotator1..3`` (1 = A, 2 = B); 0 or no majority = tie (label None).

    The question is ``instruction`` and ``input`` joined (one record has a blank instruction)."""
    votes = []
    for k in ("annotator1", "annotator2", "annotator3"):
        vote = row.integer(k)
        if vote not in (0, 1, 2):
            raise row.error(k, f"unknown label {vote} (expected 0, 1 or 2)")
        votes.append(vote)
    top, count = Counter(votes).most_common(1)[0]
    label = {1: "A", 2: "B"}.get(top) if count >= 2 else None
    parts = [t.strip() for t in (row.text("instruction", allow_empty=True), row.optional_text("input") or "") if t.strip()]
    if not parts:
        raise row.error("instruction", "empty text (and no input)")
    a, coerced_a = _pandalm_response(row, "response1")
    b, coerced_b = _pandalm_response(row, "response2")
    metadata: dict[str, Any] = {"annotators": votes, "cmp_key": row.get("cmp_key", None)}
    coerced = [f for f, c in (("response1", coerced_a), ("response2", coerced_b)) if c]
    if coerced:
        metadata["coerced_from_bool"] = coerced
    return PreferencePair(
        id=f"pandalm-{record_id(row, ctx, 'idx')}",
        question="\n\n".join(parts),
        response_a=a,
        response_b=b,
        label=label,
        source="pandalm",
        metadata=metadata,
    )
