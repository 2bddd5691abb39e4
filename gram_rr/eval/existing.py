"""Score results that already exist, without running a model.

- JudgeBench output files (``run_judge.py``: records with ``judgments[].decision``);
- RM-Bench result files (``score_chosen``/``score_rejected`` per row);
- our own verdict files (the ``verdicts.jsonl`` cache the runner writes), together with
  the data file they were judged on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gram_rr.data.errors import DataError, json_object
from gram_rr.data.records import PreferencePair
from gram_rr.eval import judgebench, rmbench, workloads
from gram_rr.eval.cache import pair_key, verdict_from_dict
from gram_rr.eval.rewardbench import BY_PROBABILITY, TIE_CREDIT
from gram_rr.verdict import Verdict


def score_judgebench_outputs(path: str | Path) -> dict[str, Any]:
    """The JudgeBench report of a JudgeBench output file; failed and unknown decisions
    (both scored 0, as in JudgeBench) are counted in ``issues``."""
    result = workloads.judgebench_report(judgebench.judgebench_metrics(judgebench.load_judgebench_outputs(path)))
    metrics = result["metrics"]
    result["issues"] = {
        "failed judgments (null decision, scored 0)": metrics["null_decisions"],
        f"unknown decisions (not one of {', '.join(judgebench.DECISIONS)}; scored 0)": metrics["unknown_decisions"],
    }
    return result


def score_rmbench_results(path: str | Path, domain: str | None = None) -> dict[str, Any]:
    """The RM-Bench report of an RM-Bench result file (domain from each row, the file name
    or ``domain``); rows with a NaN score (it loses every comparison) are counted in ``issues``."""
    domains, matrices, nan_rows = rmbench.load_rmbench_scores(path, domain)
    result = workloads.rmbench_report(rmbench.rmbench_metrics(domains, matrices))
    result["issues"] = {"rows with a NaN score (it loses every comparison)": nan_rows}
    return result


@dataclass
class VerdictFile:
    """A verdict file read back: verdicts by cache key (``id#digest``) and, for records
    without a key, by pair id; and the kind of judge its settings name."""

    by_key: dict[str, Verdict] = field(default_factory=dict)
    by_id: dict[str, Verdict] = field(default_factory=dict)
    kind: str | None = None

    def get(self, pair: PreferencePair) -> Verdict | None:
        return self.by_key.get(pair_key(pair), self.by_id.get(pair.id))


def judge_kind(settings: dict[str, Any]) -> str | None:
    """``"scalar"`` for settings with ``scorer`` (a scalar RM), ``"generative"`` with ``judge``,
    ``"tree"`` with ``tree`` (a decision tree, ``--scorer tree``)."""
    for key, kind in (("tree", "tree"), ("scorer", "scalar"), ("judge", "generative")):
        if key in settings:
            return kind
    return None


def load_verdict_file(path: str | Path) -> VerdictFile:
    """A verdict file (JSONL of ``{"id", "verdict", ["key", "settings"]}``, as the runner's
    cache writes it). A repeated key (or id, without keys) or records of two kinds of judge
    raise :class:`DataError`."""
    loaded = VerdictFile()
    first_line: dict[str, int] = {}
    kind_line = 0
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            record = json_object(path, line_no, line)
            if "id" not in record or "verdict" not in record:
                raise DataError(path, line_no, None, "not a verdict record (needs 'id' and 'verdict')")
            key = str(record.get("key", record["id"]))
            if key in first_line:
                field_name = "key" if "key" in record else "id"
                raise DataError(path, line_no, field_name, f"{key!r} repeats line {first_line[key]}")
            first_line[key] = line_no
            try:
                verdict = verdict_from_dict(record["verdict"])
            except (KeyError, TypeError, ValueError) as err:
                raise DataError(path, line_no, "verdict", f"not a verdict ({type(err).__name__}: {err})") from None
            (loaded.by_key if "key" in record else loaded.by_id)[key] = verdict
            kind = judge_kind(record.get("settings") or {})
            if kind is not None and loaded.kind not in (None, kind):
                message = f"a {kind} judge, but line {kind_line} is a {loaded.kind} one"
                raise DataError(path, line_no, "settings", message)
            if kind is not None and loaded.kind is None:
                loaded.kind, kind_line = kind, line_no
    return loaded


def score_verdict_file(
    benchmark: str,
    verdict_path: str | Path,
    data_paths: list[str],
    limit: int | None = None,
    subset: str | None = None,
    columns: dict[str, str] | None = None,
    labels: dict[Any, str | None] | None = None,
) -> dict[str, Any]:
    """The benchmark report of a verdict file on the pairs of ``data_paths`` (read through
    ``columns``/``labels`` when given); RewardBench's tie credit is that of the judge kind
    the file's settings name (0 scalar, 0.5 generative, a tree by its probability)."""
    pairs = workloads.load_workload(benchmark, data_paths, limit=limit, subset=subset, columns=columns, labels=labels)
    loaded = load_verdict_file(verdict_path)
    verdicts = [loaded.get(p) for p in pairs]
    missing = [p.id for p, v in zip(pairs, verdicts) if v is None]
    if missing:
        raise ValueError(
            f"{verdict_path} has no verdict for {len(missing)} of {len(pairs)} pairs (e.g. {missing[:3]}); "
            "check --data/--limit match the run that wrote it (changed data under the same ids is not scored)"
        )
    if loaded.kind is None and benchmark == "rewardbench":
        raise DataError(
            verdict_path, None, "settings",
            "no record says whether a scalar ('scorer'), a generative ('judge') or a tree ('tree') model "
            "wrote it; RewardBench gives ties 0 or 0.5 credit by that",
        )
    tie_credit = TIE_CREDIT[loaded.kind or "generative"]  # only RewardBench reads it
    result = workloads.report(benchmark, pairs, verdicts, tie_credit, by_probability=loaded.kind in BY_PROBABILITY)
    result["run"] = {"judge_kind": loaded.kind}
    return result


def detect_judgments_format(path: str | Path) -> str:
    """``"judgebench"`` for JudgeBench outputs, ``"verdicts"`` for our verdict files."""
    with open(path, encoding="utf-8") as handle:
        first = next((line for line in handle if line.strip()), None)
    if first is None:
        raise DataError(path, None, None, "empty file")
    record = json_object(path, None, first)
    if "judgments" in record:
        return "judgebench"
    if "verdict" in record:
        return "verdicts"
    raise ValueError(f"{path}: records have neither 'judgments' (JudgeBench output) nor 'verdict' (gram-rr verdicts)")
