"""Any file read through a column mapping: which column holds each ``PreferencePair`` field, and
what the label column's values mean (``load_pairs(path, columns=..., labels=...)``, ``--columns``)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import Any

from gram_rr.data.fields import Context, Row, record_id
from gram_rr.data.placement import place
from gram_rr.data.records import LABELS, Message, PreferencePair, render_conversation

PAIR_FIELDS = ("question", "response_a", "response_b", "label", "rationale", "id")
CHOSEN_FIELDS = ("question", "chosen", "rejected", "id")
SOURCE = "columns"


def label_key(value: Any) -> str | None:
    """The text a label value is matched by: a string itself, a number or boolean its JSON (``1``, ``true``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    return None


@dataclass
class ColumnMap:
    """Which column of the file holds each field, and what the label column's values mean.

    ``columns`` maps ``question``, ``response_a``, ``response_b`` (and optionally ``label``,
    ``rationale``, ``id``) to column names; or ``question``, ``chosen``, ``rejected`` (and
    optionally ``id``), whose chosen response is placed at A or B by id hash. The question
    column holds text or a list of ``{role, content}`` messages. An unmapped ``id`` is read
    from a column named ``id`` when there is one, else it is ``<file stem>-<index>``.

    ``labels`` maps the label column's values to ``"A"``, ``"B"`` or ``None`` (a tie: the pair
    is kept unlabeled); numbers and booleans are matched by their JSON text (``"1"``, ``"true"``).
    Without ``labels`` the column holds ``"A"``, ``"B"`` or null. A null label is an unlabeled
    pair; any other value the mapping does not list is an error (with ``strict=False`` the row
    is skipped and counted, which is how to drop ties: leave them out of ``labels``).
    """

    columns: dict[str, str]
    labels: dict[Any, str | None] | None = None
    _by_key: dict[str, str | None] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        chosen = "chosen" in self.columns or "rejected" in self.columns
        allowed = CHOSEN_FIELDS if chosen else PAIR_FIELDS
        unknown = sorted(set(self.columns) - set(allowed))
        if unknown:
            shape = "with chosen/rejected" if chosen else "with response_a/response_b"
            raise ValueError(f"columns: unknown or mixed field(s) {unknown}; {shape} map some of {list(allowed)}")
        missing = [name for name in allowed[:3] if name not in self.columns]
        if missing:
            raise ValueError(f"columns: map {missing} too (question, response_a, response_b or question, chosen, rejected)")
        empty = sorted(name for name, column in self.columns.items() if not isinstance(column, str) or not column)
        if empty:
            raise ValueError(f"columns: {empty} must name a column (a non-empty string)")
        self._by_key = {}
        if self.labels is None:
            return
        if "label" not in self.columns:
            raise ValueError("labels maps the values of the label column: map columns['label'] too")
        for value, target in self.labels.items():
            if target not in LABELS:
                raise ValueError(f"labels: {value!r} maps to {target!r}; map each value to 'A', 'B' or None (a tie)")
            key = label_key(value)
            if key is None:
                raise ValueError(f"labels: {value!r} is not a string, number or boolean")
            self._by_key[key] = target

    def __call__(self, row: Row, ctx: Context) -> PreferencePair:
        """The pair one record holds; a mapped column the record lacks is an error naming it."""
        for name, column in self.columns.items():
            if not row.has(column):
                raise row.error(column, f"missing column (mapped to {name})", detail=f"the record has {sorted(row.value)}")
        question, conversation = self._question(row)
        id = record_id(row, ctx, self.columns.get("id", "id"))
        if "chosen" in self.columns:
            chosen = row.text(self.columns["chosen"], what="response")
            rejected = row.text(self.columns["rejected"], what="response")
            return place(id, chosen, rejected, question=question, conversation=conversation, source=SOURCE)
        return PreferencePair(
            id=id,
            question=question,
            response_a=row.text(self.columns["response_a"], what="response"),
            response_b=row.text(self.columns["response_b"], what="response"),
            label=self._label(row),
            rationale=row.optional_text(self.columns["rationale"]) if "rationale" in self.columns else None,
            source=SOURCE,
            conversation=conversation,
        )

    def _question(self, row: Row) -> tuple[str, list[Message] | None]:
        column = self.columns["question"]
        if isinstance(row.get(column), list):
            conversation = row.messages(column)
            single = len(conversation) == 1 and conversation[0]["role"] == "user"
            return render_conversation(conversation), None if single else conversation
        return row.text(column), None

    def _label(self, row: Row) -> str | None:
        column = self.columns.get("label")
        value = None if column is None else row.get(column)
        if value is None:
            return None
        if self.labels is None:
            if value in ("A", "B"):
                return value
            raise row.error(column, f"unknown label {value!r} (expected 'A', 'B' or null; map other values with labels)")
        key = label_key(value)
        if key not in self._by_key:
            raise row.error(column, f"unknown label {value!r} (expected one of {sorted(self._by_key)})")
        return self._by_key[key]


def parse_columns(text: str) -> dict[str, str]:
    """``question=prompt,response_a=answer1`` -> ``{"question": "prompt", "response_a": "answer1"}``."""
    columns = {}
    for item in text.split(","):
        name, sep, column = item.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise ValueError(f"{item!r} is not FIELD=COLUMN (e.g. question=prompt,response_a=answer1)")
        columns[name.strip()] = column.strip()
    return columns


def parse_label_values(text: str) -> dict[str, str | None]:
    """``model_a=A,model_b=B,tie=null`` -> ``{"model_a": "A", "model_b": "B", "tie": None}``."""
    labels: dict[str, str | None] = {}
    for item in text.split(","):
        value, sep, target = item.rpartition("=")
        target = target.strip()
        if not sep or not value.strip() or target not in ("A", "B", "null"):
            raise ValueError(f"{item!r} is not VALUE=A, VALUE=B or VALUE=null (a tie)")
        labels[value.strip()] = None if target == "null" else target
    return labels


def _argument(parse):
    """``parse`` as argparse's ``type=``: its ValueError becomes a usage error that keeps the message."""

    def parse_argument(text: str):
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return parse_argument


def add_column_arguments(parser: argparse.ArgumentParser) -> None:
    """``--columns`` and ``--label-values``: read a data file through a :class:`ColumnMap`."""
    parser.add_argument(
        "--columns", type=_argument(parse_columns), metavar="FIELD=COLUMN,...",
        help="read the data through a column mapping: question, response_a, response_b [, label, rationale, id] "
        "or question, chosen, rejected [, id], e.g. question=prompt,response_a=answer1,response_b=answer2,label=winner",
    )
    parser.add_argument(
        "--label-values", type=_argument(parse_label_values), metavar="VALUE=A|B|null,...",
        help="with --columns: what the label column's values mean, e.g. model_a=A,model_b=B,tie=null "
        "(null: a tie, kept unlabeled; an unlisted value is an error)",
    )
