"""Bad input raises DataError naming the file, the line (JSONL) or record (JSON array), and the field."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from gram_rr import load_pairs
from gram_rr.data import DataError

GOOD = {"id": "g", "question": "What is 2+2?", "response_a": "4", "response_b": "5", "label": "A"}


def _lines(path: Path, *lines: str | bytes) -> Path:
    path.write_bytes(b"".join((l if isinstance(l, bytes) else l.encode()) + b"\n" for l in lines))
    return path


def _row(**changes) -> str:
    record = {**GOOD, **changes}
    return json.dumps({k: v for k, v in record.items() if v is not ...})


@pytest.mark.parametrize(
    ("bad_line", "pattern"),
    [
        ('{"id": "x", "question": "q",', r"bad\.jsonl, line 2: invalid JSON: .*\(column \d+\)"),
        (_row(response_b=...), r"bad\.jsonl, line 2: field 'response_b': missing field"),
        (_row(response_a=3), r"bad\.jsonl, line 2: field 'response_a': expected a string, got int"),
        (_row(metadata=[1]), r"bad\.jsonl, line 2: field 'metadata': expected an object, got list"),
        (_row(response_b="  \n"), r"bad\.jsonl, line 2: field 'response_b': empty response"),
        (_row(label="C"), r"bad\.jsonl, line 2: field 'label': unknown label 'C' \(expected 'A', 'B' or null\)"),
        (_row(lable="A"), r"bad\.jsonl, line 2: field 'lable': unknown field"),
        (_row(conversation=[{"role": "user"}]), r"line 2: field 'conversation\[0\]\.content': expected a string, got null"),
        ('["not", "an", "object"]', r"bad\.jsonl, line 2: record must be a JSON object, got list"),
    ],
)
def test_jsonl_errors_name_file_line_and_field(tmp_path: Path, bad_line: str, pattern: str) -> None:
    path = _lines(tmp_path / "bad.jsonl", _row(), bad_line, _row(id="h"))
    with pytest.raises(DataError, match=pattern) as info:
        load_pairs(path)
    assert info.value.file == str(path) and info.value.line == 2


def test_non_utf8_bytes(tmp_path: Path) -> None:
    latin1 = _row(question="café?").replace("caf\\u00e9", "caf\xe9").encode("latin-1")
    path = _lines(tmp_path / "latin1.jsonl", _row(), latin1)
    column = latin1.index(b"\xe9") + 1
    with pytest.raises(DataError, match=rf"latin1\.jsonl, line 2: not valid UTF-8 \(byte 0xe9 at column {column}\)"):
        load_pairs(path)
    array = tmp_path / "latin1.json"
    array.write_bytes(b'[\n{"input": "caf\xe9"}\n]')
    with pytest.raises(DataError, match=r"latin1\.json, line 2: not valid UTF-8 \(byte 0xe9 at column 15\)"):
        load_pairs(array)


def test_json_array_errors_name_the_record_index(tmp_path: Path) -> None:
    path = tmp_path / "LLMBar_Mine.json"
    rows = [{"input": "q", "output_1": "a", "output_2": "b", "label": 1} for _ in range(3)]
    rows[2]["label"] = 3
    path.write_text(json.dumps(rows))
    with pytest.raises(DataError, match=r"LLMBar_Mine\.json, record 2: field 'label': unknown label 3 \(expected 1 or 2\)"):
        load_pairs(path)
    rows[2] = {"input": "q", "output_1": ["a"], "output_2": "b", "label": 1}
    path.write_text(json.dumps(rows))
    with pytest.raises(DataError, match=r"record 2: field 'output_1': expected a string, got list"):
        load_pairs(path)
    path.write_text('[{"input": "q"},\n {"input": }]')
    with pytest.raises(DataError, match=r"LLMBar_Mine\.json, line 2: invalid JSON"):
        load_pairs(path)


@pytest.mark.parametrize(
    ("record", "pattern"),
    [
        ({"pair_id": "p", "question": "q", "response_A": "a", "response_B": "b", "label": "A=B", "source": "s"},
         r"field 'label': unknown label 'A=B' \(expected 'A>B' or 'B>A'\)"),
        ({"context": "q", "response1": "a", "response2": "", "overall_preference": 1},
         r"field 'response2': empty response"),
        ({"context": "q", "response1": "a", "response2": "b", "overall_preference": "1"},
         r"field 'overall_preference': expected an integer, got str"),
        ({"prompt": "q", "chosen": "a", "rejected": ""}, r"field 'rejected': empty response"),
        ({"instruction": "no prompt blocks here", "input": "", "output": "<answer>A</answer>"},
         r"field 'instruction': no '\[User Question\]'"),
        ({"instruction": "[User Question]\nq\n\n[The Start of Assistant A's Response]\na\n[The End of Assistant A's "
                         "Response]\n\n[The Start of Assistant B's Response]\nb\n[The End of Assistant B's Response]",
          "output": "<think>x</think><answer>C</answer>"}, r"field 'output': unknown label"),
        ({"foo": 1}, r"line 1: cannot tell the format from fields \['foo'\]"),
        ({"instruction": "q", "chosen": "a", "rejected": " "}, r"field 'rejected': empty response"),
        ({"instruction": "", "input": "", "chosen": "a", "rejected": "b"}, r"field 'instruction': empty text"),
        ({"instruction": "q", "chosen": "a", "rejected": "b", "history": [["only the query"]]},
         r"field 'history\[0\]': expected a \[query, response\] pair of strings"),
        ({"conversations": [{"from": "human", "value": "q"}, {"from": "bot", "value": "x"}],
          "chosen": {"from": "gpt", "value": "a"}, "rejected": {"from": "gpt", "value": "b"}},
         r"field 'conversations\[1\]\.from': unknown speaker 'bot'"),
        ({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "x"}],
          "chosen": {"from": "gpt", "value": "a"}, "rejected": {"from": "gpt", "value": "b"}},
         r"field 'conversations\[1\]\.from': the last turn must be 'human' or 'observation'"),
        ({"conversations": [{"from": "human", "value": "q"}], "chosen": {"from": "gpt", "value": "a"},
          "rejected": "b"}, r"field 'rejected': expected a \{from, value\} object, got str"),
        ({"conversations": [{"from": "human", "value": "q"}], "chosen": {"from": "gpt", "value": ""},
          "rejected": {"from": "gpt", "value": "b"}}, r"field 'chosen\.value': empty response"),
        ({"chosen_messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
          "rejected_messages": [{"role": "user", "content": "other q"}, {"role": "assistant", "content": "b"}]},
         r"field 'rejected_messages': the conversation before the last assistant turn differs"),
        ({"chosen_messages": [{"role": "user", "content": "q"}], "rejected_messages": [{"role": "user", "content": "q"}]},
         r"field 'chosen_messages\[0\]\.role': the last message must be the assistant's response, got 'user'"),
        ({"chosen_messages": [{"role": "assistant", "content": "a"}], "rejected_messages": [{"role": "assistant", "content": "b"}]},
         r"field 'chosen_messages': no conversation before the assistant's response"),
    ],
)
def test_other_formats_name_the_field(tmp_path: Path, record: dict, pattern: str) -> None:
    with pytest.raises(DataError, match=r"in\.jsonl, line 1: " + pattern.removeprefix("line 1: ")):
        load_pairs(_lines(tmp_path / "in.jsonl", json.dumps(record)))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.jsonl: file not found"):
        load_pairs(tmp_path / "nope.jsonl")


def test_non_strict_skips_and_reports(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _lines(
        tmp_path / "mixed.jsonl",
        _row(id="1"), "{oops", _row(id="2", label="C"), b'{"id": "\xff"}', _row(id="3"),
        _row(id="4", response_a=""), _row(id="5", label="B"), _row(id="6", label="maybe"),
    )
    with caplog.at_level(logging.WARNING, logger="gram_rr.data.readers"):
        pairs = load_pairs(path, strict=False)
    assert [p.id for p in pairs] == ["1", "3", "5"]
    stats = pairs.stats
    assert (stats.read, stats.loaded, stats.skipped) == (8, 3, 5)
    assert stats.reasons["field 'response_a': empty response"] == 1
    assert sum(n for reason, n in stats.reasons.items() if "unknown label" in reason) == 2
    assert any(reason.startswith("invalid JSON") for reason in stats.reasons)
    assert any(reason.startswith("not valid UTF-8") for reason in stats.reasons)
    assert stats.errors[0].startswith(f"{path}, line 2: invalid JSON")
    assert "3 pairs loaded, 5 skipped" in caplog.text
    with pytest.raises(DataError, match="line 2: invalid JSON"):
        load_pairs(path)  # strict is the default


def test_deeply_nested_json_is_a_named_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    deep = '{"metadata": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = _lines(tmp_path / "deep.jsonl", _row(), deep, _row(id="h"))
    with pytest.raises(DataError, match=r"deep\.jsonl, line 2: invalid JSON: nested too deeply to parse"):
        load_pairs(path)
    with caplog.at_level(logging.WARNING, logger="gram_rr.data.readers"):
        pairs = load_pairs(path, strict=False)
    assert [p.id for p in pairs] == ["g", "h"] and pairs.stats.reasons == {"invalid JSON: nested too deeply to parse": 1}
    array = tmp_path / "deep.json"
    array.write_text("[" + deep + "]")
    with pytest.raises(DataError, match=r"deep\.json: invalid JSON: nested too deeply to parse"):
        load_pairs(array)


def test_lone_surrogates_are_caught_at_load(tmp_path: Path) -> None:
    lone = json.dumps({**GOOD, "id": "s", "conversation": [{"role": "user", "content": "x\ud800y"}]})
    assert "\\ud800" in lone
    paired = _row(id="emoji", question="\U0001F600?")  # json.dumps escapes it as a valid surrogate pair
    path = _lines(tmp_path / "sur.jsonl", _row(), lone, paired)
    with pytest.raises(DataError, match=r"sur\.jsonl, line 2: field 'conversation\[0\]\.content': lone surrogate") as info:
        load_pairs(path)
    assert info.value.line == 2
    pairs = load_pairs(path, strict=False)
    assert [p.id for p in pairs] == ["g", "emoji"] and pairs[1].question == "\U0001F600?"
    assert pairs.stats.skipped == 1 and all(p.question.encode("utf-8") for p in pairs)
    key = _lines(tmp_path / "key.jsonl", '{"id": "k", "\\udc80": 1}')
    with pytest.raises(DataError, match=r"line 1: field '\\udc80': lone surrogate"):
        load_pairs(key)
    array = tmp_path / "sur.json"
    array.write_text("[" + _row() + ",\n" + lone + "]")
    with pytest.raises(DataError, match=r"sur\.json, record 1: field 'conversation\[0\]\.content': lone surrogate"):
        load_pairs(array)


@pytest.mark.parametrize("content", ["", "\n \n", "[]"])
def test_empty_file_holds_no_pairs(tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match=r"empty\.jsonl: the file holds no pairs"):
        load_pairs(path)
    with caplog.at_level(logging.WARNING, logger="gram_rr.data.readers"):
        assert load_pairs(path, strict=False) == []
    assert "holds no pairs" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="gram_rr.data.readers"):
        assert load_pairs(path, allow_empty=True) == []
    assert caplog.text == ""


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = _lines(tmp_path / "dup.jsonl", _row(id="1"), _row(id="2"), _row(id="1", label="B"), _row(id="3"), _row(id="2"))
    with pytest.raises(DataError, match=r"dup\.jsonl, line 3: field 'id': duplicate id \('1' was first read at line 1\)") as info:
        load_pairs(path)
    assert (info.value.line, info.value.field) == (3, "id")
    pairs = load_pairs(path, strict=False)
    assert [(p.id, p.label) for p in pairs] == [("1", "A"), ("2", "A"), ("3", "A")]  # the first of each id is kept
    assert (pairs.stats.read, pairs.stats.skipped) == (5, 2)
    assert pairs.stats.reasons == {"field 'id': duplicate id": 2}
    assert pairs.stats.errors[1].endswith("line 5: field 'id': duplicate id ('2' was first read at line 2)")
    array = tmp_path / "dup.json"  # ids as the format reads them (JudgeBench: pair_id), records named by index
    judgebench = {"pair_id": 7, "question": "q", "response_A": "a", "response_B": "b", "label": "A>B", "source": "s"}
    array.write_text(json.dumps([judgebench] * 2))
    with pytest.raises(DataError, match=r"dup\.json, record 1: field 'id': duplicate id \('7' was first read at record 0\)"):
        load_pairs(array)
