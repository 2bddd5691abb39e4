"""Request bodies checked field by field, and verdicts as JSON (both ways).

Every check raises :class:`RequestError` naming the field (``pairs[2].b``, ``votes``), so a
client learns what to fix from the 400 alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gram_rr.pair_prompt import Question
from gram_rr.serve.errors import RequestError
from gram_rr.verdict import Verdict, Vote

MAX_VOTES = 64  # votes per order a request may ask for


@dataclass
class JudgeOptions:
    """Per-request judge settings; None: the server's ``judge.*`` values."""

    votes: int | None
    both_orders: bool | None
    rationales: bool


@dataclass
class CompareRequest:
    pairs: list[tuple[Question, str, str]]
    options: JudgeOptions


@dataclass
class SelectRequest:
    question: Question
    candidates: list[str]
    options: JudgeOptions


@dataclass
class RewardRequest:
    """OpenRLHF's remote reward request: parallel lists (a label ``""``: none)."""

    queries: list[str]
    prompts: list[str]
    labels: list[str]


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise RequestError(None, f"the body must be a JSON object, got {type(body).__name__}")
    return body


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise RequestError(field, f"must be a string, got {_kind(value)}")
    return value


def _strings(value: Any, field: str, allow_empty: bool = False) -> list[str]:
    if not isinstance(value, list) or (not value and not allow_empty):
        raise RequestError(field, f"must be a non-empty list of strings, got {_kind(value)}")
    return [_string(item, f"{field}[{k}]") for k, item in enumerate(value)]


def _question(value: Any, field: str) -> Question:
    """Text, or a conversation: a non-empty list of ``{"role": str, "content": str}``."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list) or not value:
        raise RequestError(field, f"must be a string or a non-empty list of messages, got {_kind(value)}")
    for k, message in enumerate(value):
        if not isinstance(message, dict):
            raise RequestError(f"{field}[{k}]", "must be an object with string 'role' and 'content'")
        _string(message.get("role"), f"{field}[{k}].role")
        _string(message.get("content"), f"{field}[{k}].content")
    return [{"role": m["role"], "content": m["content"]} for m in value]


def _options(body: dict[str, Any]) -> JudgeOptions:
    votes = body.get("votes")
    if votes is not None and (not isinstance(votes, int) or isinstance(votes, bool) or not 1 <= votes <= MAX_VOTES):
        raise RequestError("votes", f"must be an integer in [1, {MAX_VOTES}], got {votes!r}")
    both_orders = body.get("both_orders")
    if both_orders is not None and not isinstance(both_orders, bool):
        raise RequestError("both_orders", f"must be true or false, got {both_orders!r}")
    rationales = body.get("rationales", False)
    if not isinstance(rationales, bool):
        raise RequestError("rationales", f"must be true or false, got {rationales!r}")
    return JudgeOptions(votes, both_orders, rationales)


def compare_request(body: Any) -> CompareRequest:
    """``{"pairs": [{"question", "a", "b"}, ...], "votes"?, "both_orders"?, "rationales"?}``."""
    body = _object(body)
    pairs = body.get("pairs")
    if not isinstance(pairs, list) or not pairs:
        raise RequestError("pairs", f"must be a non-empty list of {{question, a, b}} objects, got {_kind(pairs)}")
    parsed = []
    for k, pair in enumerate(pairs):
        if not isinstance(pair, dict):
            raise RequestError(f"pairs[{k}]", f"must be an object with question, a and b, got {_kind(pair)}")
        parsed.append(
            (
                _question(pair.get("question"), f"pairs[{k}].question"),
                _string(pair.get("a"), f"pairs[{k}].a"),
                _string(pair.get("b"), f"pairs[{k}].b"),
            )
        )
    return CompareRequest(parsed, _options(body))


def select_request(body: Any) -> SelectRequest:
    """``{"question", "candidates": [...], "votes"?, "both_orders"?, "rationales"?}`` (rank, best_of_n)."""
    body = _object(body)
    return SelectRequest(
        _question(body.get("question"), "question"), _strings(body.get("candidates"), "candidates"), _options(body)
    )


def reward_request(body: Any) -> RewardRequest:
    """OpenRLHF's ``{"query": [...], "prompts": [...], "labels"?: [...]}``, equal lengths; labels left
    out (or null) are all ``""``: none (see :mod:`gram_rr.serve.reward`)."""
    body = _object(body)
    queries = _strings(body.get("query"), "query")
    prompts = _strings(body.get("prompts"), "prompts")
    labels = [""] * len(queries) if body.get("labels") is None else _strings(body["labels"], "labels")
    for name, values in (("prompts", prompts), ("labels", labels)):
        if len(values) != len(queries):
            raise RequestError(name, f"has {len(values)} entries but query has {len(queries)}")
    return RewardRequest(queries, prompts, labels)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


# ---- verdicts ------------------------------------------------------------------------------


def verdict_json(verdict: Verdict, rationales: bool = False) -> dict[str, Any]:
    """A verdict as JSON: winner, confidence, probability, vote counts, abstentions and every vote
    (its answer, order, probability and token count; its rationale with ``rationales``)."""
    votes = []
    for vote in verdict.votes:
        record: dict[str, Any] = {
            "answer": vote.answer, "swapped": vote.swapped, "probability": vote.probability,
            "num_tokens": vote.num_tokens,
        }
        if rationales:
            record["rationale"] = vote.rationale
        votes.append(record)
    return {
        "winner": verdict.winner,
        "confidence": verdict.confidence,
        "probability": verdict.probability,
        "vote_counts": {k: sum(v.answer == k for v in verdict.votes) for k in ("A", "B")},
        "abstentions": verdict.abstentions,
        "votes": votes,
    }


def verdict_from_json(record: dict[str, Any]) -> Verdict:
    """The :class:`Verdict` that :func:`verdict_json` wrote (rationales empty unless sent)."""
    votes = [
        Vote(
            v["answer"], v.get("rationale", ""), swapped=v["swapped"], num_tokens=v.get("num_tokens", 0),
            probability=v["probability"],
        )
        for v in record["votes"]
    ]
    return Verdict(record["winner"], record["confidence"], votes=votes, probability=record["probability"])
