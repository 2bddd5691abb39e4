"""The per-pair features a preference tree splits on, always *first shown minus second shown*.

A row is one pair shown in one order: the file's order (A first) or swapped (B first). Groups of columns:

- ``length``: ``chars_diff`` and ``words_diff``, the first response's length minus the second's;
- ``position``: ``gold_first``, 1 when the gold winner is the response shown first, else 0;
- ``probability``: the judge's P(the response shown first is better), its verdict's order-pooled
  ``Verdict.probability`` (P(A better)) read for the shown order;
- ``metadata``: one-hot columns ``key=value`` for the chosen metadata keys (the demo's ``family``
  and ``error``), 1 when the pair has that value; a pair without the key has 0 in all of them;
- ``attributes``: ``attr:NAME``, the first response's attribute score minus the second's
  (an attributes file, :mod:`gram_rr.analyze.attributes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gram_rr.analyze.attributes import AttributeTable
from gram_rr.data.records import PreferencePair
from gram_rr.verdict import Verdict

GROUPS = ("length", "position", "probability", "metadata", "attributes")
LENGTH_COLUMNS = ("chars_diff", "words_diff")
POSITION_COLUMN = "gold_first"
PROBABILITY_COLUMN = "probability"
ATTRIBUTE_PREFIX = "attr:"


class MissingInput(ValueError):
    """A row needs something its pair lacks (a verdict, a probability, a label, attribute scores)."""


@dataclass(frozen=True)
class FeatureSpec:
    """Which columns a tree reads, in order: the groups (in :data:`GROUPS` order), the metadata
    values one-hot encoded, and the attribute names."""

    groups: tuple[str, ...]
    metadata: tuple[tuple[str, tuple[str, ...]], ...] = ()
    attributes: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        names: list[str] = []
        for group in self.groups:
            if group == "length":
                names += LENGTH_COLUMNS
            elif group == "position":
                names.append(POSITION_COLUMN)
            elif group == "probability":
                names.append(PROBABILITY_COLUMN)
            elif group == "metadata":
                names += [f"{key}={value}" for key, values in self.metadata for value in values]
            else:
                names += [ATTRIBUTE_PREFIX + name for name in self.attributes]
        return names

    def to_dict(self) -> dict[str, Any]:
        return {"groups": list(self.groups), "metadata": {k: list(v) for k, v in self.metadata},
                "attributes": list(self.attributes)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeatureSpec":
        groups = tuple(data["groups"])
        unknown = [g for g in groups if g not in GROUPS]
        if unknown:
            raise ValueError(f"unknown feature group(s) {unknown}; known: {list(GROUPS)}")
        metadata = tuple((str(k), tuple(str(v) for v in values)) for k, values in data.get("metadata", {}).items())
        return cls(groups, metadata, tuple(str(a) for a in data.get("attributes", [])))


def build_spec(
    groups: Sequence[str], pairs: Sequence[PreferencePair], metadata_keys: Sequence[str],
    attributes: AttributeTable | None = None,
) -> FeatureSpec:
    """The spec for ``groups`` on these pairs: every value the metadata keys take in them, and
    the attribute file's names."""
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise ValueError(f"unknown feature group(s) {unknown}; choose from {', '.join(GROUPS)}")
    if "attributes" in groups and attributes is None:
        raise ValueError("the 'attributes' features need --attributes FILE")
    metadata = ()
    if "metadata" in groups:
        values = {key: sorted({category(p.metadata[key]) for p in pairs if key in p.metadata}) for key in metadata_keys}
        metadata = tuple((key, tuple(found)) for key, found in values.items() if found)
    spec = FeatureSpec(
        tuple(g for g in GROUPS if g in groups), metadata, attributes.names if "attributes" in groups else ()
    )
    if not spec.names:
        raise ValueError(f"no feature columns from groups {list(groups)} (metadata keys {list(metadata_keys)} absent?)")
    return spec


def category(value: Any) -> str:
    """A metadata value as the category text of its one-hot column."""
    return value if isinstance(value, str) else repr(value)


def feature_vector(
    spec: FeatureSpec, pair: PreferencePair, swapped: bool, verdict: Verdict | None = None,
    attributes: AttributeTable | None = None,
) -> list[float]:
    """The row of ``pair`` shown with B first when ``swapped``; :class:`MissingInput` names what is missing."""
    first, second = (pair.response_b, pair.response_a) if swapped else (pair.response_a, pair.response_b)
    values: list[float] = []
    for group in spec.groups:
        if group == "length":
            values += [float(len(first) - len(second)), float(len(first.split()) - len(second.split()))]
        elif group == "position":
            if pair.label is None:
                raise MissingInput("no gold label")
            values.append(float(pair.label == ("B" if swapped else "A")))
        elif group == "probability":
            if verdict is None:
                raise MissingInput("pair without a verdict")
            if verdict.probability is None:
                raise MissingInput("verdict without a probability")
            values.append(1.0 - verdict.probability if swapped else verdict.probability)
        elif group == "metadata":
            for key, categories in spec.metadata:
                have = category(pair.metadata[key]) if key in pair.metadata else None
                values += [float(have == value) for value in categories]
        else:
            if attributes is None or pair.id not in attributes.by_id:
                raise MissingInput("no attribute scores")
            scores = attributes.by_id[pair.id]
            shown_first, shown_second = (scores.b, scores.a) if swapped else (scores.a, scores.b)
            values += [shown_first[name] - shown_second[name] for name in spec.attributes]
    return values
