"""Any file through a column mapping (``columns=``, ``--columns``), Parquet files and ``save_to_disk`` folders."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pandas as pd
import pytest

from gram_rr import PreferencePair, load_pairs
from gram_rr.data import DataError
from gram_rr.data.columns import ColumnMap, parse_columns, parse_label_values
from gram_rr.data.placement import chosen_first
from gram_rr.eval import workloads
from gram_rr.eval.cli import build_parser as eval_parser
from gram_rr.train import build_parser as train_parser

ARENA = {
    "question": "prompt", "response_a": "answer1", "response_b": "answer2", "label": "winner", "rationale": "why", "id": "qid",
}
ARENA_LABELS = {"model_a": "A", "model_b": "B", "tie": None}


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _arena(n: int, winners: tuple = ("model_a", "model_b", "tie")) -> list[dict]:
    return [
        {"qid": f"q{i}", "prompt": f"What is {i} + {i}?", "answer1": str(2 * i), "answer2": str(2 * i + 1),
         "winner": winners[i % len(winners)], "why": f"{i} + {i} = {2 * i}", "extra": i}
        for i in range(n)
    ]


def test_mapping_reads_columns_and_label_values(tmp_path: Path) -> None:
    pairs = load_pairs(_jsonl(tmp_path / "arena.jsonl", _arena(3)), columns=ARENA, labels=ARENA_LABELS)
    assert pairs.stats.format == "columns" and pairs.stats.loaded == 3
    assert [p.label for p in pairs] == ["A", "B", None]  # a tie mapped to None is kept unlabeled
    first = pairs[1]
    assert (first.id, first.question, first.response_a, first.response_b) == ("q1", "What is 1 + 1?", "2", "3")
    assert (first.rationale, first.source, first.conversation) == ("1 + 1 = 2", "columns", None)


def test_null_label_is_unlabeled_and_unmapped_id_defaults(tmp_path: Path) -> None:
    rows = [{"p": "q?", "x": "a", "y": "b", "w": None}, {"p": "q2?", "x": "c", "y": "d", "w": "B"}]
    columns = {"question": "p", "response_a": "x", "response_b": "y", "label": "w"}
    pairs = load_pairs(_jsonl(tmp_path / "plain.jsonl", rows), columns=columns)
    assert [(p.id, p.label) for p in pairs] == [("plain-0", None), ("plain-1", "B")]


def test_chosen_rejected_mapping_places_the_chosen_response(tmp_path: Path) -> None:
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}, {"role": "user", "content": "bye"}]
    rows = [{"x": f"question {i}" if i % 2 else history, "good": f"good {i}", "bad": f"bad {i}"} for i in range(40)]
    pairs = load_pairs(_jsonl(tmp_path / "dpo_like.jsonl", rows), columns={"question": "x", "chosen": "good", "rejected": "bad"})
    for i, pair in enumerate(pairs):
        assert pair.label == ("A" if chosen_first(pair.id) else "B")
        assert (pair.response_a if pair.label == "A" else pair.response_b) == f"good {i}"
        assert pair.conversation == (None if i % 2 else history)
    assert {p.label for p in pairs} == {"A", "B"}


def test_missing_mapped_column_names_file_line_and_column(tmp_path: Path) -> None:
    rows = _arena(2)
    del rows[1]["answer2"]
    with pytest.raises(DataError, match=r"arena\.jsonl, line 2: field 'answer2': missing column \(mapped to response_b\)"):
        load_pairs(_jsonl(tmp_path / "arena.jsonl", rows), columns=ARENA, labels=ARENA_LABELS)


def test_unknown_label_values(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _jsonl(tmp_path / "arena.jsonl", _arena(6))
    unknown_tie = r"line 3: field 'winner': unknown label 'tie' \(expected one of \['model_a', 'model_b'\]\)"
    with pytest.raises(DataError, match=unknown_tie):
        load_pairs(path, columns=ARENA, labels={"model_a": "A", "model_b": "B"})
    with pytest.raises(DataError, match=r"line 1: field 'winner': unknown label 'model_a' \(expected 'A', 'B' or null"):
        load_pairs(path, columns=ARENA)
    dropped = load_pairs(path, columns=ARENA, labels={"model_a": "A", "model_b": "B"}, strict=False)  # ties dropped, counted
    assert [p.label for p in dropped] == ["A", "B", "A", "B"]
    assert dropped.stats.skipped == 2 and sum(dropped.stats.reasons.values()) == 2
    assert "2 x field 'winner': unknown label 'tie'" in caplog.text


@pytest.mark.parametrize(
    ("columns", "labels", "pattern"),
    [
        ({"question": "p", "response_a": "x"}, None, r"map \['response_b'\] too"),
        ({"question": "p", "response_a": "x", "response_b": "y", "winner": "w"}, None, r"mixed field\(s\) \['winner'\]"),
        ({"question": "p", "chosen": "x", "rejected": "y", "response_a": "z"}, None, r"mixed field\(s\) \['response_a'\]"),
        ({"question": "p", "chosen": "x", "rejected": "y", "label": "z"}, None, r"mixed field\(s\) \['label'\]"),
        ({"question": "p", "response_a": "", "response_b": "y"}, None, r"\['response_a'\] must name a column"),
        ({"question": "p", "response_a": "x", "response_b": "y"}, {"1": "A"}, r"map columns\['label'\] too"),
        ({"question": "p", "response_a": "x", "response_b": "y", "label": "w"}, {"1": "a"}, r"'1' maps to 'a'"),
    ],
)
def test_invalid_mappings(columns: dict, labels: dict | None, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        ColumnMap(columns, labels)


def test_load_pairs_checks_its_mapping_arguments(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "arena.jsonl", _arena(1))
    with pytest.raises(ValueError, match="pass columns= too"):
        load_pairs(path, labels=ARENA_LABELS)
    with pytest.raises(ValueError, match="drop format='pairs'"):
        load_pairs(path, format="pairs", columns=ARENA)


def test_parquet_round_trip_of_the_project_format(tmp_path: Path) -> None:
    pairs = [
        PreferencePair("p1", "What is 2+2?", "4", "5", "A", "Feedback:\n2+2=4.", "demo", None, {"k": 1}),
        PreferencePair("p2", "User: hi\n\nAssistant: hello\n\nUser: bye", "bye!", "ciao", None, None, "",
                       [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                        {"role": "user", "content": "bye"}]),
        PreferencePair("p3", "Säg hej 👋", "Hej!", "Hello", "B", source="x"),
    ]
    path = tmp_path / "pairs.parquet"
    pd.DataFrame([p.to_dict() for p in pairs]).to_parquet(path)  # fields a record lacks become empty cells
    loaded = load_pairs(path)
    assert loaded == pairs and loaded.stats.format == "pairs"


def test_parquet_through_a_mapping_with_numeric_labels(tmp_path: Path) -> None:
    rows = [{"prompt": f"q{i}", "answer1": f"a{i}", "answer2": f"b{i}", "winner": i % 3} for i in range(6)]
    path = tmp_path / "numeric.parquet"
    pd.DataFrame(rows).to_parquet(path)
    columns = {key: ARENA[key] for key in ("question", "response_a", "response_b", "label")}
    pairs = load_pairs(path, columns=columns, labels={0: "A", "1": "B", 2: None})  # matched by JSON text
    assert [p.label for p in pairs] == ["A", "B", None, "A", "B", None]
    assert [p.id for p in pairs] == [f"numeric-{i}" for i in range(6)]


def test_parquet_written_by_pandas_with_an_index(tmp_path: Path) -> None:
    frame = pd.DataFrame([{"prompt": f"q{i}", "chosen": f"good {i}", "rejected": f"bad {i}"} for i in range(4)])
    path = tmp_path / "dpo.parquet"
    frame.iloc[[3, 1]].to_parquet(path)  # a filtered frame keeps its index as __index_level_0__
    pairs = load_pairs(path)
    assert pairs.stats.format == "dpo" and [p.question for p in pairs] == ["q3", "q1"]


def test_parquet_errors_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    pd.DataFrame([{"id": y, "question": "q", "response_a": "x", "response_b": y} for y in ("y", "z", " ")]).to_parquet(path)
    with pytest.raises(DataError, match=r"bad\.parquet, row 2: field 'response_b': empty response"):
        load_pairs(path)
    pd.DataFrame([{"id": "a", "question": "q", "response_a": "x", "response_b": "y"}] * 2).to_parquet(path)
    with pytest.raises(DataError, match=r"row 1: field 'id': duplicate id \('a' was first read at row 0\)"):
        load_pairs(path)
    missing = r"bad\.parquet, row 0: field 'answer1': missing column \(mapped to response_a\) \(the record has \['id', "
    with pytest.raises(DataError, match=missing):
        load_pairs(path, columns={"question": "question", "response_a": "answer1", "response_b": "response_b"})
    path.write_bytes(path.read_bytes()[:40])  # the magic bytes, but no footer
    with pytest.raises(DataError, match=r"bad\.parquet: not a readable Parquet file"):
        load_pairs(path)


def test_save_to_disk_folder(tmp_path: Path) -> None:
    dataset = datasets.Dataset.from_list(_arena(5)).select([4, 0, 2])  # an index mapping is honoured
    dataset.save_to_disk(str(tmp_path / "arena"))
    pairs = load_pairs(tmp_path / "arena", columns=ARENA, labels=ARENA_LABELS)
    assert [(p.id, p.label) for p in pairs] == [("q4", "B"), ("q0", "A"), ("q2", None)]
    dataset.rename_column("answer2", "answer3").save_to_disk(str(tmp_path / "renamed"))
    with pytest.raises(DataError, match=r"renamed, row 0: field 'answer2': missing column \(mapped to response_b\)"):
        load_pairs(tmp_path / "renamed", columns=ARENA, labels=ARENA_LABELS)


def test_folders_that_are_not_one_dataset(tmp_path: Path) -> None:
    dataset = datasets.Dataset.from_list(_arena(2))
    datasets.DatasetDict({"train": dataset, "test": dataset}).save_to_disk(str(tmp_path / "splits"))
    with pytest.raises(DataError, match=r"splits: a DatasetDict folder \(splits: test, train\); pass one split's folder"):
        load_pairs(tmp_path / "splits", columns=ARENA, labels=ARENA_LABELS)
    assert len(load_pairs(tmp_path / "splits" / "train", columns=ARENA, labels=ARENA_LABELS)) == 2
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataError, match=r"plain: a folder that datasets' save_to_disk did not write"):
        load_pairs(tmp_path / "plain")


def test_flag_values_parse() -> None:
    assert parse_columns("question=prompt, response_a=answer1,response_b=a=b") == {
        "question": "prompt", "response_a": "answer1", "response_b": "a=b"
    }
    assert parse_label_values("model_a=A,model_b=B,tie=null,x=y=A") == {"model_a": "A", "model_b": "B", "tie": None, "x=y": "A"}
    with pytest.raises(ValueError, match=r"'prompt' is not FIELD=COLUMN"):
        parse_columns("prompt")
    with pytest.raises(ValueError, match=r"'tie=none' is not VALUE=A, VALUE=B or VALUE=null"):
        parse_label_values("tie=none")


@pytest.mark.parametrize("build_parser", [eval_parser, train_parser])
def test_cli_flags(build_parser, capsys: pytest.CaptureFixture) -> None:
    required = ["--benchmark", "pairs"] if build_parser is eval_parser else ["--role", "reasoner", "--output", "out"]
    args = build_parser().parse_args(
        [*required, "--data", "arena.jsonl", "--columns", "question=prompt,response_a=answer1,response_b=answer2,label=winner",
         "--label-values", "model_a=A,model_b=B,tie=null"]
    )
    assert args.columns == {"question": "prompt", "response_a": "answer1", "response_b": "answer2", "label": "winner"}
    assert args.label_values == ARENA_LABELS
    with pytest.raises(SystemExit):
        build_parser().parse_args([*required, "--data", "x.jsonl", "--columns", "question"])
    assert "argument --columns: 'question' is not FIELD=COLUMN" in capsys.readouterr().err


def test_eval_workload_reads_through_the_mapping(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "arena.jsonl", _arena(4))
    pairs = workloads.load_workload("pairs", [path], limit=3, columns=ARENA, labels=ARENA_LABELS)
    assert [(p.id, p.label) for p in pairs] == [("q0", "A"), ("q1", "B"), ("q2", None)]
