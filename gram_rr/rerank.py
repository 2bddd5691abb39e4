"""Rerank candidate responses with a reward reasoner: best-of-N or a full ranking per row.

    python -m gram_rr.rerank --model smollm2-135m-instruct --input in.jsonl --output out.jsonl \\
        [--engine vllm|hf] [--mode best|rank] [judge.votes=4 judge.both_orders=true engine.max_model_len=2048]
    python -m gram_rr.rerank --model runs/bt/model --scorer scalar --input in.jsonl --output out.jsonl \\
        [scorer.batch_size=8]   # a scalar reward model (sequence classifier or gram-rr LDL folder)

Input rows: ``{"id"?: ..., "question": str | "messages": [{"role", "content"}, ...], "candidates": [str, ...]}``.
Output rows (one per input row, in input order within each chunk): ``row`` (0-based input
line index), ``id`` when given, ``best``, ``ranking`` (``--mode rank``; null for best-of-N)
and ``comparisons``: every judged head-to-head as ``a``/``b``, the candidates shown as A and
B (drawn at random per comparison, seeded by ``judge.seed``), with its verdict (winner,
confidence, P(A better) when known) in that orientation and every vote's rationale and probability.
Completed chunks are appended and flushed; rerunning the same command skips rows
already in the output, so an interrupted run resumes without redoing work.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from gram_rr.cli_args import overrides_epilog
from gram_rr.cli_errors import debug_requested
from gram_rr.config import ConfigError, section_configs
from gram_rr.data.errors import DataError
from gram_rr.engines.config import BACKENDS, EngineConfig
from gram_rr.judge import JudgeConfig, RewardReasoner
from gram_rr.scalar import RewardModelScorer, ScorerConfig
from gram_rr.selection import Selection


@dataclass
class Row:
    """One validated input row."""

    index: int
    id: Any
    question: str | list[dict[str, str]]
    candidates: list[str]


def _check_messages(messages: Any, path: str, line: int) -> list[dict[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise DataError(path, line, "messages", "must be a non-empty list of {role, content} objects")
    for k, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or not isinstance(message.get("role"), str)
            or not isinstance(message.get("content"), str)
        ):
            raise DataError(path, line, f"messages[{k}]", "must be an object with string 'role' and 'content'")
    return messages


def read_rows(path: str | Path) -> list[Row]:
    """Validate and load every input row; errors name ``file, line N: field '...'``."""
    path = str(path)
    rows = []
    try:
        handle = open(path, encoding="utf-8")
    except FileNotFoundError:
        raise DataError(path, None, None, "input file not found") from None
    with handle:
        for line_no, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as err:
                raise DataError(path, line_no, None, f"invalid JSON: {err.msg}") from None
            if not isinstance(record, dict):
                raise DataError(path, line_no, None, "each line must be a JSON object")
            if "messages" in record:
                question: Any = _check_messages(record["messages"], path, line_no)
            elif isinstance(record.get("question"), str):
                question = record["question"]
            else:
                raise DataError(path, line_no, "question", "missing or not a string (or give 'messages')")
            candidates = record.get("candidates")
            if not isinstance(candidates, list) or not candidates:
                raise DataError(path, line_no, "candidates", "must be a non-empty list of strings")
            for k, candidate in enumerate(candidates):
                if not isinstance(candidate, str):
                    raise DataError(path, line_no, f"candidates[{k}]", "must be a string")
            rows.append(Row(index=line_no - 1, id=record.get("id"), question=question, candidates=candidates))
    return rows


class OutputMismatchError(ValueError):
    """An existing ``--output`` file that this rerank run did not write: it is never modified."""


def settings_key(mode: str, judge: JudgeConfig | ScorerConfig, model: str) -> str:
    """A fingerprint of what decides the output rows (mode, model, judge or scalar scorer fields), stored in every row."""
    values = {"mode": mode, "model": model, "judge": dataclasses.asdict(judge)}
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def finished_rows(path: str | Path, settings: str) -> set[int]:
    """Row indices already written to ``path`` by a run with the same ``settings``.

    A torn last line (a crash mid-write, after at least one whole row of ours) is cut off.
    Anything else that is not our row with our settings (another file, other settings, a
    corrupt line in the middle) raises :class:`OutputMismatchError` and leaves the file untouched.
    """
    path = Path(path)
    if not path.exists():
        return set()
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    done, good_end = set(), 0
    for number, chunk in enumerate(lines, start=1):
        try:
            record = json.loads(chunk)
            row, theirs = int(record["row"]), record.get("settings")
        except (ValueError, KeyError, TypeError) as err:
            if number == len(lines) and not chunk.endswith(b"\n") and done:
                break  # our own torn write
            raise OutputMismatchError(
                f"{path}, line {number}: not a gram-rr rerank row ({err.__class__.__name__}); "
                "refusing to append to or truncate a file this run did not write. Choose another --output."
            ) from None
        if theirs != settings:
            raise OutputMismatchError(
                f"{path}, line {number}: written with other settings (mode, model or judge fields; "
                f"{theirs} vs {settings}); resume with the same settings or choose another --output."
            )
        done.add(row)
        good_end += len(chunk)
    if good_end < len(data):
        with open(path, "r+b") as handle:
            handle.truncate(good_end)
    elif data and not data.endswith(b"\n"):
        with open(path, "ab") as handle:
            handle.write(b"\n")
    return done


def output_record(row: Row, selection: Selection, settings: str) -> dict[str, Any]:
    record: dict[str, Any] = {"row": row.index, "settings": settings}
    if row.id is not None:
        record["id"] = row.id
    record["best"] = selection.best
    record["ranking"] = selection.ranking
    record["comparisons"] = [
        {
            "a": c.i,
            "b": c.j,
            "winner": c.verdict.winner,
            "confidence": c.verdict.confidence,
            "probability": c.verdict.probability,
            "abstentions": c.verdict.abstentions,
            "votes": [
                {"answer": v.answer, "swapped": v.swapped, "probability": v.probability, "rationale": v.rationale}
                for v in c.verdict.votes
            ],
        }
        for c in selection.comparisons
    ]
    return record


def append_records(path: str | Path, records: Sequence[dict[str, Any]]) -> None:
    """Append whole lines in one write, then flush and fsync."""
    payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


def rerank(
    reasoner: RewardReasoner | RewardModelScorer, rows: Sequence[Row], output: str | Path, mode: str = "best", chunk_size: int = 16,
    settings: str | None = None,
) -> int:
    """Judge the rows not yet in ``output`` and append them chunk by chunk; returns rows written.

    ``settings`` (default: from the reasoner's judge config and the mode) tags every row.
    """
    if settings is None:
        model = getattr(getattr(reasoner.engine, "config", None), "model", None)
        settings = settings_key(mode, reasoner.config, model or "unknown")
    done = finished_rows(output, settings)
    todo = [row for row in rows if row.index not in done]
    written = 0
    with tqdm(total=len(rows), initial=len(rows) - len(todo), desc=f"rerank ({mode})", unit="row") as bar:
        for start in range(0, len(todo), chunk_size):
            chunk = todo[start : start + chunk_size]
            selections = reasoner.select_many([r.question for r in chunk], [r.candidates for r in chunk], mode=mode)
            append_records(output, [output_record(r, s, settings) for r, s in zip(chunk, selections)])
            written += len(chunk)
            bar.update(len(chunk))
    return written


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gram_rr.rerank",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=overrides_epilog({"judge": JudgeConfig, "engine": EngineConfig, "scorer": ScorerConfig}),
    )
    parser.add_argument("--model", required=True, help="model name (resolve_model) or checkpoint folder")
    parser.add_argument("--input", required=True, help="JSONL of {question|messages, candidates}")
    parser.add_argument("--output", required=True, help="JSONL to write (appended; existing rows are skipped)")
    parser.add_argument("--engine", choices=BACKENDS, default="vllm", help="generation backend")
    parser.add_argument("--mode", choices=("best", "rank"), default="best", help="best-of-N or full ranking")
    parser.add_argument("--chunk-size", type=int, default=16, help="rows per batch (and per flush)")
    parser.add_argument("--scorer", choices=("scalar",), help="rank with --model as a scalar reward model")
    parser.add_argument("overrides", nargs="*", help="judge.* / engine.* (or scorer.* with --scorer) settings as key=value")
    return parser


def configs_from_args(args: argparse.Namespace) -> tuple[JudgeConfig, EngineConfig]:
    configs = section_configs(
        {"judge": (JudgeConfig, {}), "engine": (EngineConfig, {"backend": args.engine, "model": args.model})},
        args.overrides,
    )
    return configs["judge"], configs["engine"]


def scorer_config_from_args(args: argparse.Namespace) -> ScorerConfig:
    return section_configs({"scorer": (ScorerConfig, {})}, args.overrides)["scorer"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.chunk_size < 1:
        print("error: --chunk-size must be >= 1", file=sys.stderr)
        return 2
    if Path(args.output).exists() and Path(args.output).resolve() == Path(args.input).resolve():
        print(f"error: --output {args.output} is the --input file; write the ranking to another file", file=sys.stderr)
        return 2
    try:
        if args.scorer:
            scorer_config = scorer_config_from_args(args)
            settings = settings_key(args.mode, scorer_config, args.model)
        else:
            judge_config, engine_config = configs_from_args(args)
            settings = settings_key(args.mode, judge_config, engine_config.model)
        rows = read_rows(args.input)
        finished = finished_rows(args.output, settings)
    except (ConfigError, DataError, OutputMismatchError) as err:
        if debug_requested():
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not finished >= {r.index for r in rows} and args.scorer:
        from dataclasses import asdict

        scorer = RewardModelScorer.from_pretrained(args.model, **asdict(scorer_config))
        rerank(scorer, rows, args.output, mode=args.mode, chunk_size=args.chunk_size, settings=settings)
    elif not finished >= {r.index for r in rows}:
        from gram_rr.engines import build_engine

        with RewardReasoner(build_engine(engine_config), judge_config) as reasoner:
            rerank(reasoner, rows, args.output, mode=args.mode, chunk_size=args.chunk_size, settings=settings)
    print(f"{args.output}: {len(rows)} rows ranked ({args.mode})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from gram_rr.cli_errors import run_cli

    sys.exit(run_cli(main))
