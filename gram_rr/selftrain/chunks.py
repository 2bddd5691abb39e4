"""Generation stages in chunks: an append-only log in the stage's work folder, resumed chunk by chunk.

A stage cuts its pairs into chunks of ``generation_chunk_pairs``. Each finished chunk is
appended to ``chunks.jsonl`` as one line per pair (``{"chunk": i, "record": {...}}``) and an
end line (``{"chunk": i, "done": records, "pairs": digest}``), then flushed and fsynced. A
restart keeps the leading chunks whose end line is intact and whose pairs are still the
chunk's pairs, cuts the file after them (a torn or half-written chunk is dropped), and
generates only the rest. Each chunk samples with its own seed, a function of the run's seed,
the stage and the chunk's index, so a resumed chunk is sampled as it would have been.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from gram_rr.data.records import PreferencePair
from gram_rr.engines.base import Completion, Conversation, Engine, EngineBase, SamplingConfig

ChunkWork = Callable[[list[PreferencePair], Engine], list[dict[str, Any]]]
PairSource = Callable[[], Iterable[PreferencePair]]  # a fresh pass over a stage's pairs, in order, at each call


def chunk_seed(seed: int, stage: str, index: int) -> int:
    """The sampling seed of chunk ``index`` of ``stage``: independent of when or after what it runs."""
    digest = hashlib.sha256(json.dumps([seed, stage, index]).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def pairs_digest(pairs: list[PreferencePair]) -> str:
    """A fingerprint of a chunk's pair ids, so a log is never resumed against other data."""
    return hashlib.sha256(json.dumps([p.id for p in pairs]).encode()).hexdigest()[:16]


class SeededEngine(EngineBase):
    """An engine whose ``generate`` calls all sample with one seed (the chunk's).

    Engines that ignore ``SamplingConfig.seed`` (vLLM on CPU) sample from their engine seed
    instead. Closing is left to whoever lent the engine.
    """

    def __init__(self, engine: Engine, seed: int):
        self.engine, self.seed = engine, seed

    def generate(self, conversations: list[Conversation], sampling: SamplingConfig) -> list[list[Completion]]:
        return self.engine.generate(conversations, dataclasses.replace(sampling, seed=self.seed))

    def score(self, conversations: list[Conversation | None], continuations: list[str]) -> list[float]:
        return self.engine.score(conversations, continuations)

    def close(self) -> None:
        pass


class ChunkLog:
    """The append-only JSONL of one stage's finished chunks."""

    def __init__(self, path: Path):
        self.path = path

    def resume(self, digests: list[str]) -> int:
        """How many leading chunks are intact and match ``digests``; the file is cut after them."""
        if not self.path.exists():
            return 0
        done, kept_bytes, records, offset = 0, 0, 0, 0
        with open(self.path, "rb") as log:
            for raw in log:
                offset += len(raw)
                line = _parse(raw)
                if line is None or line.get("chunk") != done or done >= len(digests):
                    break
                if "record" in line:
                    records += 1
                    continue
                if line.get("done") != records or line.get("pairs") != digests[done]:
                    break
                done, kept_bytes, records = done + 1, offset, 0
        if kept_bytes < self.path.stat().st_size:
            with open(self.path, "r+b") as log:
                log.truncate(kept_bytes)
                os.fsync(log.fileno())
        return done

    def append(self, index: int, digest: str, records: list[dict[str, Any]]) -> None:
        """Append one finished chunk and make it durable before the next one starts."""
        lines = [json.dumps({"chunk": index, "record": r}, ensure_ascii=False) for r in records]
        lines.append(json.dumps({"chunk": index, "done": len(records), "pairs": digest}))
        with open(self.path, "ab") as log:
            log.write(("\n".join(lines) + "\n").encode("utf-8"))
            log.flush()
            os.fsync(log.fileno())

    def records(self) -> Iterator[dict[str, Any]]:
        """Every chunk's per-pair records, in pair order, read back one line at a time."""
        with open(self.path, encoding="utf-8") as log:
            for raw in log:
                line = json.loads(raw)
                if "record" in line:
                    yield line["record"]


def _parse(raw: bytes) -> dict[str, Any] | None:
    """A complete line of the log, or None for a torn one (no newline, or not a JSON object)."""
    if not raw.endswith(b"\n"):
        return None
    try:
        line = json.loads(raw)
    except ValueError:
        return None
    return line if isinstance(line, dict) else None


def batches(pairs: Iterable[PreferencePair], size: int) -> Iterator[list[PreferencePair]]:
    """``pairs`` in lists of ``size`` (the last one shorter), drawn one list at a time."""
    iterator = iter(pairs)
    while chunk := list(islice(iterator, size)):
        yield chunk


def run_in_chunks(
    log: ChunkLog, pairs: PairSource, chunk_pairs: int, seed: int, stage: str,
    engine: Callable[[], Engine], work: ChunkWork,
) -> dict[str, int]:
    """Run ``work(chunk, engine)`` on every chunk the log does not hold yet and append its records.

    ``pairs()`` is read twice, one chunk at a time (the chunks' digests first, then the chunks
    to generate), so memory holds one chunk of pairs. ``engine()`` is called only when a chunk
    is left to generate. Returns the chunk counts for the stage's info: ``chunks`` in all,
    ``chunks_resumed`` found finished in the log.
    """
    digests = [pairs_digest(chunk) for chunk in batches(pairs(), chunk_pairs)]
    resumed = log.resume(digests)
    log.path.touch()
    for index, chunk in enumerate(batches(pairs(), chunk_pairs)):
        if index < resumed:
            continue
        records = work(chunk, SeededEngine(engine(), chunk_seed(seed, stage, index)))
        if len(records) != len(chunk):
            raise RuntimeError(f"{stage}: chunk {index} gave {len(records)} records for {len(chunk)} pairs")
        log.append(index, digests[index], records)
    return {"chunks": len(digests), "chunks_resumed": resumed}
