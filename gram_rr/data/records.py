"""The preference-pair record every reader produces and every stage consumes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

LABELS = ("A", "B", None)
Message = dict[str, str]


@dataclass
class PreferencePair:
    """One question with two responses and, optionally, which is better and why.

    ``question`` is the user's request as text; ``conversation`` keeps a multi-turn
    history (``[{"role": ..., "content": ...}]``, ending with the last user turn) when
    the source had one, in which case ``question`` is its rendering. ``label`` is
    ``"A"``, ``"B"`` or ``None`` (unlabeled, or a tie).
    """

    id: str
    question: str
    response_a: str
    response_b: str
    label: str | None = None
    rationale: str | None = None
    source: str = ""
    conversation: list[Message] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"label must be 'A', 'B' or None, got {self.label!r}")

    def swapped(self) -> "PreferencePair":
        """The same pair with A and B exchanged: responses, label and ``metadata["gold_label"]``.

        ``metadata["swapped"]`` marks the exchange (swapping twice gives the pair back). Id and
        rationale stay as they are; :func:`gram_rr.data.swap.swap_pair` also rewrites the rationale.
        """
        flip = {"A": "B", "B": "A"}
        metadata = {k: v for k, v in self.metadata.items() if k != "swapped"}
        if not self.metadata.get("swapped", False):
            metadata["swapped"] = True
        if metadata.get("gold_label") in flip:
            metadata["gold_label"] = flip[metadata["gold_label"]]
        return PreferencePair(
            id=self.id,
            question=self.question,
            response_a=self.response_b,
            response_b=self.response_a,
            label=flip.get(self.label),
            rationale=self.rationale,
            source=self.source,
            conversation=self.conversation,
            metadata=metadata,
        )

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        return {k: v for k, v in record.items() if v is not None and v != {}}


def render_conversation(messages: list[Message]) -> str:
    """A multi-turn history as one question text for the single-turn judge prompt."""
    if len(messages) == 1 and messages[0]["role"] == "user":
        return messages[0]["content"]
    return "\n\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in messages)
