"""Splits are streamed: JSONL is read a line at a time, and a round's slice holds only that slice."""

from __future__ import annotations

import gzip
import itertools
import json
import tracemalloc
from pathlib import Path

import pytest

from gram_rr.data import iter_pairs, load_pairs
from gram_rr.data.io import _iter_lines, iter_raw, read_bytes
from gram_rr.resources import data_path
from gram_rr.selftrain.chunks import ChunkLog, run_in_chunks
from gram_rr.selftrain.recipe import DataConfig, SelfTrainRecipe
from gram_rr.selftrain.stages import Pipeline

DEMO = data_path("data/demo/unlabeled.jsonl")


def write_split(path: Path, n: int) -> Path:
    """``n`` demo pairs under new ids."""
    records = [json.loads(line) for line in DEMO.read_text().splitlines()]
    with open(path, "w", encoding="utf-8") as out:
        for i, record in zip(range(n), itertools.cycle(records)):
            out.write(json.dumps({**record, "id": f"big-{i:06d}"}) + "\n")
    return path


def as_tuples(raws) -> list[tuple]:
    return [(r.index, r.line, r.record, r.row, r.value, None if r.error is None else str(r.error)) for r in raws]


def test_streamed_lines_are_the_records_of_the_whole_file_read(tmp_path):
    """BOM, blank and CRLF lines, bad UTF-8, bad JSON, a non-object, no final newline: same records, same errors."""
    good = DEMO.read_text().splitlines()[:3]
    body = (b"\xef\xbb\xbf" + good[0].encode() + b"\r\n\n  \n" + b'{"id": "x", "question": "\xff"}\n'
            + b"{not json\n" + b"[1, 2]\n" + good[1].encode() + b"\n" + good[2].encode())
    plain = tmp_path / "mixed.jsonl"
    plain.write_bytes(body)
    whole = as_tuples(_iter_lines(str(plain), read_bytes(plain).split(b"\n")))
    assert as_tuples(iter_raw(plain)) == whole
    assert [t[5] is not None for t in whole] == [False, True, True, True, False, False]
    zipped = tmp_path / "mixed.jsonl.gz"
    zipped.write_bytes(gzip.compress(body))
    assert [t[:5] for t in as_tuples(iter_raw(zipped))] == [t[:5] for t in whole]


def test_a_json_array_and_an_empty_file_read_as_before(tmp_path):
    array = tmp_path / "array.json"
    array.write_text("\n  [" + ",".join(DEMO.read_text().splitlines()[:4]) + "]")
    assert [p.id for p in load_pairs(array)] == [p.id for p in load_pairs(DEMO)[:4]]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    assert load_pairs(empty, allow_empty=True) == []
    with pytest.raises(ValueError, match="holds no pairs"):
        list(itertools.islice(iter_pairs(empty), 5))


@pytest.fixture(scope="module")
def big_split(tmp_path_factory) -> Path:
    return write_split(tmp_path_factory.mktemp("split") / "unlabeled.jsonl", 6000)


def pipeline(unlabeled: Path, per_round: int, rounds: int, labeled: Path | None = None, labeled_size=None) -> Pipeline:
    data = DataConfig(unlabeled=str(unlabeled), unlabeled_per_round=per_round, seed_size=2, test_size=2,
                      labeled=str(labeled) if labeled else DataConfig.labeled, labeled_size=labeled_size)
    return Pipeline(SelfTrainRecipe(rounds=rounds, use_ray=False, data=data), run=None)


def test_round_slices_streamed_from_a_large_file_equal_slices_of_the_whole_split(big_split):
    whole = load_pairs(big_split)
    plan = pipeline(big_split, per_round=1700, rounds=3, labeled=big_split, labeled_size=2500)
    for k in (1, 2, 3):
        batch = list(plan.round_pairs(k))
        assert [p.to_dict() for p in batch] == [p.to_dict() for p in whole[(k - 1) * 1700 : k * 1700]]
    assert [p.to_dict() for p in plan.labeled_pairs()] == [p.to_dict() for p in whole[:2500]]
    assert plan.labeled_count == 2500
    with pytest.raises(ValueError, match="holds 6000 pairs; 4 rounds of 1700 need 6800"):
        pipeline(big_split, per_round=1700, rounds=4)


def test_a_round_slice_holds_the_slice_not_the_split(big_split):
    """Python's allocation peak while reading 200 of 6000 pairs is far below that of loading all 6000."""
    plan = pipeline(big_split, per_round=200, rounds=2)

    def peak(read) -> tuple[int, list]:
        tracemalloc.start()
        try:
            kept = read()
            return tracemalloc.get_traced_memory()[1], kept
        finally:
            tracemalloc.stop()

    whole_peak, whole = peak(lambda: load_pairs(big_split))
    slice_peak, batch = peak(lambda: list(plan.round_pairs(2)))
    assert len(whole) == 6000 and len(batch) == 200
    assert slice_peak < whole_peak / 8, (slice_peak, whole_peak)


def test_run_in_chunks_draws_the_pairs_one_chunk_at_a_time(tmp_path):
    """When chunk i is generated, the source has handed out no pair past chunk i (nor more than two passes)."""
    pairs = load_pairs(DEMO)[:23]
    drawn, passes = [0], [0]

    def source():
        passes[0] += 1
        for pair in pairs:
            drawn[0] += 1
            yield pair

    def work(chunk, engine):
        drawn_in_second_pass = drawn[0] - len(pairs)
        assert drawn_in_second_pass == sum(map(len, seen)) + len(chunk)  # this chunk and those before, none further
        seen.append([p.id for p in chunk])
        return [{"id": p.id} for p in chunk]

    seen: list[list[str]] = []
    counts = run_in_chunks(ChunkLog(tmp_path / "chunks.jsonl"), source, 5, 0, "predict-1", lambda: None, work)
    assert counts == {"chunks": 5, "chunks_resumed": 0} and passes == [2]
    assert [i for chunk in seen for i in chunk] == [p.id for p in pairs] and [len(c) for c in seen] == [5, 5, 5, 5, 3]
    assert [r["id"] for r in ChunkLog(tmp_path / "chunks.jsonl").records()] == [p.id for p in pairs]
