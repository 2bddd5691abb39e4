"""A judge's verdicts on pairs, read from the files gram-rr writes.

- ``gram_rr.eval``'s verdict file (``OUT/verdicts.jsonl``: ``{"id", "key", "settings", "verdict"}``),
  read by :func:`gram_rr.eval.existing.load_verdict_file`;
- a self-training evaluation stage's verdicts (``RUN/stages/eval-*/verdicts.jsonl``:
  ``{"id", "label", "winner", "confidence", "votes", "probability", ...}``, one ``Verdict.to_dict()``
  per pair with the gold label it was scored against).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gram_rr.data.errors import DataError, json_object
from gram_rr.data.records import PreferencePair
from gram_rr.eval.cache import verdict_from_dict
from gram_rr.eval.existing import VerdictFile, load_verdict_file
from gram_rr.verdict import Verdict


@dataclass
class JudgeVerdicts:
    """Verdicts by pair; ``labels`` (stage files only) is the gold label each line was scored against."""

    path: str
    verdicts: VerdictFile
    labels: dict[str, tuple[int, str | None]] = field(default_factory=dict)

    def get(self, pair: PreferencePair) -> Verdict | None:
        """The pair's verdict, or None; a stage line whose label is not the pair's is an error
        (the verdicts were made on other data under the same ids)."""
        if pair.id in self.labels:
            line, label = self.labels[pair.id]
            if label != pair.label:
                message = f"{label!r}, but the pairs file labels {pair.id!r} {pair.label!r}: judged on other data?"
                raise DataError(self.path, line, "label", message)
        return self.verdicts.get(pair)


def load_judge_verdicts(path: str | Path) -> JudgeVerdicts:
    """Read either verdict file format (told apart by the first record's fields)."""
    file = str(path)
    if not Path(file).is_file():
        raise DataError(file, None, None, "file not found")
    with open(file, encoding="utf-8") as handle:
        lines = [(number, line) for number, line in enumerate(handle, 1) if line.strip()]
    if not lines:
        raise DataError(file, None, None, "empty verdicts file")
    first = json_object(file, lines[0][0], lines[0][1])
    if "verdict" in first:
        return JudgeVerdicts(file, load_verdict_file(file))
    if "winner" in first and "votes" in first:
        return _load_stage_verdicts(file, lines)
    raise DataError(
        file, lines[0][0], None,
        "not a verdict file: records need 'verdict' (gram_rr.eval) "
        "or 'winner' and 'votes' (a self-training eval stage)",
    )


def _load_stage_verdicts(file: str, lines: list[tuple[int, str]]) -> JudgeVerdicts:
    loaded = JudgeVerdicts(file, VerdictFile())
    for number, line in lines:
        record = json_object(file, number, line)
        if "id" not in record:
            raise DataError(file, number, "id", "missing field")
        pair_id = str(record["id"])
        if pair_id in loaded.labels:
            raise DataError(file, number, "id", f"{pair_id!r} repeats line {loaded.labels[pair_id][0]}")
        try:
            verdict = verdict_from_dict(record)
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(file, number, "votes", f"not a verdict ({type(err).__name__}: {err})") from None
        loaded.verdicts.by_id[pair_id] = verdict
        loaded.labels[pair_id] = (number, record.get("label"))
    return loaded
