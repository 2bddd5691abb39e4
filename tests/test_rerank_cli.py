"""The rerank CLI: input validation, output rows, resume without redoing work."""

from __future__ import annotations

import json

import pytest

from gram_rr.data.errors import DataError
from gram_rr.judge import RewardReasoner
from gram_rr.rerank import (
    OutputMismatchError, build_parser, configs_from_args, finished_rows, main, read_rows, rerank, settings_key,
)
from test_judge_unit import FakeEngine, prefers_longer, says


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


ROWS = [
    {"id": "r0", "question": "q0", "candidates": ["aa", "aaaa", "a"]},
    {"messages": [{"role": "user", "content": "q1"}], "candidates": ["b", "bbb"]},
    {"question": "q2", "candidates": ["only one"]},
    {"question": "q3", "candidates": ["cc", "c", "cccc", "ccc", "ccccc"]},
]


def test_rerank_writes_best_ranking_and_rationales(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", ROWS)
    out = tmp_path / "out.jsonl"
    written = rerank(RewardReasoner(FakeEngine(prefers_longer)), read_rows(tmp_path / "in.jsonl"), out, mode="rank")
    assert written == 4
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["row"] for r in records] == [0, 1, 2, 3]
    assert records[0]["id"] == "r0" and "id" not in records[1]
    assert [r["best"] for r in records] == [1, 1, 0, 4]
    assert records[3]["ranking"] == [4, 2, 3, 0, 1]
    assert records[2]["comparisons"] == []
    assert records[0]["comparisons"][0]["votes"][0]["rationale"] == "because"
    for record, row in zip(records, ROWS):  # "a" is the candidate shown as A: the verdict matches it
        for c in record["comparisons"]:
            a, b = row["candidates"][c["a"]], row["candidates"][c["b"]]
            assert c["winner"] == ("A" if len(a) > len(b) else "B")
            assert c["probability"] is None  # the fake engine gives no answer-token log-probabilities
    shown_first = [c["a"] < c["b"] for r in records for c in r["comparisons"]]
    assert True in shown_first and False in shown_first


def test_chunking_and_resume_do_not_change_shown_orders(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", ROWS)
    rows = read_rows(tmp_path / "in.jsonl")
    whole, pieces = tmp_path / "whole.jsonl", tmp_path / "pieces.jsonl"
    rerank(RewardReasoner(FakeEngine(lambda a, b, s: says("A"))), rows, whole, mode="rank", chunk_size=4)
    rerank(RewardReasoner(FakeEngine(lambda a, b, s: says("A"))), rows[1:3], pieces, mode="rank", chunk_size=1)
    rerank(RewardReasoner(FakeEngine(lambda a, b, s: says("A"))), rows, pieces, mode="rank", chunk_size=3)
    by_row = {json.loads(line)["row"]: line for line in pieces.read_text().splitlines()}
    assert [by_row[r] for r in range(4)] == whole.read_text().splitlines()


def test_resume_skips_finished_rows_and_cuts_a_torn_line(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", ROWS)
    rows = read_rows(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    engine = FakeEngine(prefers_longer)
    rerank(RewardReasoner(engine), rows[:2], out, mode="best", chunk_size=1)
    with open(out, "a") as handle:  # a crash in the middle of writing row 2
        handle.write('{"row": 2, "best": ')
    settings = json.loads(out.read_text().splitlines()[0])["settings"]
    assert finished_rows(out, settings) == {0, 1}
    engine.calls.clear()
    assert rerank(RewardReasoner(engine), rows, out, mode="best", chunk_size=2) == 2
    judged = {c[-1]["content"].split("[User Question]\n")[1].split("\n")[0] for convs, _ in engine.calls for c in convs}
    assert judged == {"q3"}  # q2 has one candidate: nothing to judge; q0, q1 not redone
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["row"] for r in records] == [0, 1, 2, 3]
    assert all(r["ranking"] is None for r in records)
    assert rerank(RewardReasoner(engine), rows, out) == 0


@pytest.mark.parametrize(
    "line, where",
    [
        ("not json", "line 2: invalid JSON"),
        (json.dumps({"candidates": ["a"]}), "line 2: field 'question'"),
        (json.dumps({"question": "q", "candidates": []}), "line 2: field 'candidates'"),
        (json.dumps({"question": "q", "candidates": ["a", 3]}), "line 2: field 'candidates[1]'"),
        (json.dumps({"messages": [{"role": "user"}], "candidates": ["a"]}), "line 2: field 'messages[0]'"),
    ],
)
def test_invalid_input_names_file_line_and_field(tmp_path, line, where):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + line + "\n")
    with pytest.raises(DataError) as err:
        read_rows(path)
    assert str(err.value) == f"{path}, {where}" or str(err.value).startswith(f"{path}, {where}")


def test_cli_reports_bad_input_before_loading_a_model(tmp_path, capsys):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"question": "q"}) + "\n")
    assert main(["--model", "nowhere", "--input", str(path), "--output", str(tmp_path / "o.jsonl")]) == 2
    assert "line 1: field 'candidates'" in capsys.readouterr().err


def test_cli_rejects_unknown_override(tmp_path, capsys):
    write_jsonl(tmp_path / "in.jsonl", ROWS)
    argv = ["--model", "m", "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "o.jsonl")]
    assert main(argv + ["judge.nope=1"]) == 2
    assert "unknown key" in capsys.readouterr().err


@pytest.mark.model
def test_cli_end_to_end_on_tiny_model_with_resume(tmp_path, tiny_model_dir):
    write_jsonl(tmp_path / "in.jsonl", ROWS)
    out = tmp_path / "out.jsonl"
    argv = [
        "--model", tiny_model_dir, "--input", str(tmp_path / "in.jsonl"), "--output", str(out),
        "--engine", "hf", "--mode", "rank", "--chunk-size", "2", "judge.max_new_tokens=8",
    ]  # fmt: skip
    judge, engine = configs_from_args(build_parser().parse_args(argv))
    earlier = {"row": 0, "settings": settings_key("rank", judge, engine.model), "best": 2, "ranking": [2, 0, 1], "comparisons": []}
    out.write_text(json.dumps(earlier) + "\n")
    assert main(argv) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["row"] for r in records] == [0, 1, 2, 3]
    assert records[0]["ranking"] == [2, 0, 1]  # kept, not redone
    for record, row in zip(records[1:], ROWS[1:]):
        assert sorted(record["ranking"]) == list(range(len(row["candidates"])))
        assert record["best"] == record["ranking"][0]
        # a random 2-layer model writes no answer block: every vote is an abstention
        assert all(c["winner"] is None and c["abstentions"] == 1 for c in record["comparisons"])
    assert main(argv) == 0
    assert len(out.read_text().splitlines()) == 4


def test_output_equal_to_input_is_refused_and_left_intact(tmp_path, capsys):
    write_jsonl(tmp_path / "in.jsonl", ROWS)
    before = (tmp_path / "in.jsonl").read_bytes()
    argv = ["--model", "/nonexistent", "--engine", "hf", "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "in.jsonl")]
    assert main(argv) == 2
    assert "is the --input file" in capsys.readouterr().err
    assert (tmp_path / "in.jsonl").read_bytes() == before


@pytest.mark.parametrize("existing", [
    json.dumps({"question": "q", "candidates": ["a", "b"]}) + "\n",  # somebody's data, not a rerank output
    "{not json}\n" + json.dumps({"row": 0}) + "\n",
])
def test_existing_output_we_did_not_write_is_refused_untouched(tmp_path, capsys, existing):
    write_jsonl(tmp_path / "in.jsonl", ROWS)
    out = tmp_path / "out.jsonl"
    out.write_text(existing)
    argv = ["--model", "/nonexistent", "--engine", "hf", "--input", str(tmp_path / "in.jsonl"), "--output", str(out)]
    assert main(argv) == 2
    assert f"{out}, line 1" in capsys.readouterr().err
    assert out.read_text() == existing


def test_corrupt_middle_line_or_other_settings_never_truncate(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", ROWS)
    rows = read_rows(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    rerank(RewardReasoner(FakeEngine(prefers_longer)), rows, out, mode="best", chunk_size=1)
    lines = out.read_text().splitlines(keepends=True)
    settings = json.loads(lines[0])["settings"]
    corrupt = lines[0] + "garbage\n" + "".join(lines[1:])
    out.write_text(corrupt)
    with pytest.raises(OutputMismatchError, match="line 2"):
        finished_rows(out, settings)
    assert out.read_text() == corrupt
    out.write_text("".join(lines))
    with pytest.raises(OutputMismatchError, match="other settings"):
        rerank(RewardReasoner(FakeEngine(prefers_longer)), rows, out, mode="rank")
    assert out.read_text() == "".join(lines)
