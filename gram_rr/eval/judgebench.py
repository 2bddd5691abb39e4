"""JudgeBench's metric (ScalerLab/JudgeBench ``utils/metrics.py``), per category and overall.

Each pair is judged in both orders and the second decision is flipped back. Every
decision adds +1 when it matches the label, -1 when it is the opposite and 0 for a
tie (``A=B``) or a failure (``None``); a pair is correct only when the sum is
positive. JudgeBench's own score is correct pairs / all pairs; the GRAM-R2 paper's
"Overall" is the mean of the four category scores. Both are reported.

For our verdicts every vote is one decision, so with one vote per order this is
exactly JudgeBench's rule and with vote@k it is a majority over all 2k votes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gram_rr.data.errors import DataError, json_object
from gram_rr.data.records import PreferencePair
from gram_rr.eval.votes import check_aligned
from gram_rr.verdict import Verdict

# Source prefix -> category name used in the JudgeBench paper and the GRAM-R2 table.
CATEGORIES: dict[str, str] = {
    "mmlu-pro": "Knowledge",
    "livebench-reasoning": "Reasoning",
    "livebench-math": "Math",
    "livecodebench": "Coding",
}
LABEL_TO_DECISION = {"A": "A>B", "B": "B>A"}
_FLIP = {"A>B": "B>A", "B>A": "A>B"}
# JudgeBench's labels, and the decisions its judges write (after ``A>>B`` -> ``A>B``).
LABELS = ("A>B", "B>A")
DECISIONS = ("A>B", "B>A", "A=B")


@dataclass
class JudgedPair:
    """One JudgeBench pair: its source, label (``A>B``/``B>A``) and decisions in original orientation."""

    source: str
    label: str
    decisions: list[str | None]


def category(source: str) -> str:
    """The category of a JudgeBench ``source`` (``mmlu-pro-law`` -> ``Knowledge``)."""
    for prefix, name in CATEGORIES.items():
        if source.startswith(prefix):
            return name
    raise ValueError(f"unknown JudgeBench source {source!r}; expected a prefix among {sorted(CATEGORIES)}")


def normalize_decision(decision: str | None) -> str | None:
    """``A>>B`` -> ``A>B`` (as JudgeBench's Arena-Hard judge does); anything else unchanged."""
    return None if decision is None else decision.replace(">>", ">").strip()


def flip_decision(decision: str | None) -> str | None:
    """``A>B`` <-> ``B>A``; ties and failures unchanged (JudgeBench ``flip_judgment``)."""
    return _FLIP.get(decision, decision) if decision is not None else None


def pair_score(label: str, decisions: Iterable[str | None]) -> int:
    """JudgeBench's counter: +1 per decision equal to the label, -1 per opposite one."""
    opposite = flip_decision(label)
    return sum((d == label) - (d == opposite) for d in decisions)


def judgebench_metrics(pairs: Sequence[JudgedPair]) -> dict[str, Any]:
    """Scores in percent: ``overall_pairs`` (JudgeBench), ``overall_categories`` (GRAM-R2), per category."""
    if not pairs:
        raise ValueError("no JudgeBench pairs to score")
    by_category: dict[str, list[bool]] = {}
    outcomes = {"correct": 0, "incorrect": 0, "tie": 0}
    for pair in pairs:
        score = pair_score(pair.label, pair.decisions)
        outcomes["correct" if score > 0 else "incorrect" if score < 0 else "tie"] += 1
        by_category.setdefault(category(pair.source), []).append(score > 0)
    categories = {
        name: {"n": len(by_category[name]), "accuracy": 100.0 * sum(by_category[name]) / len(by_category[name])}
        for name in CATEGORIES.values()
        if name in by_category
    }
    return {
        "n": len(pairs),
        "overall_pairs": 100.0 * outcomes["correct"] / len(pairs),
        "overall_categories": sum(c["accuracy"] for c in categories.values()) / len(categories),
        "categories": categories,
        "outcomes": outcomes,
        "null_decisions": sum(d is None for p in pairs for d in p.decisions),
        "unknown_decisions": sum(d is not None and d not in DECISIONS for p in pairs for d in p.decisions),
    }


def from_verdicts(pairs: Sequence[PreferencePair], verdicts: Sequence[Verdict]) -> list[JudgedPair]:
    """Our verdicts as JudgeBench decisions: one per vote, already in the original orientation.

    The source comes from ``metadata["subset"]`` (as :func:`gram_rr.data.load_pairs` reads
    JudgeBench files), else ``pair.source``."""
    check_aligned(pairs, verdicts)
    judged = []
    for pair, verdict in zip(pairs, verdicts):
        if pair.label is None:
            raise ValueError(f"pair {pair.id!r} has no label; JudgeBench pairs are all labelled")
        decisions = [LABEL_TO_DECISION.get(v.answer) if v.answer else None for v in verdict.votes]
        source = pair.metadata.get("subset") or pair.source
        judged.append(JudgedPair(source=source, label=LABEL_TO_DECISION[pair.label], decisions=decisions))
    return judged


def load_judgebench_outputs(path: str | Path) -> list[JudgedPair]:
    """A JudgeBench output file (``outputs/*.jsonl`` of ``run_judge.py``).

    Each record holds ``source``, ``label`` (``A>B``/``B>A``) and ``judgments``: the first
    judged in the original order, the second (when present) with A and B swapped, so its
    decision is flipped back. A ``null`` judgment or decision is a failure; a decision
    outside ``A>B``/``B>A``/``A=B`` scores 0 as in JudgeBench and is counted in
    ``unknown_decisions``. A bad record or a repeated ``pair_id`` raises :class:`DataError`.
    """
    judged = []
    first_line: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            record = json_object(path, line_no, line)
            missing = {"source", "label", "judgments"} - record.keys()
            if missing:
                message = f"missing; a JudgeBench output record needs {sorted(missing)}"
                raise DataError(path, line_no, sorted(missing)[0], message)
            if "pair_id" in record:
                pair_id = str(record["pair_id"])
                if pair_id in first_line:
                    raise DataError(path, line_no, "pair_id", f"{pair_id!r} repeats line {first_line[pair_id]}")
                first_line[pair_id] = line_no
            if record["label"] not in LABELS:
                raise DataError(path, line_no, "label", f"{record['label']!r} is not a JudgeBench label {LABELS}")
            try:
                category(str(record["source"]))
            except ValueError as err:
                raise DataError(path, line_no, "source", str(err)) from None
            decisions = _decisions(path, line_no, record["judgments"])
            judged.append(JudgedPair(source=record["source"], label=record["label"], decisions=decisions))
    if not judged:
        raise DataError(path, None, None, "no JudgeBench records")
    return judged


def _decisions(path: str | Path, line_no: int, judgments: Any) -> list[str | None]:
    """The decisions of a record's ``judgments``, the second flipped back to the original order."""
    if not isinstance(judgments, list) or len(judgments) not in (1, 2):
        raise DataError(path, line_no, "judgments", f"expected a list of 1 or 2 judgments, got {judgments!r:.80}")
    decisions = []
    for k, judgment in enumerate(judgments):
        if judgment is None:
            decisions.append(None)
            continue
        if not isinstance(judgment, dict) or "decision" not in judgment:
            raise DataError(path, line_no, f"judgments[{k}].decision", "missing (write null for a failed judgment)")
        decision = judgment["decision"]
        if decision is not None and not isinstance(decision, str):
            raise DataError(path, line_no, f"judgments[{k}].decision", f"{decision!r} is not a string or null")
        decisions.append(normalize_decision(decision))
    if len(decisions) == 2:
        decisions[1] = flip_decision(decisions[1])
    return decisions
