"""A resumable JSONL log of verdicts, one line per pair id.

Lines are appended a batch at a time and flushed to disk, so an interrupted run
keeps every finished batch; a torn last line (killed mid-write) is ignored and
judged again. Each line records the settings it was produced with; a cache made
with other settings is refused instead of being mixed in.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gram_rr.data.records import PreferencePair
from gram_rr.verdict import Verdict, Vote


def verdict_from_dict(record: dict[str, Any]) -> Verdict:
    """The inverse of :meth:`Verdict.to_dict`."""
    return Verdict(
        winner=record["winner"],
        confidence=float(record["confidence"]),
        votes=[Vote(**vote) for vote in record.get("votes", [])],
        probability=record.get("probability"),
    )


def pair_key(pair: PreferencePair) -> str:
    """The cache key of a pair: its id and a digest of what the judge reads (question or
    conversation, both responses), so changed data under the same id is judged again."""
    content = json.dumps([pair.question, pair.conversation, pair.response_a, pair.response_b], ensure_ascii=False, default=str)
    return f"{pair.id}#{hashlib.sha256(content.encode('utf-8')).hexdigest()[:16]}"


class VerdictCache:
    """Verdicts by :func:`pair_key` in ``path``, tagged with ``settings`` (model, votes, orders...).

    Lines written before keys held the content digest (no ``key`` field) are ignored, so
    those pairs are judged again.
    """

    def __init__(self, path: str | Path, settings: dict[str, Any]):
        self.path = Path(path)
        self.settings = settings
        self.verdicts: dict[str, Verdict] = {}
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        for line_no, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                if line_no == len(lines):  # torn final line from an interrupted write: drop it
                    self._rewrite(lines[:-1])
                    break
                raise ValueError(f"{self.path}:{line_no}: corrupt verdict cache line") from None
            if record["settings"] != self.settings:
                raise ValueError(
                    f"{self.path} was written with settings {record['settings']}, not {self.settings}; "
                    "use another --out folder or delete the file"
                )
            if "key" in record:
                self.verdicts[record["key"]] = verdict_from_dict(record["verdict"])

    def _rewrite(self, lines: list[str]) -> None:
        staging = self.path.with_name(self.path.name + ".tmp")
        staging.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        os.replace(staging, self.path)

    def __contains__(self, pair: PreferencePair) -> bool:
        return pair_key(pair) in self.verdicts

    def __getitem__(self, pair: PreferencePair) -> Verdict:
        return self.verdicts[pair_key(pair)]

    def __len__(self) -> int:
        return len(self.verdicts)

    def add(self, items: Iterable[tuple[PreferencePair, Verdict]]) -> None:
        """Append verdicts and flush them to disk."""
        keyed = [(pair.id, pair_key(pair), verdict) for pair, verdict in items]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            for pair_id, key, verdict in keyed:
                record = {"id": pair_id, "key": key, "settings": self.settings, "verdict": verdict.to_dict()}
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.verdicts.update((key, verdict) for _, key, verdict in keyed)
